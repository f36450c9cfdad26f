"""The one place that moves a stage's state. Every move is a conditional UPDATE, so a duplicate
delivery of a task cannot claim a stage that is already running or finished."""

from __future__ import annotations

import time
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
        status=StageStatus.QUEUED, task_id=task_id, error="", started_at=None, finished_at=None, progress=0.0,
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
    changes = {"progress": 100.0} if status == StageStatus.SUCCEEDED else {}
    return _move(upload_id, stage, allowed=OPEN, status=status, error=error, finished_at=timezone.now(), **changes)


def stage_progress(upload_id: int, stage: str, *, percent: float) -> bool:
    return _move(upload_id, stage, allowed=(StageStatus.RUNNING,), progress=round(min(max(percent, 0.0), 100.0), 1))


class ProgressRecorder:
    """Turns seconds processed into a stored percentage, written at most once per `interval`."""

    def __init__(self, upload_id: int, stage: str, *, total_seconds: float, interval: float = 1.0) -> None:
        self.upload_id, self.stage, self.total, self.interval = upload_id, stage, total_seconds, interval
        self._last_write = 0.0

    def __call__(self, seconds: float) -> None:
        now = time.monotonic()
        if self.total <= 0 or now - self._last_write < self.interval:
            return
        self._last_write = now
        # 99.9 at most: 100 is written only when the stage has really succeeded.
        stage_progress(self.upload_id, self.stage, percent=min(99.9, 100.0 * seconds / self.total))


def stages_skip_after(upload_id: int, stage: str, *, reason: str) -> None:
    """The stages after `stage` will not run: say so instead of leaving them queued forever."""
    later = Stage.values[Stage.values.index(stage) + 1 :]
    for name in later:
        stage_finish(upload_id, name, status=StageStatus.SKIPPED, error=reason)
