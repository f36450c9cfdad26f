"""The pipeline's Celery tasks, under the names the runbook uses. Each is thin: it takes an
upload id and hands the work to processing.stages.run_stage and one service."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from uploads.models import Stage

from . import services
from .stages import StageFailed, queue_options, run_stage

# A stage that failed for a known reason (bad media, configuration, a limit) has already recorded its
# message; declared here, Celery logs it in one INFO line, and only real crashes get a traceback.
EXPECTED = (StageFailed,)


@shared_task(bind=True, throws=EXPECTED, **queue_options("transcription"))
def transcribe_and_save_async(self: Task, uploaded_file_id: int) -> dict[str, Any]:
    return run_stage(self, Stage.TRANSCRIPTION, uploaded_file_id, services.transcription_run)


@shared_task(bind=True, throws=EXPECTED, **queue_options("analysis"))
def generate_ai_analysis_async(self: Task, uploaded_file_id: int) -> dict[str, Any]:
    return run_stage(self, Stage.ANALYSIS, uploaded_file_id, services.analysis_run)


@shared_task(bind=True, throws=EXPECTED, **queue_options("hls"))
def generate_hls_async(self: Task, uploaded_file_id: int) -> dict[str, Any]:
    return run_stage(self, Stage.HLS, uploaded_file_id, services.hls_run)


@shared_task(bind=True, **queue_options("default"))
def recover_stuck_async(self: Task) -> dict[str, Any]:
    """The watchdog (Beat, every minute; every worker at start)."""
    from .recovery import recover_stuck

    report = recover_stuck()
    return {"requeued": len(report.requeued), "failed": len(report.failed)}


@shared_task(bind=True, **queue_options("default"))
def cleanup_scratch_async(self: Task) -> dict[str, Any]:
    """Remove HLS scratch folders that killed workers left behind (Beat, hourly)."""
    from .recovery import cleanup_scratch

    return {"removed": len(cleanup_scratch())}
