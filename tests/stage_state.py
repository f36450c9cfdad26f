"""Arranging a stage's state in tests. Code moves state only through processing.state; a test that
needs an upload "as if" a stage had run sets its StageRun row here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files import File

from processing.media.dialogue import SpokenTurn
from processing.models import StageRun
from uploads.models import StageStatus, UploadedFile
from uploads.services import upload_create


def set_stage(upload: UploadedFile | int, stage: str, **fields: Any) -> None:
    """Give the upload's run of `stage` these field values (status, progress, error, task_id, ...)."""
    upload_id = upload if isinstance(upload, int) else upload.pk
    updated = StageRun.objects.filter(upload_id=upload_id, stage=stage).update(**fields)
    assert updated == 1, f"upload {upload_id} has no run of stage {stage!r}"


def make_upload(*, stages: dict[str, dict[str, Any]] | None = None, **fields: Any) -> UploadedFile:
    """UploadedFile.objects.create(**fields), then each stage's run set as `stages` says, e.g.
    make_upload(original_name="a.mp4", ..., stages={"hls": {"status": "failed", "error": "..."}})."""
    upload = UploadedFile.objects.create(**fields)
    for stage, changes in (stages or {}).items():
        set_stage(upload, stage, **changes)
    return UploadedFile.objects.get(pk=upload.pk)


def transcribed_upload(path: Path, spoken: list[SpokenTurn], capture: Any) -> UploadedFile:
    """An upload of `path` whose transcription has succeeded with one segment per spoken turn (the
    speakers stage reads the audio itself; the segments are what it labels)."""
    with capture(execute=False), path.open("rb") as fh:
        upload = upload_create(file=File(fh, name=path.name), original_name=path.name)
    segments = [{"start": t.start, "end": t.end, "text": t.text} for t in spoken]
    UploadedFile.objects.filter(pk=upload.pk).update(transcript_segments=segments, transcript_text="x")
    set_stage(upload, "transcription", status=StageStatus.SUCCEEDED)
    return UploadedFile.objects.get(pk=upload.pk)
