"""An uploaded media file and the state of each pipeline stage run over it."""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models


class MediaKind(models.TextChoices):
    AUDIO = "audio", "Audio"
    VIDEO = "video", "Video"


class Stage(models.TextChoices):
    """The pipeline's stages, in chain order."""

    TRANSCRIPTION = "transcription", "Transcription"
    ANALYSIS = "analysis", "AI analysis"
    HLS = "hls", "HLS"


class StageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = frozenset({StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.SKIPPED, StageStatus.CANCELLED})


def upload_to(instance: "UploadedFile", filename: str) -> str:
    # The stored name is generated; the user's name is kept in original_name for display only,
    # so unicode, spaces and "../" in names never reach the filesystem or object store.
    suffix = PurePath(filename).suffix.lower()
    safe_suffix = suffix if suffix[1:].isalnum() and len(suffix) <= 8 else ""
    return f"uploads/{uuid.uuid4().hex}{safe_suffix}"


class UploadedFile(models.Model):
    file = models.FileField(upload_to=upload_to, max_length=255)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField(help_text="Bytes")
    media_kind = models.CharField(max_length=8, choices=MediaKind.choices)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds, from ffprobe")
    has_audio = models.BooleanField(default=False)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    container_format = models.CharField(max_length=32, blank=True, help_text="ffprobe's demuxer, e.g. mov, matroska")
    audio_stream = models.PositiveSmallIntegerField(
        default=0,
        help_text="Which audio track (0 = first) is transcribed and streamed: the default one, else the first",
    )
    audio_tracks = models.PositiveSmallIntegerField(default=0)
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set once by cancel; every stage checks it before it claims itself.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    # Per-stage state; processing.state is the one place that moves it.
    transcription_status = models.CharField(
        "Transcription status", max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING, db_index=True
    )
    transcription_task_id = models.CharField("Transcription task id", max_length=255, blank=True, db_index=True)
    transcription_started_at = models.DateTimeField("Transcription started", null=True, blank=True)
    transcription_finished_at = models.DateTimeField("Transcription finished", null=True, blank=True)
    transcription_error = models.TextField("Transcription error", blank=True)
    transcription_progress = models.FloatField("Transcription progress %", default=0)
    transcription_heartbeat_at = models.DateTimeField("Transcription heartbeat", null=True, blank=True)
    transcription_attempts = models.PositiveSmallIntegerField("Transcription attempts", default=0)
    transcription_claimed_by = models.CharField(
        "Transcription claimed by", max_length=255, blank=True, help_text="host:pid"
    )
    analysis_status = models.CharField(
        "Analysis status", max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING, db_index=True
    )
    analysis_task_id = models.CharField("Analysis task id", max_length=255, blank=True, db_index=True)
    analysis_started_at = models.DateTimeField("Analysis started", null=True, blank=True)
    analysis_finished_at = models.DateTimeField("Analysis finished", null=True, blank=True)
    analysis_error = models.TextField("Analysis error", blank=True)
    analysis_progress = models.FloatField("Analysis progress %", default=0)
    analysis_heartbeat_at = models.DateTimeField("Analysis heartbeat", null=True, blank=True)
    analysis_attempts = models.PositiveSmallIntegerField("Analysis attempts", default=0)
    analysis_claimed_by = models.CharField("Analysis claimed by", max_length=255, blank=True, help_text="host:pid")
    hls_status = models.CharField(
        "HLS status", max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING, db_index=True
    )
    hls_task_id = models.CharField("HLS task id", max_length=255, blank=True, db_index=True)
    hls_started_at = models.DateTimeField("HLS started", null=True, blank=True)
    hls_finished_at = models.DateTimeField("HLS finished", null=True, blank=True)
    hls_error = models.TextField("HLS error", blank=True)
    hls_progress = models.FloatField("HLS progress %", default=0)
    hls_heartbeat_at = models.DateTimeField("HLS heartbeat", null=True, blank=True)
    hls_attempts = models.PositiveSmallIntegerField("HLS attempts", default=0)
    hls_claimed_by = models.CharField("HLS claimed by", max_length=255, blank=True, help_text="host:pid")

    # What an operator needs about the last failure or skip of each stage ({stage: text}): exception
    # class, ffmpeg's line with paths, storage names. Shown in admin and logged, never on the pages.
    stage_details = models.JSONField(default=dict, blank=True)

    # Transcription results
    transcript_text = models.TextField(blank=True)
    transcript_segments = models.JSONField(default=list, blank=True, help_text="[{start, end, text}]")
    language = models.CharField(max_length=16, blank=True)
    language_probability = models.FloatField(null=True, blank=True)
    transcription_engine = models.CharField(max_length=32, blank=True)
    transcription_model = models.CharField(max_length=255, blank=True)
    transcription_seconds = models.FloatField(null=True, blank=True, help_text="Wall time of the stage")

    # Analysis results
    summary = models.TextField(blank=True)
    summary_items = models.JSONField(default=list, blank=True, help_text="[{text, start, end}]")
    issues = models.JSONField(default=list, blank=True, help_text="[{text, start, end}]")
    solutions = models.JSONField(default=list, blank=True, help_text="[{text, start, end}]")
    analysis_backend = models.CharField(max_length=32, blank=True)
    analysis_model = models.CharField(max_length=255, blank=True)
    analysis_meta = models.JSONField(default=dict, blank=True, help_text="prompt version, token usage, latency")

    # HLS results
    hls_master = models.CharField("HLS master playlist", max_length=255, blank=True)
    hls_encoder = models.CharField("encoder used", max_length=32, blank=True)
    hls_fallback_reason = models.TextField(blank=True)
    hls_poster = models.CharField("poster image", max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    def stage_status(self, stage: str) -> str:
        return str(getattr(self, f"{stage}_status"))

    @property
    def is_finished(self) -> bool:
        return all(self.stage_status(stage) in TERMINAL_STATUSES for stage in Stage.values)
