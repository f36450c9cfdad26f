"""The pipeline's Celery tasks, under the names the runbook uses (processing.registry holds each
stage's name, queue and service; stage_task makes each stage's task from it). Each takes an upload
id and hands the work to processing.stages.run_stage and the stage's service."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from .recovery import cleanup_scratch, recover_stuck
from .registry import spec
from .stages import StageFailed, queue_options, run_stage

# A stage that failed for a known reason (bad media, configuration, a limit) has already recorded its
# message; declared here, Celery logs it in one INFO line, and only real crashes get a traceback.
EXPECTED = (StageFailed,)


def stage_task(key: str) -> Task:
    """The Celery task of a registered stage, named and limited as its spec says. Its body claims the
    stage and runs the stage's service (processing.stages.run_stage). The chain names each message's
    queue (processing.pipeline._send), so a stage an app registers needs no CELERY_TASK_ROUTES entry."""
    stage = spec(key)

    def run(self: Task, upload_id: int) -> dict[str, Any]:
        return run_stage(self, key, upload_id, spec(key).load_service())

    run.__name__ = run.__qualname__ = stage.task_name.rsplit(".", 1)[1]
    task: Task = shared_task(name=stage.task_name, bind=True, throws=EXPECTED, **queue_options(stage.queue))(run)
    return task


transcribe_and_save_async = stage_task("transcription")
diarize_speakers_async = stage_task("speakers")
generate_ai_analysis_async = stage_task("analysis")
generate_hls_async = stage_task("hls")


@shared_task(bind=True, **queue_options("default"))
def recover_stuck_async(self: Task) -> dict[str, Any]:
    """The watchdog (Beat, every minute; every worker at start)."""
    report = recover_stuck()
    return {"requeued": len(report.requeued), "failed": len(report.failed)}


@shared_task(bind=True, **queue_options("default"))
def cleanup_scratch_async(self: Task) -> dict[str, Any]:
    """Remove HLS scratch folders that killed workers left behind (Beat, hourly)."""
    return {"removed": len(cleanup_scratch())}
