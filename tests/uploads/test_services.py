"""upload_create: validation of bad input, what is saved, and that the chain starts only after commit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from uploads.models import MediaKind, StageStatus, UploadedFile
from uploads.services import upload_create

pytestmark = pytest.mark.django_db


def _create(path: Path, name: str | None = None) -> UploadedFile:
    with path.open("rb") as fh:
        return upload_create(file=File(fh, name=path.name), original_name=name or path.name)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"empty \(0 bytes\)"),
        (b"just some notes, not media\n" * 40, "Not an audio or video file"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, "Not an audio or video file"),
    ],
    ids=["zero-byte", "text-named-mp4", "truncated-header"],
)
def test_bad_input_is_refused_and_nothing_is_saved_or_queued(
    content: bytes, message: str, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError, match=message):  # type: ignore[attr-defined]
        upload_create(file=ContentFile(content, name="clip.mp4"), original_name="clip.mp4")
    assert callbacks == []
    assert UploadedFile.objects.count() == 0


@override_settings(UPLOAD_MAX_BYTES=1000)
def test_oversize_file_is_refused_with_the_limit_named(speech_audio: Path) -> None:
    with pytest.raises(ValidationError, match=r"limit is 0\.0 MB \(UPLOAD_MAX_BYTES\)"):
        _create(speech_audio)
    assert UploadedFile.objects.count() == 0


def test_video_is_saved_with_its_probe_and_queued_after_commit(
    speech_video: Path, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # type: ignore[attr-defined]
        upload = _create(speech_video, name="../weekly meeting ü.mp4")

    assert len(callbacks) == 1  # the chain is sent by the on_commit hook, never before
    assert upload.media_kind == MediaKind.VIDEO
    assert (upload.width, upload.height, upload.has_audio) == (640, 360, True)
    assert upload.size == speech_video.stat().st_size
    # The stored name is generated; the user's name is kept for display only.
    assert upload.original_name == "weekly meeting ü.mp4"
    stored = str(upload.file.name)
    assert stored.startswith("uploads/")
    assert ".." not in stored
    assert default_storage.exists(stored)
    for stage in ("transcription", "analysis", "hls"):
        assert upload.stage_status(stage) == StageStatus.QUEUED
        assert len(upload.stage(stage).task_id) == 36
    assert (
        len({upload.stage("transcription").task_id, upload.stage("analysis").task_id, upload.stage("hls").task_id}) == 3
    )


def test_audio_is_decided_by_ffprobe_not_the_extension(speech_audio: Path, tmp_path: Path) -> None:
    misnamed = tmp_path / "talk.mp4"
    misnamed.write_bytes(speech_audio.read_bytes())
    upload = _create(misnamed)
    assert upload.media_kind == MediaKind.AUDIO
    assert upload.stage("hls").status == StageStatus.SKIPPED
    assert upload.stage("hls").task_id == ""
