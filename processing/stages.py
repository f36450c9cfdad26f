"""What running a stage means: claim it, call its service, and turn the outcome into state.

Transient errors (database, broker, storage) retry with backoff and jitter up to the queue's
max_retries; everything else fails the stage at once with a message an operator can act on, and
the later stages are marked skipped. Nothing retries forever.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, NoReturn

import av
import redis
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from uploads.models import Stage, StageStatus, UploadedFile
from uploads.state import stage_claim, stage_finish, stage_retry, stages_skip_after

from .media.probe import InvalidMedia
from .media.runner import MediaToolError
from .services import NothingToDo
from .transcription.engine import TranscriptionConfigError

logger = logging.getLogger(__name__)

# The phrases the runbook greps for.
PHRASES = {
    Stage.TRANSCRIPTION: "Transcription",
    Stage.ANALYSIS: "AI analysis",
    Stage.HLS: "HLS generation",
}
DONE = {
    Stage.TRANSCRIPTION: "completed successfully",
    Stage.ANALYSIS: "completed successfully",
    Stage.HLS: "completed",
}
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    ConnectionError,
    TimeoutError,
)
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    InvalidMedia,
    MediaToolError,
    TranscriptionConfigError,
    av.error.FFmpegError,
)
RETRY_BACKOFF_BASE = 10  # seconds; doubled per attempt, capped by CELERY_RETRY_BACKOFF_MAX


class StageFailed(Exception):
    """Raised after a stage is marked failed, so Celery records FAILURE and the chain stops."""


def retry_countdown(retries: int) -> float:
    """Exponential backoff with full jitter."""
    cap = min(settings.CELERY_RETRY_BACKOFF_MAX, RETRY_BACKOFF_BASE * 2**retries)
    return random.uniform(cap / 2, cap)


def queue_options(queue: str) -> dict[str, Any]:
    """The task options from the queue's row of CELERY_QUEUE_TABLE (routing is CELERY_TASK_ROUTES)."""
    limits = settings.CELERY_QUEUE_TABLE[queue]
    return {
        "time_limit": limits["time_limit"],
        "soft_time_limit": limits["soft_time_limit"],
        "max_retries": limits["max_retries"],
    }


def _stop_chain(task: Task) -> None:
    task.request.chain = None


def run_stage(
    task: Task, stage: str, upload_id: int, service: Callable[[UploadedFile], dict[str, Any]]
) -> dict[str, Any]:
    phrase = PHRASES[Stage(stage)]
    upload = UploadedFile.objects.filter(pk=upload_id).first()
    if upload is None:
        logger.warning("uploaded_file_id: %s no longer exists; skipping", upload_id)
        _stop_chain(task)
        return {"uploaded_file_id": upload_id, "outcome": "missing"}
    if not stage_claim(upload_id, stage):
        logger.info("%s not started uploaded_file_id: %s: stage is %s", phrase, upload_id, upload.stage_status(stage))
        _stop_chain(task)
        return {"uploaded_file_id": upload_id, "outcome": "not-claimed"}
    started = time.monotonic()
    try:
        upload.refresh_from_db()
        result = service(upload)
    except NothingToDo as exc:
        stage_finish(upload_id, stage, status=StageStatus.SKIPPED, error=str(exc))
        logger.info("%s skipped uploaded_file_id: %s: %s", phrase, upload_id, exc)
        return {"uploaded_file_id": upload_id, "outcome": "skipped", "reason": str(exc)}
    except TRANSIENT_ERRORS as exc:
        if task.request.retries < (task.max_retries or 0):
            countdown = retry_countdown(task.request.retries)
            stage_retry(upload_id, stage, reason=f"{type(exc).__name__}: {exc}")
            logger.warning("%s retrying uploaded_file_id: %s in %.0f s: %s", phrase, upload_id, countdown, exc)
            raise task.retry(exc=exc, countdown=countdown) from exc
        _fail(stage, upload_id, f"gave up after {task.request.retries} retries: {type(exc).__name__}: {exc}", exc)
    except SoftTimeLimitExceeded as exc:
        message = f"stopped: the soft time limit of {task.soft_time_limit} s was reached (or revoked with SIGUSR1)"
        _fail(stage, upload_id, message, exc)
    except PERMANENT_ERRORS as exc:
        _fail(stage, upload_id, str(exc), exc)
    except Exception as exc:
        logger.exception("%s crashed uploaded_file_id: %s", phrase, upload_id)
        _fail(stage, upload_id, f"unexpected error: {type(exc).__name__}: {exc}", exc)
    stage_finish(upload_id, stage, status=StageStatus.SUCCEEDED)
    elapsed_ms = (time.monotonic() - started) * 1000
    details = " ".join(f"{key}={value}" for key, value in result.items())
    logger.info("%s %s uploaded_file_id: %s %s (%d ms)", phrase, DONE[Stage(stage)], upload_id, details, elapsed_ms)
    return {"uploaded_file_id": upload_id, "outcome": "succeeded", **result}


def _fail(stage: str, upload_id: int, message: str, exc: BaseException) -> NoReturn:
    stage_finish(upload_id, stage, status=StageStatus.FAILED, error=message)
    stages_skip_after(upload_id, stage, reason=f"not run: {PHRASES[Stage(stage)]} failed")
    logger.error("%s failed uploaded_file_id: %s: %s", PHRASES[Stage(stage)], upload_id, message)
    raise StageFailed(message) from exc
