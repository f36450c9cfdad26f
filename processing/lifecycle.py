"""Lifecycle records: every attempt of every pipeline task — queued, started, retried, succeeded,
skipped, failed, revoked — with worker hostname and duration (seed 000's task records).

Hooked to Celery's signals, so the tasks themselves stay thin. A record that cannot be written
is logged and dropped: bookkeeping must never fail the work it describes.

In a prefork pool process, records are not written on the task's path: they are queued in the
process and one thread writes them in batches a moment later (WriteBehind). Each record keeps the
time its event happened. A process that is killed loses what it had not yet written (at most
LIFECYCLE_FLUSH_SECONDS of bookkeeping); one that stops normally writes everything first. Elsewhere
(web, eager runs, commands, the worker's main process) a record is written at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from celery import signals
from django.db import connection, transaction
from django.utils import timezone

from .models import TaskAttempt, TaskEvent
from .registry import by_task

logger = logging.getLogger(__name__)


def stage_of_task(task_name: str) -> str:
    stage = by_task(task_name)
    return stage.key if stage else ""


OUTCOME_EVENTS = {
    "succeeded": TaskEvent.SUCCEEDED,
    "skipped": TaskEvent.SKIPPED,
    "missing": TaskEvent.IGNORED,
    "not-claimed": TaskEvent.IGNORED,
    "cancelled": TaskEvent.REVOKED,
    "superseded": TaskEvent.IGNORED,
}
LIFECYCLE_FLUSH_SECONDS = 0.05
_started: dict[str, float] = {}  # task id -> monotonic start, in the process that runs it
_publishing: dict[str, datetime] = {}  # task id -> when its message was about to be sent


class WriteBehind:
    """Queues records in a worker process; one thread writes each batch in one statement."""

    def __init__(self, flush_seconds: float = LIFECYCLE_FLUSH_SECONDS) -> None:
        self.flush_seconds = flush_seconds
        self.enabled = False  # set in prefork pool processes
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a child starts with no rows, lock or thread

    def _reset(self) -> None:
        self._rows: list[TaskAttempt] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, row: TaskAttempt) -> None:
        with self._lock:
            self._rows.append(row)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="lifecycle-records", daemon=True)
                self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.flush_seconds)  # gather what the next moments add
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            _write(rows)


WRITE_BEHIND = WriteBehind()


@contextmanager
def relaxed_durability() -> Iterator[None]:
    """A transaction whose commit does not wait for PostgreSQL's WAL flush: lifecycle records are
    bookkeeping, safe to lose in a database crash. (Stage moves, claims included, stay single durable
    UPDATEs in processing.state: one round trip is cheaper than the three this needs, unless fsync is
    slow.) Inside a transaction it joins that one, with no savepoint, and leaves its durability as it
    is (an enclosing durable transaction stays durable)."""
    opens = not connection.in_atomic_block
    with transaction.atomic(savepoint=False):
        if opens and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _write(rows: list[TaskAttempt]) -> None:
    try:
        with relaxed_durability():  # bookkeeping
            TaskAttempt.objects.bulk_create(rows)
    except Exception:
        logger.exception("could not record %s", ", ".join(f"{r.event} of {r.task_name}[{r.task_id}]" for r in rows))
        if threading.current_thread() is not threading.main_thread():
            connection.close()  # the writer thread reconnects for its next batch


def record(
    *, task_id: str, task_name: str, event: str, args: Any = (), retries: int = 0, hostname: str = "",
    duration: float | None = None, message: str = "", at: datetime | None = None,
) -> None:  # fmt: skip
    upload_id = args[0] if args and isinstance(args[0], int) else None
    row = TaskAttempt(
        upload_id=upload_id, task_id=task_id, task_name=task_name, stage=stage_of_task(task_name),
        event=event, retries=retries, hostname=hostname or "", duration=duration, message=message[:2000],
        created_at=at or timezone.now(),
    )  # fmt: skip
    if WRITE_BEHIND.enabled:
        WRITE_BEHIND.add(row)
    else:
        _write([row])


@signals.worker_process_init.connect
def _write_behind_in_pool_processes(**_: Any) -> None:
    # Prefork pool children only, where the tasks run. The main process (which records revokes) forks
    # those children and keeps writing at once: no thread of ours is alive in a process that forks.
    WRITE_BEHIND.enabled = True


@signals.worker_process_shutdown.connect
@signals.worker_shutdown.connect
def _write_what_is_queued(**_: Any) -> None:
    WRITE_BEHIND.flush()


def _ours(name: str | None) -> bool:
    return name is not None and by_task(name) is not None


@signals.before_task_publish.connect
def _before_publish(sender: str | None = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    # The queued time is taken before the message leaves: a worker may start the task before
    # after_task_publish runs here, and `started` must not come before `queued`.
    if _ours(sender) and headers is not None:
        _publishing[headers["id"]] = timezone.now()


@signals.after_task_publish.connect
def _on_publish(sender: str | None = None, headers: dict[str, Any] | None = None, body: Any = None, **_: Any) -> None:
    if not _ours(sender) or headers is None:
        return
    at = _publishing.pop(headers["id"], None)
    if headers.get("retries"):
        return  # the retry itself is recorded by task_retry, with its reason
    args = body[0] if isinstance(body, (list, tuple)) and body else ()
    record(task_id=headers["id"], task_name=str(sender), event=TaskEvent.QUEUED, args=args, at=at)


@signals.task_prerun.connect
def _on_prerun(task_id: str = "", task: Any = None, args: Any = (), **_: Any) -> None:
    if task is None or not _ours(task.name):
        return
    _started[task_id] = time.monotonic()
    request = task.request
    record(
        task_id=task_id, task_name=task.name, event=TaskEvent.STARTED, args=args,
        retries=request.retries or 0, hostname=request.hostname or "",
    )  # fmt: skip


def _elapsed(task_id: str) -> float | None:
    start = _started.pop(task_id, None)
    return None if start is None else round(time.monotonic() - start, 3)


@signals.task_postrun.connect
def _on_postrun(
    task_id: str = "", task: Any = None, args: Any = (), retval: Any = None, state: str = "", **_: Any
) -> None:
    if task is None or not _ours(task.name) or state != "SUCCESS":
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
