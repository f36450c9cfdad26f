"""What `pipeline_status` reports: an upload's stages, every attempt, Celery's results, dead letters
(the seed's inspect helper, over database state)."""

from __future__ import annotations

from typing import Any

from django_celery_results.models import TaskResult

from uploads.models import UploadedFile

from .models import DeadLetter, TaskAttempt
from .registry import STAGES


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def upload_summary(upload: UploadedFile) -> dict[str, Any]:
    return {
        "id": upload.pk,
        "name": upload.original_name,
        "kind": upload.media_kind,
        "created_at": _iso(upload.created_at),
        "cancelled": upload.cancel_requested_at is not None,
        "stages": {spec.key: upload.stage_status(spec.key) for spec in STAGES},
    }


def upload_history(upload: UploadedFile) -> dict[str, Any]:
    runs = [upload.stage(spec.key) for spec in STAGES]
    task_ids = [run.task_id for run in runs if run.task_id]
    results = {r.task_id: r for r in TaskResult.objects.filter(task_id__in=task_ids)}
    stages = {}
    for run in runs:
        result = results.get(run.task_id)
        stages[run.stage] = {
            "status": run.status,
            "task_id": run.task_id,
            "progress": run.progress,
            "progress_note": run.progress_note,
            "attempts": run.attempts,
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "heartbeat_at": _iso(run.heartbeat_at),
            "owner": run.owner,
            "error": run.error,
            "detail": run.detail,
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
        "speakers": [
            {"label": sp.label, "name": sp.display_name, "talk_seconds": sp.talk_seconds, "turns": sp.turns}
            for sp in upload.speakers.all()
        ],
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
