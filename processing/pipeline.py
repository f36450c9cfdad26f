"""Build and start the chain for an upload. Task ids are assigned here and stored on the upload
before anything is sent, so every stage can be found, inspected and revoked (celery#8460: a chain
cannot be revoked as a whole)."""

from __future__ import annotations

import logging

from celery import chain, uuid
from django.db import transaction

from uploads.models import MediaKind, Stage, StageStatus, UploadedFile
from uploads.state import stage_finish, stage_queue

logger = logging.getLogger(__name__)


def _stage_tasks() -> dict[str, object]:
    from . import tasks

    return {
        Stage.TRANSCRIPTION: tasks.transcribe_and_save_async,
        Stage.ANALYSIS: tasks.generate_ai_analysis_async,
        Stage.HLS: tasks.generate_hls_async,
    }


def pipeline_stages(upload: UploadedFile) -> list[str]:
    stages = [Stage.TRANSCRIPTION.value, Stage.ANALYSIS.value]
    if upload.media_kind == MediaKind.VIDEO:
        stages.append(Stage.HLS.value)
    return stages


def pipeline_enqueue(upload: UploadedFile) -> list[str]:
    """Mark the stages queued with fresh task ids and send the chain after the transaction commits."""
    stages = pipeline_stages(upload)
    if upload.media_kind == MediaKind.AUDIO:
        stage_finish(
            upload.pk, Stage.HLS, status=StageStatus.SKIPPED, error="audio upload: there is no video to stream"
        )
    task_ids = {stage: uuid() for stage in stages}
    for stage, task_id in task_ids.items():
        stage_queue(upload.pk, stage, task_id=task_id)
    upload_id = upload.pk
    transaction.on_commit(lambda: _send(upload_id, task_ids))
    return list(task_ids.values())


def _send(upload_id: int, task_ids: dict[str, str]) -> None:
    tasks = _stage_tasks()
    signatures = [tasks[stage].si(upload_id).set(task_id=task_id) for stage, task_id in task_ids.items()]  # type: ignore[attr-defined]
    chain(*signatures).apply_async()
    logger.info("Pipeline queued uploaded_file_id: %s stages=%s", upload_id, ",".join(task_ids))
