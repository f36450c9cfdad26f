"""The one place that moves a stage's state: the StageRun rows (processing.models), one per upload
and stage. Every move is a conditional UPDATE, so a duplicate delivery of a task cannot claim a
stage that is already running or finished.

A claim records its owner ("host:pid:thread") and a heartbeat. Celery on Redis redelivers a task whose
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
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from uploads.models import StageStatus, UploadedFile

from .models import StageRun
from .registry import STAGES

CLAIMABLE = (StageStatus.PENDING, StageStatus.QUEUED)
OPEN = (StageStatus.PENDING, StageStatus.QUEUED, StageStatus.RUNNING)


def owner_token() -> str:
    """host:pid:thread of the code that runs a stage (threads and gevent pools run several per process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def stage_runs_create(sender: Any, instance: UploadedFile, created: bool = False, raw: bool = False, **_: Any) -> None:
    """post_save of an upload: one pending run per registered stage, so every move below is an
    UPDATE of a row that exists (connected in ProcessingConfig.ready)."""
    if created and not raw:
        StageRun.objects.bulk_create([StageRun(upload=instance, stage=s.key) for s in STAGES], ignore_conflicts=True)


def _runs(upload_id: int, stage: str) -> QuerySet[StageRun]:
    return StageRun.objects.filter(upload_id=upload_id, stage=stage)


def _move(
    upload_id: int, stage: str, *, allowed: tuple[str, ...], where: dict[str, Any] | None = None, **changes: Any
) -> bool:
    return _runs(upload_id, stage).filter(status__in=allowed, **(where or {})).update(**changes) == 1


def stage_queue(upload_id: int, stage: str, *, task_id: str, reset_attempts: bool = True) -> bool:
    """Any state -> queued under a new task id."""
    return stages_queue(upload_id, {stage: task_id}, keep_attempts_of=None if reset_attempts else stage)


def stages_queue(
    upload_id: int, task_ids: dict[str, str], *, keep_attempts_of: str | None = None, clear_cancel: bool = True
) -> bool:
    """Several stages -> queued under new task ids in one UPDATE, and the cancel flag cleared (a
    reprocess, a recovery; a brand-new upload has none to clear). `keep_attempts_of` keeps that
    stage's attempt count (the watchdog's bound). A stage registered after the upload was made gets
    its row here."""
    if clear_cancel:
        UploadedFile.objects.filter(pk=upload_id, cancel_requested_at__isnull=False).update(cancel_requested_at=None)
    runs = StageRun.objects.filter(upload_id=upload_id, stage__in=list(task_ids))
    changes = {
        "status": StageStatus.QUEUED,
        "task_id": Case(*(When(stage=stage, then=Value(task_id)) for stage, task_id in task_ids.items())),
        "attempts": Case(When(stage=keep_attempts_of or "", then=F("attempts")), default=Value(0)),
        "error": "", "started_at": None, "finished_at": None, "progress": 0.0, "progress_note": "",
        "heartbeat_at": None, "owner": "",
    }  # fmt: skip
    updated = runs.update(**changes)
    if updated < len(task_ids) and UploadedFile.objects.filter(pk=upload_id).exists():
        StageRun.objects.bulk_create(
            [StageRun(upload_id=upload_id, stage=stage) for stage in task_ids], ignore_conflicts=True
        )
        updated = runs.update(**changes)
    return updated == len(task_ids)


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
    """queued -> running, or take over a running claim whose owner is gone. False otherwise, and for
    an upload whose cancel was requested."""
    if not stage_claim_row(upload_id, stage):
        return False
    upload = UploadedFile.objects.filter(pk=upload_id).first()
    return upload is not None and stage_claim_kept(upload, stage)


def stage_claim_kept(upload: UploadedFile, stage: str) -> bool:
    """Right after stage_claim_row, with the upload read after it: a claim made once a cancel was
    requested is given up (the run is marked cancelled), and False is returned.

    The cancel check is not in the claim's UPDATE: an EXISTS on the upload cost each claim about
    0.5 ms on PostgreSQL, and a join is wrong: Django writes it as "WHERE id IN (SELECT ...)", which
    PostgreSQL does not re-check after waiting for a concurrent claim's row lock, so two claims of
    one stage could both win. The stage runner reads the upload after claiming anyway."""
    if upload.cancel_requested_at is None:
        return True
    stage_cancel(upload.pk, stage)
    return False


def stage_claim_row(upload_id: int, stage: str) -> bool:
    """The claim itself: one conditional UPDATE, or the compare-and-swap takeover."""
    return _claim(upload_id, stage)


def _claim(upload_id: int, stage: str) -> bool:
    now, owner = timezone.now(), owner_token()
    runs = _runs(upload_id, stage)
    if runs.filter(status__in=CLAIMABLE).update(**_claim_changes(now, owner)):
        return True
    row = runs.values("status", "owner", "heartbeat_at").first()
    if row is None or row["status"] != StageStatus.RUNNING:
        return False
    if not _owner_gone(row["owner"], row["heartbeat_at"]):
        return False
    # Compare-and-swap on the old owner and heartbeat: of two redeliveries, one wins.
    old = {"owner": row["owner"], "heartbeat_at": row["heartbeat_at"]}
    return _move(upload_id, stage, allowed=(StageStatus.RUNNING,), where=old, **_claim_changes(now, owner))


def _claim_changes(now: Any, owner: str) -> dict[str, Any]:
    return {"status": StageStatus.RUNNING, "started_at": now, "heartbeat_at": now, "owner": owner,
            "progress_note": "", "attempts": F("attempts") + 1}  # fmt: skip


def stage_heartbeat(upload_id: int, stage: str, *, owner: str) -> bool:
    return _move(upload_id, stage, allowed=(StageStatus.RUNNING,), where={"owner": owner}, heartbeat_at=timezone.now())


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
    _runs(upload_id, stage).update(detail=detail[-4000:])


def stages_skip_after(upload_id: int, stage: str, *, reason: str) -> None:
    """The stages after `stage` will not run: say so instead of leaving them queued forever."""
    keys = [s.key for s in STAGES]
    for later in keys[keys.index(stage) + 1 :]:
        stage_finish(upload_id, later, status=StageStatus.SKIPPED, error=reason)


def stage_progress(upload_id: int, stage: str, *, percent: float, note: str | None = None) -> bool:
    now = timezone.now()
    percent = round(min(max(percent, 0.0), 100.0), 1)
    changes: dict[str, Any] = {} if note is None else {"progress_note": note[:120]}
    return _move(upload_id, stage, allowed=(StageStatus.RUNNING,), progress=percent, heartbeat_at=now, **changes)


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
