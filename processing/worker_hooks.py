"""What a worker does when it starts: refuse a configuration that cannot work, and run the
watchdog once, so stages orphaned by the previous worker are recovered without waiting for Beat.
Before each task, the database connection is checked as Django checks it between requests."""

from __future__ import annotations

import logging
from typing import Any

from celery import signals
from django.db import close_old_connections

from .tasks import recover_stuck_async
from .transcription.common import TranscriptionConfigError
from .transcription.configuration import check_configuration

logger = logging.getLogger(__name__)


@signals.worker_init.connect
def _check_configuration(**_: Any) -> None:
    try:
        check_configuration()
    except TranscriptionConfigError as exc:
        logger.critical("Worker refuses to start: %s", exc)
        # SystemExit passes through Celery's signal dispatch (which swallows Exception).
        raise SystemExit(f"configuration error: {exc}") from exc


@signals.worker_ready.connect
def _recover_on_start(sender: Any = None, **_: Any) -> None:
    try:
        recover_stuck_async.apply_async()
    except Exception:
        logger.exception("could not queue the start-up watchdog run")


@signals.task_prerun.connect
def _database_connection_check(sender: Any = None, **_: Any) -> None:
    """With CELERY_DB_REUSE_MAX set, Celery keeps a worker's connection between tasks; this closes one
    that is past CONN_MAX_AGE or failed (a restarted database), so the task opens a fresh one. Eager
    runs (tests, `process_file --sync`) share their caller's connection and transaction: not touched."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()
