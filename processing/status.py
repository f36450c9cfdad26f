"""What `pipeline_status` reports: an upload's stages, every attempt, Celery's results, dead letters
(the seed's inspect helper, over database state)."""

from __future__ import annotations

from typing import Any

from django_celery_results.models import TaskResult

from uploads.models import Stage, UploadedFile

from .models import DeadLetter, TaskAttempt


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def upload_summary(upload: UploadedFile) -> dict[str, Any]:
    return {
        "id": upload.pk,
        "name": upload.original_name,
        "kind": upload.media_kind,
        "created_at": _iso(upload.created_at),
        "cancelled": upload.cancel_requested_at is not None,
        "stages": {stage: upload.stage_status(stage) for stage in Stage.values},
    }


def upload_history(upload: UploadedFile) -> dict[str, Any]:
    task_ids = [getattr(upload, f"{stage}_task_id") for stage in Stage.values]
    results = {r.task_id: r for r in TaskResult.objects.filter(task_id__in=[t for t in task_ids if t])}
    stages = {}
    for stage in Stage.values:
        task_id = getattr(upload, f"{stage}_task_id")
        result = results.get(task_id)
        stages[stage] = {
            "status": upload.stage_status(stage),
            "task_id": task_id,
            "progress": getattr(upload, f"{stage}_progress"),
            "attempts": getattr(upload, f"{stage}_attempts"),
            "started_at": _iso(getattr(upload, f"{stage}_started_at")),
            "finished_at": _iso(getattr(upload, f"{stage}_finished_at")),
            "heartbeat_at": _iso(getattr(upload, f"{stage}_heartbeat_at")),
            "claimed_by": getattr(upload, f"{stage}_claimed_by"),
            "error": getattr(upload, f"{stage}_error"),
            "celery_state": result.status if result else None,
            "worker": getattr(result, "worker", None),
        }
    attempts = TaskAttempt.objects.filter(upload_id=upload.pk).order_by("created_at", "id")
    dead = DeadLetter.objects.filter(upload_id=upload.pk)
    return {
        **upload_summary(upload),
        "stages": stages,
        "hls": {
            "master": upload.hls_master,
            "encoder": upload.hls_encoder,
            "fallback_reason": upload.hls_fallback_reason,
        },
        "events": [
            {
                "at": _iso(a.created_at),
                "stage": a.stage,
                "event": a.event,
                "task_id": a.task_id,
                "retries": a.retries,
                "hostname": a.hostname,
                "duration": a.duration,
                "message": a.message,
            }
            for a in attempts
        ],
        "dead_letters": [{"at": _iso(d.created_at), "task_id": d.task_id, "exception": d.exception} for d in dead],
    }
