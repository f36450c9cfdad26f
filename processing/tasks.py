"""The pipeline's Celery tasks, under the names the runbook uses (processing.registry holds each
stage's name, queue and service). Each is thin: it takes an upload id and hands the work to
processing.stages.run_stage and the stage's service."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from .registry import spec
from .stages import StageFailed, queue_options, run_stage

# A stage that failed for a known reason (bad media, configuration, a limit) has already recorded its
# message; declared here, Celery logs it in one INFO line, and only real crashes get a traceback.
EXPECTED = (StageFailed,)


def _stage_task(key: str) -> dict[str, Any]:
    stage = spec(key)
    return {"name": stage.task_name, "bind": True, "throws": EXPECTED, **queue_options(stage.queue)}


def _run(task: Task, key: str, uploaded_file_id: int) -> dict[str, Any]:
    return run_stage(task, key, uploaded_file_id, spec(key).load_service())


@shared_task(**_stage_task("transcription"))
def transcribe_and_save_async(self: Task, uploaded_file_id: int) -> dict[str, Any]:
    return _run(self, "transcription", uploaded_file_id)


@shared_task(**_stage_task("analysis"))
def generate_ai_analysis_async(self: Task, uploaded_file_id: int) -> dict[str, Any]:
    return _run(self, "analysis", uploaded_file_id)


@shared_task(**_stage_task("hls"))
def generate_hls_async(self: Task, uploaded_file_id: int) -> dict[str, Any]:
    return _run(self, "hls", uploaded_file_id)


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
