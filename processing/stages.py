"""What running a stage means: claim it, keep a heartbeat, call its service, and turn the outcome
into state.

Transient errors (database, broker, storage, LLM 5xx/429) retry with backoff and jitter up to the
queue's max_retries; everything else fails the stage at once with a message an operator can act on,
and the later stages are marked skipped. Nothing retries forever. What ran out of retries, or
crashed unexpectedly, also gets a dead-letter record.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from celery import Task
from celery.exceptions import Ignore, SoftTimeLimitExceeded
from django.conf import settings

from processing.state import (
    owner_token,
    stage_claim_kept,
    stage_claim_row,
    stage_detail,
    stage_finish,
    stage_retry,
    stages_skip_after,
)
from uploads.models import StageStatus, UploadedFile

from .errors import PERMANENT_ERRORS, TRANSIENT_ERRORS, NothingToDo
from .heartbeat import HEARTBEATS
from .messages import operator_detail, scrub, uploader_message
from .models import DeadLetter
from .registry import spec

logger = logging.getLogger(__name__)

RETRY_BACKOFF_BASE = 10  # seconds; doubled per attempt, capped by CELERY_RETRY_BACKOFF_MAX


class StageFailed(Exception):
    """Raised after a stage is marked failed, so Celery records FAILURE and the chain stops."""


def retry_countdown(retries: int) -> float:
    """Exponential backoff with jitter over the upper half of the window."""
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
    phrase = spec(stage).phrase  # the runbook greps for it
    if not stage_claim_row(upload_id, stage):
        return _not_claimed(task, stage, upload_id)
    started = time.monotonic()
    try:
        upload = UploadedFile.objects.get(pk=upload_id)
        if not stage_claim_kept(upload, stage):  # cancelled meanwhile
            return _not_claimed(task, stage, upload_id)
        with HEARTBEATS.beating(upload_id, stage, owner_token()):
            result = service(upload)
    except NothingToDo as exc:
        stage_finish(upload_id, stage, status=StageStatus.SKIPPED, error=scrub(str(exc)))
        logger.info("%s skipped uploaded_file_id: %s: %s", phrase, upload_id, exc)
        return {"uploaded_file_id": upload_id, "outcome": "skipped", "reason": str(exc)}
    except TRANSIENT_ERRORS as exc:
        if task.request.retries < (task.max_retries or 0):
            countdown = retry_countdown(task.request.retries)
            stage_detail(upload_id, stage, operator_detail(exc))
            stage_retry(upload_id, stage, reason=scrub(str(exc)))
            logger.warning("%s retrying uploaded_file_id: %s in %.0f s: %s", phrase, upload_id, countdown, exc)
            raise task.retry(exc=exc, countdown=countdown) from exc
        message = f"gave up after {task.request.retries} retries: {scrub(str(exc))}"
        _fail(task, stage, upload_id, message, exc, dead_letter=True)
    except SoftTimeLimitExceeded as exc:
        return _stopped(task, stage, upload_id, exc)
    except PERMANENT_ERRORS as exc:
        if _soft_limit_behind(exc):
            return _stopped(task, stage, upload_id, exc)
        _fail(task, stage, upload_id, uploader_message(exc, unexpected=False), exc)
    except Exception as exc:
        if _soft_limit_behind(exc):
            return _stopped(task, stage, upload_id, exc)
        logger.exception("%s crashed uploaded_file_id: %s", phrase, upload_id)
        message = uploader_message(exc, unexpected=True, task_id=task.request.id or "")
        _fail(task, stage, upload_id, message, exc, dead_letter=True)
    note = str(result.pop("note", ""))  # a succeeded stage's remark for the uploader, e.g. "no speech found"
    if not stage_finish(upload_id, stage, status=StageStatus.SUCCEEDED, error=note):
        _stop_chain(task)  # cancelled (or taken over) while it ran: the result stands, the chain stops
        return {"uploaded_file_id": upload_id, "outcome": "superseded", **result}
    elapsed_ms = (time.monotonic() - started) * 1000
    details = " ".join(f"{key}={value}" for key, value in result.items())
    logger.info("%s %s uploaded_file_id: %s %s (%d ms)", phrase, spec(stage).done, upload_id, details, elapsed_ms)
    return {"uploaded_file_id": upload_id, "outcome": "succeeded", **result}


def _not_claimed(task: Task, stage: str, upload_id: int) -> dict[str, Any]:
    """A duplicate or late delivery, or a cancelled or deleted upload: nothing runs, the chain stops."""
    _stop_chain(task)
    upload = UploadedFile.objects.filter(pk=upload_id).first()
    if upload is None:
        logger.warning("uploaded_file_id: %s no longer exists; skipping", upload_id)
        return {"uploaded_file_id": upload_id, "outcome": "missing"}
    status = upload.stage_status(stage)
    logger.info("%s not started uploaded_file_id: %s: stage is %s", spec(stage).phrase, upload_id, status)
    return {"uploaded_file_id": upload_id, "outcome": "not-claimed", "status": status}


def _soft_limit_behind(exc: BaseException) -> bool:
    """The soft limit's exception can surface as another one: raised inside a library that catches and
    re-raises (faster-whisper turns it, raised during `import onnxruntime`, into "Applying the VAD
    filter requires the onnxruntime package"). Its cause or context chain still holds it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SoftTimeLimitExceeded):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _stopped(task: Task, stage: str, upload_id: int, exc: BaseException) -> dict[str, Any]:
    """A stage stopped by its soft time limit, or by cancel's SIGUSR1: cancelled, or failed naming the limit."""
    if _cancelled(upload_id):
        _stop_chain(task)
        logger.info("%s cancelled uploaded_file_id: %s", spec(stage).phrase, upload_id)
        return {"uploaded_file_id": upload_id, "outcome": "cancelled"}
    _raise_if_deleted(upload_id)
    soft_limit = (task.request.timelimit or (None, None))[1] or task.soft_time_limit
    message = f"stopped: the soft time limit of {soft_limit} s was reached (or revoked with SIGUSR1)"
    _fail(task, stage, upload_id, message, exc)


def _cancelled(upload_id: int) -> bool:
    return UploadedFile.objects.filter(pk=upload_id, cancel_requested_at__isnull=False).exists()


def _raise_if_deleted(upload_id: int) -> None:
    """An upload deleted while its stage ran: nothing to record, nothing to retry."""
    if not UploadedFile.objects.filter(pk=upload_id).exists():
        logger.warning("uploaded_file_id: %s no longer exists; skipping", upload_id)
        raise Ignore()


def _fail(
    task: Task, stage: str, upload_id: int, message: str, exc: BaseException, *, dead_letter: bool = False
) -> NoReturn:
    """Mark the stage failed with `message` (the uploader's words); the exception itself, with its class
    and any paths, goes to the log, to the upload's stage_details (admin) and to the dead letter."""
    _raise_if_deleted(upload_id)
    detail = operator_detail(exc)
    stage_detail(upload_id, stage, detail)  # first: whoever sees the stage failed finds its details
    stage_finish(upload_id, stage, status=StageStatus.FAILED, error=message)
    stages_skip_after(upload_id, stage, reason=f"not run: {spec(stage).phrase} failed")
    said = type(exc).__name__ if scrub(str(exc)) == message else detail.splitlines()[0]
    logger.error("%s failed uploaded_file_id: %s: %s [%s]", spec(stage).phrase, upload_id, message, said)
    if dead_letter:
        DeadLetter.objects.create(
            upload_id=upload_id,
            stage=stage,
            task_id=task.request.id or "",
            task_name=task.name,
            args=list(task.request.args or []),
            exception=detail.splitlines()[0],
            traceback_tail="".join(traceback.format_exception(exc))[-4000:],
        )
    raise StageFailed(message) from exc
