"""The pipeline's tables: each upload's stage runs (the state processing.state moves), every attempt
of every stage task, and tasks that ran out of retries."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from uploads.models import StageStatus


class StageRun(models.Model):
    """One stage of one upload: its state, the task that runs it and that task's claim. Every upload
    has one row per registered stage (processing.state.stage_runs_create makes them with the upload),
    and only processing.state moves them, with conditional UPDATEs."""

    upload = models.ForeignKey("uploads.UploadedFile", on_delete=models.CASCADE, related_name="stage_runs")
    stage = models.CharField(max_length=32, help_text="A key of processing.registry: transcription, analysis, hls")
    status = models.CharField(max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING, db_index=True)
    task_id = models.CharField(max_length=255, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    owner = models.CharField(max_length=255, blank=True, help_text="host:pid:thread of the claim")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.FloatField("progress %", default=0)
    progress_note = models.CharField(max_length=120, blank=True, help_text='Where a running stage is: "chunk 2 of 5"')
    # What the uploader reads (pages, status JSON), and what an operator needs about the last failure
    # or skip: exception class, ffmpeg's line with paths, storage names (admin and logs, never the pages).
    error = models.TextField(blank=True)
    detail = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["upload", "stage"], name="stagerun_one_per_upload_and_stage")]
        ordering = ["upload_id", "id"]

    def __str__(self) -> str:
        return f"{self.stage} of upload #{self.upload_id}: {self.status}"


class TaskEvent(models.TextChoices):
    QUEUED = "queued", "Queued"
    STARTED = "started", "Started"
    RETRIED = "retried", "Retried"
    SUCCEEDED = "succeeded", "Succeeded"
    SKIPPED = "skipped", "Skipped"
    IGNORED = "ignored", "Ignored (duplicate or missing upload)"
    FAILED = "failed", "Failed"
    REVOKED = "revoked", "Revoked"


class TaskAttempt(models.Model):
    """One lifecycle event of one task (seed 000's task records). Joined to django-celery-results'
    TaskResult by task_id."""

    # No database constraint: records are written on the hot path without a lookup, and they
    # outlive a deleted upload (its id stays, for pipeline_status and the admin list).
    upload = models.ForeignKey(
        "uploads.UploadedFile", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="task_attempts",
    )  # fmt: skip
    task_id = models.CharField(max_length=255, db_index=True)
    task_name = models.CharField(max_length=255)
    stage = models.CharField(max_length=16, blank=True)
    event = models.CharField(max_length=16, choices=TaskEvent.choices)
    retries = models.PositiveSmallIntegerField(default=0)
    hostname = models.CharField(max_length=255, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds, for ended attempts")
    message = models.TextField(blank=True)
    # When the event happened (a record may be written a moment later, with the task's next one).
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}] {self.event}"


class DeadLetter(models.Model):
    """A task that ended without doing its work: retries ran out, or an unexpected error."""

    upload = models.ForeignKey("uploads.UploadedFile", null=True, blank=True, on_delete=models.SET_NULL)
    stage = models.CharField(max_length=16, blank=True)
    task_id = models.CharField(max_length=255, db_index=True)
    task_name = models.CharField(max_length=255)
    args = models.JSONField(default=list)
    exception = models.TextField()
    traceback_tail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    rerun_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}]"
