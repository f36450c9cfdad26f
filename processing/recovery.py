"""The watchdog: find stages whose worker is gone or whose message was lost, re-queue them from
database state with bounded attempts, and fail them when the attempts are used up. Beat runs it
every minute and every worker runs it once at start; `manage.py recover_stuck` runs it by hand."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from config.celery import app
from processing.state import stage_finish, stages_skip_after
from uploads.models import StageStatus, UploadedFile

from .models import StageRun
from .pipeline import pipeline_resume, pipeline_stages
from .registry import spec

logger = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    requeued: list[tuple[int, str, str]] = field(default_factory=list)  # (upload id, stage, why)
    failed: list[tuple[int, str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"re-queue uploaded_file_id: {u} stage={s}: {why}" for u, s, why in self.requeued]
        return out + [f"fail uploaded_file_id: {u} stage={s}: {why}" for u, s, why in self.failed]


def _queued_task_ids() -> set[str]:
    """Task ids of every message waiting in, or delivered but unacked from, the broker's queues."""
    ids: set[str] = set()
    with app.connection_for_read() as conn:
        client = conn.default_channel.client  # type: ignore[attr-defined]  # kombu's Redis client
        for queue in settings.CELERY_QUEUE_TABLE:
            for raw in client.lrange(queue, 0, -1):
                ids.add(json.loads(raw).get("headers", {}).get("id", ""))
        for raw in client.hvals("unacked"):
            message = json.loads(raw)[0]
            ids.add(message.get("headers", {}).get("id", ""))
    return ids


def _candidates(stale_before: datetime, queued_before: datetime) -> QuerySet[UploadedFile]:
    """Uploads with a running stage whose heartbeat is stale, or a stage queued since before
    `queued_before` at the latest (recover_stuck narrows both to the first open stage)."""
    stale = Q(status=StageStatus.RUNNING) & (Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at=None))
    queued = Q(status=StageStatus.QUEUED, upload__created_at__lt=queued_before)
    ids = StageRun.objects.filter(stale | queued).values("upload_id")
    return UploadedFile.objects.filter(pk__in=ids, cancel_requested_at__isnull=True).prefetch_related("stage_runs")


def _first_open_stage(upload: UploadedFile) -> str | None:
    for stage in pipeline_stages(upload):
        if upload.stage_status(stage) in (StageStatus.QUEUED, StageStatus.RUNNING, StageStatus.PENDING):
            return stage
    return None


def _due_since(upload: UploadedFile, stage: str) -> datetime | None:
    """When a queued stage became due: its predecessor's finish, or the upload's creation."""
    stages = pipeline_stages(upload)
    position = stages.index(stage)
    return upload.stage(stages[position - 1]).finished_at if position else upload.created_at


def recover_stuck(*, dry_run: bool = False) -> RecoveryReport:
    report = RecoveryReport()
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.PIPELINE_STALE_SECONDS)
    queued_before = now - timedelta(seconds=settings.PIPELINE_QUEUED_STALE_SECONDS)
    in_broker: set[str] | None = None
    for upload in _candidates(stale_before, queued_before):
        stage = _first_open_stage(upload)
        if stage is None:
            continue
        run = upload.stage(stage)
        if run.status == StageStatus.RUNNING:
            if run.heartbeat_at is not None and run.heartbeat_at >= stale_before:
                continue  # alive
            why = f"no heartbeat for over {settings.PIPELINE_STALE_SECONDS} s (worker lost)"
        else:
            due = _due_since(upload, stage)
            if run.status != StageStatus.QUEUED or due is None or due >= queued_before:
                continue
            in_broker = _queued_task_ids() if in_broker is None else in_broker
            if run.task_id in in_broker:
                continue  # still waiting its turn in a queue: not lost
            why = "queued, but its message is in no queue (lost by the broker)"
        _recover(upload, stage, why, report, dry_run=dry_run)
    for line in report.lines():
        logger.warning("Watchdog %s%s", "(dry run) " if dry_run else "", line)
    return report


def _recover(upload: UploadedFile, stage: str, why: str, report: RecoveryReport, *, dry_run: bool) -> None:
    attempts = upload.stage(stage).attempts
    if attempts >= settings.PIPELINE_MAX_ATTEMPTS:
        message = f"gave up after {attempts} attempts: {why}"
        report.failed.append((upload.pk, stage, message))
        if not dry_run:
            stage_finish(upload.pk, stage, status=StageStatus.FAILED, error=message)
            stages_skip_after(upload.pk, stage, reason=f"not run: {spec(stage).phrase} failed")
        return
    report.requeued.append((upload.pk, stage, why))
    if not dry_run:
        with transaction.atomic():
            pipeline_resume(upload, from_stage=stage, reset_attempts=False)


def cleanup_scratch(*, max_age: float | None = None, dry_run: bool = False) -> list[str]:
    """Remove HLS scratch folders left by workers that were killed (SIGTERM/SIGKILL skip cleanup)."""
    max_age = settings.PIPELINE_SCRATCH_MAX_AGE if max_age is None else max_age
    root, now, removed = tempfile.gettempdir(), time.time(), []
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name.startswith("hls-") and os.path.isdir(path) and now - os.path.getmtime(path) > max_age:
            removed.append(path)
            if not dry_run:
                shutil.rmtree(path, ignore_errors=True)
    return removed
