"""The HLS stage over Django storage: forced NVENC falls back per job; a re-run replaces the set."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django.test import override_settings

from processing.media.encoders import run_nvenc_trial
from processing.media.hls import LIBX264, NVENC
from processing.media.probe import probe_file
from processing.services import hls_run
from uploads.models import MediaKind, UploadedFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def video_upload(tmp_path: Path) -> UploadedFile:
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine",
         "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(clip)],
        check=True,
    )  # fmt: skip
    info = probe_file(str(clip))
    with clip.open("rb") as fh:
        name = default_storage.save("uploads/test-clip.mp4", File(fh))
    return UploadedFile.objects.create(
        file=name, original_name="clip.mp4", size=clip.stat().st_size, media_kind=MediaKind.VIDEO,
        duration=info.duration, width=info.width, height=info.height, has_audio=True,
    )  # fmt: skip


@override_settings(HLS_ENCODER="nvenc", HLS_LADDER=["240:300:64"])
def test_forced_nvenc_without_a_gpu_falls_back_to_libx264_with_the_reason(video_upload: UploadedFile) -> None:
    result = hls_run(video_upload)
    video_upload.refresh_from_db()
    if run_nvenc_trial().available:  # on a machine whose GPU has NVENC, NVENC must really be used
        assert video_upload.hls_encoder == NVENC
        assert video_upload.hls_fallback_reason == ""
        return
    assert result["encoder"] == LIBX264
    assert video_upload.hls_encoder == LIBX264
    assert video_upload.hls_fallback_reason.startswith("NVENC failed: ")
    reasons = ("libcuda", "CUDA", "No capable devices", "unsupported device", "nvenc", "Nvenc")
    assert any(reason in video_upload.hls_fallback_reason for reason in reasons)
    assert default_storage.exists(video_upload.hls_master)


@override_settings(HLS_ENCODER="libx264", HLS_LADDER=["240:300:64"])
def test_a_rerun_replaces_the_published_set_whole(video_upload: UploadedFile) -> None:
    hls_run(video_upload)
    video_upload.refresh_from_db()
    first_master, first_poster = video_upload.hls_master, video_upload.hls_poster
    first_dir = first_master.rsplit("/", 1)[0]
    assert default_storage.exists(first_master)
    assert default_storage.exists(first_poster)

    hls_run(video_upload)
    video_upload.refresh_from_db()

    assert video_upload.hls_master != first_master
    assert default_storage.exists(video_upload.hls_master)
    assert not default_storage.exists(first_master)
    assert not default_storage.exists(first_poster)
    assert not default_storage.exists(f"{first_dir}/240p/index.m3u8")
    parent, first_name = first_dir.rsplit("/", 1)
    assert first_name not in default_storage.listdir(parent)[0]  # no empty folder left behind
