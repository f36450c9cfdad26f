"""The one place that moves a stage's state. Every move is a conditional UPDATE, so a duplicate
delivery of a task cannot claim a stage that is already running or finished.

A claim records its owner ("host:pid") and a heartbeat. Celery on Redis redelivers a task whose
worker process died (acks_late + reject_on_worker_lost); that delivery may take the stage over only
when the owner is provably gone: its process no longer exists on this host, or its heartbeat is
older than PIPELINE_STALE_SECONDS (another host). A live owner keeps it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from uploads.models import Stage, StageStatus, UploadedFile

CLAIMABLE = (StageStatus.PENDING, StageStatus.QUEUED)
OPEN = (StageStatus.PENDING, StageStatus.QUEUED, StageStatus.RUNNING)


def owner_token() -> str:
    """host:pid:thread of the code that runs a stage (threads and gevent pools run several per process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _move(
    upload_id: int, stage: str, *, allowed: tuple[str, ...], where: dict[str, Any] | None = None, **changes: Any
) -> bool:
    updates = {f"{stage}_{key}": value for key, value in changes.items()}
    conditions = {f"{stage}_status__in": allowed, **{f"{stage}_{k}": v for k, v in (where or {}).items()}}
    return UploadedFile.objects.filter(pk=upload_id, **conditions).update(**updates) == 1


def _queued(stage: str, task_id: str, *, reset_attempts: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "status": StageStatus.QUEUED, "task_id": task_id, "error": "", "started_at": None, "finished_at": None,
        "progress": 0.0, "heartbeat_at": None, "claimed_by": "",
    }  # fmt: skip
    if reset_attempts:
        changes["attempts"] = 0
    return {f"{stage}_{key}": value for key, value in changes.items()}


def stage_queue(upload_id: int, stage: str, *, task_id: str, reset_attempts: bool = True) -> bool:
    """Any state -> queued under a new task id."""
    return stages_queue(upload_id, {stage: task_id}, keep_attempts_of=None if reset_attempts else stage)


def stages_queue(upload_id: int, task_ids: dict[str, str], *, keep_attempts_of: str | None = None) -> bool:
    """Several stages -> queued under new task ids, and the cancel flag cleared, in one UPDATE (a new
    upload, a reprocess, a recovery). `keep_attempts_of` keeps that stage's attempt count (the
    watchdog's bound)."""
    changes: dict[str, Any] = {"cancel_requested_at": None}
    for stage, task_id in task_ids.items():
        changes.update(_queued(stage, task_id, reset_attempts=stage != keep_attempts_of))
    return UploadedFile.objects.filter(pk=upload_id).update(**changes) == 1


def stage_cancel(upload_id: int, stage: str) -> bool:
    return _move(
        upload_id, stage, allowed=OPEN, status=StageStatus.CANCELLED, error="cancelled", finished_at=timezone.now()
    )


def _owner_gone(owner: str, heartbeat_at: Any) -> bool:
    stale_before = timezone.now() - timedelta(seconds=settings.PIPELINE_STALE_SECONDS)
    if heartbeat_at is None or heartbeat_at < stale_before:
        return True
    host, _, rest = owner.partition(":")
    pid_text, _, thread_text = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        # Our own process: the owner is gone unless its thread still runs here.
        return not thread_text.isdigit() or int(thread_text) not in {t.ident for t in threading.enumerate()}
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def stage_claim(upload_id: int, stage: str) -> bool:
    """queued -> running, or take over a running claim whose owner is gone. False otherwise."""
    now, owner = timezone.now(), owner_token()
    claimed = UploadedFile.objects.filter(
        pk=upload_id, cancel_requested_at__isnull=True, **{f"{stage}_status__in": CLAIMABLE}
    ).update(**_claim_changes(stage, now, owner))
    if claimed:
        return True
    row = (
        UploadedFile.objects.filter(pk=upload_id, cancel_requested_at__isnull=True)
        .values(f"{stage}_status", f"{stage}_claimed_by", f"{stage}_heartbeat_at")
        .first()
    )
    if row is None or row[f"{stage}_status"] != StageStatus.RUNNING:
        return False
    old_owner, old_beat = row[f"{stage}_claimed_by"], row[f"{stage}_heartbeat_at"]
    if not _owner_gone(old_owner, old_beat):
        return False
    # Compare-and-swap on the old owner and heartbeat: of two redeliveries, one wins.
    return _move(
        upload_id, stage, allowed=(StageStatus.RUNNING,), where={"claimed_by": old_owner, "heartbeat_at": old_beat},
        **{k.removeprefix(f"{stage}_"): v for k, v in _claim_changes(stage, now, owner).items()},
    )  # fmt: skip


def _claim_changes(stage: str, now: Any, owner: str) -> dict[str, Any]:
    return {
        f"{stage}_status": StageStatus.RUNNING,
        f"{stage}_started_at": now,
        f"{stage}_heartbeat_at": now,
        f"{stage}_claimed_by": owner,
        f"{stage}_attempts": F(f"{stage}_attempts") + 1,
    }


def stage_heartbeat(upload_id: int, stage: str, *, owner: str) -> bool:
    return _move(
        upload_id, stage, allowed=(StageStatus.RUNNING,), where={"claimed_by": owner}, heartbeat_at=timezone.now()
    )


def stage_retry(upload_id: int, stage: str, *, reason: str) -> bool:
    """running -> queued, keeping why, so the retried delivery can claim it again."""
    return _move(
        upload_id, stage, allowed=(StageStatus.RUNNING,), status=StageStatus.QUEUED, error=f"retrying: {reason}"
    )


def stage_finish(upload_id: int, stage: str, *, status: str, error: str = "") -> bool:
    changes: dict[str, Any] = {"progress": 100.0} if status == StageStatus.SUCCEEDED else {}
    return _move(upload_id, stage, allowed=OPEN, status=status, error=error, finished_at=timezone.now(), **changes)


def stage_detail(upload_id: int, stage: str, detail: str) -> None:
    """Keep what an operator needs about a stage's failure (admin shows it; the pages never do)."""
    with transaction.atomic():
        row = UploadedFile.objects.select_for_update().filter(pk=upload_id).values_list("stage_details", flat=True)
        details = dict(next(iter(row), None) or {})
        details[stage] = detail[-4000:]
        UploadedFile.objects.filter(pk=upload_id).update(stage_details=details)


def stages_skip_after(upload_id: int, stage: str, *, reason: str) -> None:
    """The stages after `stage` will not run: say so instead of leaving them queued forever."""
    later = Stage.values[Stage.values.index(stage) + 1 :]
    for name in later:
        stage_finish(upload_id, name, status=StageStatus.SKIPPED, error=reason)


def stage_progress(upload_id: int, stage: str, *, percent: float) -> bool:
    now = timezone.now()
    percent = round(min(max(percent, 0.0), 100.0), 1)
    return _move(upload_id, stage, allowed=(StageStatus.RUNNING,), progress=percent, heartbeat_at=now)


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
