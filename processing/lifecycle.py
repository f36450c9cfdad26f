"""Lifecycle records: every attempt of every pipeline task — queued, started, retried, succeeded,
skipped, failed, revoked — with worker hostname and duration (seed 000's task records).

Hooked to Celery's signals, so the tasks themselves stay thin. A record that cannot be written
is logged and dropped: bookkeeping must never fail the work it describes.

Inside a worker's task, the records that are always followed by another write of the same task are
held and written with it, in one statement: `started` goes with the stage's claim (or the task's
outcome), and `queued` for the chain's next stage goes with this task's outcome. Each record keeps
the time its event happened.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import signals
from django.utils import timezone

from uploads.models import Stage
from uploads.state import relaxed_durability

from .models import TaskAttempt, TaskEvent

logger = logging.getLogger(__name__)

STAGE_OF_TASK = {
    "processing.tasks.transcribe_and_save_async": Stage.TRANSCRIPTION,
    "processing.tasks.generate_ai_analysis_async": Stage.ANALYSIS,
    "processing.tasks.generate_hls_async": Stage.HLS,
}
OUTCOME_EVENTS = {
    "succeeded": TaskEvent.SUCCEEDED,
    "skipped": TaskEvent.SKIPPED,
    "missing": TaskEvent.IGNORED,
    "not-claimed": TaskEvent.IGNORED,
    "cancelled": TaskEvent.REVOKED,
    "superseded": TaskEvent.IGNORED,
}
_started: dict[str, float] = {}  # task id -> monotonic start, in the process that runs it
_held: list[TaskAttempt] = []  # records waiting for the running task's next write, in this process
_held_lock = threading.Lock()  # thread pools run several tasks in one process
_running: set[str] = set()  # ids of our tasks running in this process (publishes they make are held)


def record(
    *, task_id: str, task_name: str, event: str, args: Any = (), retries: int = 0, hostname: str = "",
    duration: float | None = None, message: str = "", hold: bool = False,
) -> None:  # fmt: skip
    """Write one lifecycle record, with any held ones; `hold` keeps it for the next write instead."""
    upload_id = args[0] if args and isinstance(args[0], int) else None
    row = TaskAttempt(
        upload_id=upload_id, task_id=task_id, task_name=task_name, stage=STAGE_OF_TASK.get(task_name, ""),
        event=event, retries=retries, hostname=hostname or "", duration=duration, message=message[:2000],
        created_at=timezone.now(),
    )  # fmt: skip
    with _held_lock:
        _held.append(row)
    if not hold:
        flush()


def flush() -> None:
    """Write the held records now (joining the caller's transaction, if any)."""
    with _held_lock:
        if not _held:
            return
        rows = _held[:]
        _held.clear()
    try:
        with relaxed_durability():  # bookkeeping on the hot path: see uploads.state
            TaskAttempt.objects.bulk_create(rows)
    except Exception:
        logger.exception("could not record %s", ", ".join(f"{r.event} of {r.task_name}[{r.task_id}]" for r in rows))


def _ours(name: str | None) -> bool:
    return name in STAGE_OF_TASK


@signals.after_task_publish.connect
def _on_publish(sender: str | None = None, headers: dict[str, Any] | None = None, body: Any = None, **_: Any) -> None:
    if not _ours(sender) or headers is None:
        return
    args = body[0] if isinstance(body, (list, tuple)) and body else ()
    event = TaskEvent.RETRIED if headers.get("retries") else TaskEvent.QUEUED
    if event == TaskEvent.RETRIED:
        return  # the retry itself is recorded by task_retry, with its reason
    # Published by one of our running tasks (a chain's next stage): written with that task's outcome.
    record(task_id=headers["id"], task_name=str(sender), event=event, args=args, hold=bool(_running))


@signals.task_prerun.connect
def _on_prerun(task_id: str = "", task: Any = None, args: Any = (), **_: Any) -> None:
    if task is None or not _ours(task.name):
        return
    _started[task_id] = time.monotonic()
    request = task.request
    if not request.is_eager:
        _running.add(task_id)
    record(
        task_id=task_id, task_name=task.name, event=TaskEvent.STARTED, args=args,
        retries=request.retries or 0, hostname=request.hostname or "", hold=not request.is_eager,
    )  # fmt: skip


def _elapsed(task_id: str) -> float | None:
    _running.discard(task_id)
    start = _started.pop(task_id, None)
    return None if start is None else round(time.monotonic() - start, 3)


@signals.task_postrun.connect
def _on_postrun(
    task_id: str = "", task: Any = None, args: Any = (), retval: Any = None, state: str = "", **_: Any
) -> None:
    if task is None or not _ours(task.name):
        return
    if state != "SUCCESS":  # recorded by task_failure / task_retry, which wrote what was held
        _running.discard(task_id)
        flush()
        return
    outcome = retval.get("outcome", "succeeded") if isinstance(retval, dict) else "succeeded"
    record(
        task_id=task_id, task_name=task.name, event=OUTCOME_EVENTS.get(outcome, TaskEvent.SUCCEEDED), args=args,
        retries=task.request.retries or 0, hostname=task.request.hostname or "", duration=_elapsed(task_id),
        message="" if outcome == "succeeded" else outcome,
    )  # fmt: skip


@signals.task_retry.connect
def _on_retry(sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
    if sender is None or not _ours(sender.name) or request is None:
        return
    record(
        task_id=request.id, task_name=sender.name, event=TaskEvent.RETRIED, args=request.args,
        retries=request.retries or 0, hostname=request.hostname or "", duration=_elapsed(request.id),
        message=str(reason),
    )  # fmt: skip


@signals.task_failure.connect
def _on_failure(sender: Any = None, task_id: str = "", exception: Any = None, args: Any = (), **_: Any) -> None:
    if sender is None or not _ours(sender.name):
        return
    record(
        task_id=task_id, task_name=sender.name, event=TaskEvent.FAILED, args=args,
        retries=sender.request.retries or 0, hostname=sender.request.hostname or "", duration=_elapsed(task_id),
        message=f"{type(exception).__name__}: {exception}",
    )  # fmt: skip


@signals.task_revoked.connect
def _on_revoked(
    sender: Any = None, request: Any = None, terminated: bool = False, signum: Any = None, **_: Any
) -> None:
    name = getattr(sender, "name", None) or getattr(request, "task", None)
    if not _ours(name) or request is None:
        return
    how = f"terminated with signal {signum}" if terminated else "revoked before it ran"
    record(
        task_id=request.id, task_name=str(name), event=TaskEvent.REVOKED, args=request.args,
        hostname=getattr(request, "hostname", "") or "", message=how,
    )  # fmt: skip
