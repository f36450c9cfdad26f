"""Build, start, resume and cancel an upload's chain. Task ids are assigned here and stored on the
upload before anything is sent, so every stage can be found, inspected and revoked (celery#8460:
a chain cannot be revoked as a whole)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import chain, uuid
from django.db import transaction
from django.utils import timezone

from config.celery import app
from processing.state import stage_cancel, stage_finish, stages_queue
from uploads.models import MediaKind, StageStatus, UploadedFile

from .registry import STAGES, spec, stages_for

logger = logging.getLogger(__name__)


def stage_tasks() -> dict[str, Any]:
    """Each stage's task object, by stage key, for running a stage in this process (process_file
    --sync). Loads every app's tasks module first: outside a worker Celery imports them lazily."""
    app.loader.import_default_modules()
    return {stage.key: app.tasks[stage.task_name] for stage in STAGES}


def pipeline_stages(upload: UploadedFile) -> list[str]:
    return [stage.key for stage in stages_for(upload.media_kind)]


def first_unsucceeded_stage(upload: UploadedFile) -> str | None:
    """Where a plain reprocess starts: the first stage that did not succeed."""
    return next((s for s in pipeline_stages(upload) if upload.stage_status(s) != StageStatus.SUCCEEDED), None)


Sender = Callable[[int, dict[str, str]], None]


def pipeline_enqueue(upload: UploadedFile, *, send: Sender | None = None) -> list[str]:
    """A new upload: every stage queued with a fresh task id; the chain is sent after commit (or
    handed to `send`, as `process_file --sync` does to run the stages in its own process)."""
    applies = pipeline_stages(upload)
    for stage in STAGES:
        if stage.key not in applies:
            stage_finish(upload.pk, stage.key, status=StageStatus.SKIPPED, error=_NOT_FOR[upload.media_kind])
    return pipeline_resume(upload, from_stage=applies[0], send=send, new=True)


# Why a stage that does not apply to the upload's kind is skipped.
_NOT_FOR: dict[str, str] = {
    MediaKind.AUDIO: "audio upload: there is no video to stream",
    MediaKind.VIDEO: "not for video uploads",
}


def pipeline_resume(
    upload: UploadedFile, *, from_stage: str, reset_attempts: bool = True, send: Sender | None = None, new: bool = False
) -> list[str]:
    """Queue `from_stage` and every later stage again under new task ids and send that chain after
    commit. Used by reprocess, dead-letter re-runs and the watchdog (and by pipeline_enqueue with
    `new`: a brand-new upload has no cancel flag to clear)."""
    stages = pipeline_stages(upload)
    if from_stage not in stages:
        raise ValueError(
            f"stage {from_stage!r} does not apply to this {upload.media_kind} upload; choose from {stages}"
        )
    task_ids = {stage: uuid() for stage in stages[stages.index(from_stage) :]}
    stages_queue(upload.pk, task_ids, keep_attempts_of=None if reset_attempts else from_stage, clear_cancel=not new)
    upload_id = upload.pk
    transaction.on_commit(lambda: (send or _send)(upload_id, task_ids))
    return list(task_ids.values())


def _send(upload_id: int, task_ids: dict[str, str]) -> None:
    # By name, with the queue in each message: neither this process nor a worker that passes the
    # chain on needs the task imported or a route for it (a stage an app registers included).
    signatures = [
        app.signature(spec(stage).task_name, args=(upload_id,), immutable=True).set(
            task_id=task_id, queue=spec(stage).queue
        )
        for stage, task_id in task_ids.items()
    ]
    chain(*signatures).apply_async()
    logger.info("Pipeline queued uploaded_file_id: %s stages=%s", upload_id, ",".join(task_ids))


def _revoke_open_stages(upload: UploadedFile) -> list[str]:
    """Revoke every stage task that has not ended; the running one also gets `soft_stop` (SIGUSR1
    to its pool process: SoftTimeLimitExceeded in the task, so ffmpeg/Whisper stop and scratch files
    are removed; see processing.worker_control for why not `revoke(terminate=True)`)."""
    revoked = []
    for run in upload.runs():
        if not run.task_id or run.status not in (StageStatus.PENDING, StageStatus.QUEUED, StageStatus.RUNNING):
            continue
        app.control.revoke(run.task_id)
        if run.status == StageStatus.RUNNING:
            app.control.broadcast("soft_stop", arguments={"task_id": run.task_id})
        revoked.append(run.task_id)
    return revoked


def pipeline_cancel(upload: UploadedFile) -> list[str]:
    """Set the cancel flag, mark every open stage cancelled and revoke its task. Idempotent."""
    UploadedFile.objects.filter(pk=upload.pk, cancel_requested_at__isnull=True).update(
        cancel_requested_at=timezone.now()
    )
    upload.refresh_from_db()
    upload.runs()  # read before they are cancelled: which tasks are still open, to revoke below
    for stage in STAGES:
        stage_cancel(upload.pk, stage.key)
    revoked = _revoke_open_stages(upload)
    logger.info("Pipeline cancelled uploaded_file_id: %s revoked=%s", upload.pk, ",".join(revoked) or "-")
    return revoked


def pipeline_forget(upload: UploadedFile) -> list[str]:
    """Before an upload is deleted: revoke whatever of its pipeline has not ended."""
    return _revoke_open_stages(upload)
