"""Arranging a stage's state in tests. Code moves state only through processing.state; a test that
needs an upload "as if" a stage had run sets its StageRun row here."""

from __future__ import annotations

from typing import Any

from processing.models import StageRun
from uploads.models import UploadedFile


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
