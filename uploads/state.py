"""The one place that moves a stage's state. Every move is a conditional UPDATE, so a duplicate
delivery of a task cannot claim a stage that is already running or finished."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from .models import Stage, StageStatus, UploadedFile

CLAIMABLE = (StageStatus.PENDING, StageStatus.QUEUED)
OPEN = (StageStatus.PENDING, StageStatus.QUEUED, StageStatus.RUNNING)


def _move(upload_id: int, stage: str, *, allowed: tuple[str, ...], **changes: Any) -> bool:
    updates = {f"{stage}_{key}": value for key, value in changes.items()}
    rows = UploadedFile.objects.filter(pk=upload_id, **{f"{stage}_status__in": allowed}).update(**updates)
    return rows == 1


def stage_queue(upload_id: int, stage: str, *, task_id: str) -> bool:
    return _move(
        upload_id, stage, allowed=(StageStatus.PENDING, StageStatus.QUEUED, StageStatus.RUNNING),
        status=StageStatus.QUEUED, task_id=task_id, error="", started_at=None, finished_at=None,
    )  # fmt: skip


def stage_claim(upload_id: int, stage: str) -> bool:
    """queued -> running. False when another delivery runs it or it already ended."""
    return _move(upload_id, stage, allowed=CLAIMABLE, status=StageStatus.RUNNING, started_at=timezone.now())


def stage_retry(upload_id: int, stage: str, *, reason: str) -> bool:
    """running -> queued, keeping why, so the retried delivery can claim it again."""
    return _move(
        upload_id, stage, allowed=(StageStatus.RUNNING,), status=StageStatus.QUEUED, error=f"retrying: {reason}"
    )


def stage_finish(upload_id: int, stage: str, *, status: str, error: str = "") -> bool:
    return _move(upload_id, stage, allowed=OPEN, status=status, error=error, finished_at=timezone.now())


def stages_skip_after(upload_id: int, stage: str, *, reason: str) -> None:
    """The stages after `stage` will not run: say so instead of leaving them queued forever."""
    later = Stage.values[Stage.values.index(stage) + 1 :]
    for name in later:
        stage_finish(upload_id, name, status=StageStatus.SKIPPED, error=reason)
