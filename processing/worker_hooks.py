"""What a worker does when it starts: refuse a configuration that cannot work, and run the
watchdog once, so stages orphaned by the previous worker are recovered without waiting for Beat."""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

logger = logging.getLogger(__name__)


@signals.worker_init.connect
def _check_configuration(**_: Any) -> None:
    from .transcription.configuration import check_configuration
    from .transcription.engine import TranscriptionConfigError

    try:
        check_configuration()
    except TranscriptionConfigError as exc:
        logger.critical("Worker refuses to start: %s", exc)
        # SystemExit passes through Celery's signal dispatch (which swallows Exception).
        raise SystemExit(f"configuration error: {exc}") from exc


@signals.worker_ready.connect
def _recover_on_start(sender: Any = None, **_: Any) -> None:
    from .tasks import recover_stuck_async

    try:
        recover_stuck_async.apply_async()
    except Exception:
        logger.exception("could not queue the start-up watchdog run")
