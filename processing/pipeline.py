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

from processing.state import stage_cancel, stage_finish, stages_queue
from uploads.models import MediaKind, Stage, StageStatus, UploadedFile

from .registry import STAGES, stages_for

logger = logging.getLogger(__name__)


def _stage_tasks() -> dict[str, Any]:
    """Each stage's task object, by stage key (processing.registry names them)."""
    from config.celery import app

    from . import tasks  # noqa: F401  (imported here: tasks -> recovery -> pipeline would loop)

    return {spec.key: app.tasks[spec.task_name] for spec in STAGES}


def pipeline_stages(upload: UploadedFile) -> list[str]:
    return [spec.key for spec in stages_for(upload.media_kind)]


def first_unsucceeded_stage(upload: UploadedFile) -> str | None:
    """Where a plain reprocess starts: the first stage that did not succeed."""
    return next((s for s in pipeline_stages(upload) if upload.stage_status(s) != StageStatus.SUCCEEDED), None)


Sender = Callable[[int, dict[str, str]], None]


def pipeline_enqueue(upload: UploadedFile, *, send: Sender | None = None) -> list[str]:
    """A new upload: every stage queued with a fresh task id; the chain is sent after commit (or
    handed to `send`, as `process_file --sync` does to run the stages in its own process)."""
    if upload.media_kind == MediaKind.AUDIO:
        stage_finish(
            upload.pk, Stage.HLS, status=StageStatus.SKIPPED, error="audio upload: there is no video to stream"
        )
    return pipeline_resume(upload, from_stage=Stage.TRANSCRIPTION, send=send)


def pipeline_resume(
    upload: UploadedFile, *, from_stage: str, reset_attempts: bool = True, send: Sender | None = None
) -> list[str]:
    """Queue `from_stage` and every later stage again under new task ids and send that chain after
    commit. Used by reprocess, dead-letter re-runs and the watchdog."""
    stages = pipeline_stages(upload)
    if from_stage not in stages:
        raise ValueError(
            f"stage {from_stage!r} does not apply to this {upload.media_kind} upload; choose from {stages}"
        )
    task_ids = {stage: uuid() for stage in stages[stages.index(from_stage) :]}
    stages_queue(upload.pk, task_ids, keep_attempts_of=None if reset_attempts else from_stage)
    upload_id = upload.pk
    transaction.on_commit(lambda: (send or _send)(upload_id, task_ids))
    return list(task_ids.values())


def _send(upload_id: int, task_ids: dict[str, str]) -> None:
    tasks = _stage_tasks()
    signatures = [tasks[stage].si(upload_id).set(task_id=task_id) for stage, task_id in task_ids.items()]
    chain(*signatures).apply_async()
    logger.info("Pipeline queued uploaded_file_id: %s stages=%s", upload_id, ",".join(task_ids))


def _revoke_open_stages(upload: UploadedFile) -> list[str]:
    """Revoke every stage task that has not ended; the running one also gets `soft_stop` (SIGUSR1
    to its pool process: SoftTimeLimitExceeded in the task, so ffmpeg/Whisper stop and scratch files
    are removed; see processing.worker_control for why not `revoke(terminate=True)`)."""
    from config.celery import app

    revoked = []
    for stage in Stage.values:
        task_id = getattr(upload, f"{stage}_task_id")
        status = upload.stage_status(stage)
        if not task_id or status not in (StageStatus.PENDING, StageStatus.QUEUED, StageStatus.RUNNING):
            continue
        app.control.revoke(task_id)
        if status == StageStatus.RUNNING:
            app.control.broadcast("soft_stop", arguments={"task_id": task_id})
        revoked.append(task_id)
    return revoked


def pipeline_cancel(upload: UploadedFile) -> list[str]:
    """Set the cancel flag, mark every open stage cancelled and revoke its task. Idempotent."""
    UploadedFile.objects.filter(pk=upload.pk, cancel_requested_at__isnull=True).update(
        cancel_requested_at=timezone.now()
    )
    upload.refresh_from_db()
    for stage in Stage.values:
        stage_cancel(upload.pk, stage)
    revoked = _revoke_open_stages(upload)
    logger.info("Pipeline cancelled uploaded_file_id: %s revoked=%s", upload.pk, ",".join(revoked) or "-")
    return revoked


def pipeline_forget(upload: UploadedFile) -> list[str]:
    """Before an upload is deleted: revoke whatever of its pipeline has not ended."""
    return _revoke_open_stages(upload)
