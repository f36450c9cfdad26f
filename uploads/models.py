"""An uploaded media file: the file, its probed media facts and the pipeline's results. The state of
each stage run over it lives in processing.models.StageRun (upload.stage("hls"))."""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:  # processing depends on uploads, never the other way at run time
    from django.db.models.fields.related_descriptors import RelatedManager

    from processing.models import StageRun


class MediaKind(models.TextChoices):
    AUDIO = "audio", "Audio"
    VIDEO = "video", "Video"


class StageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = frozenset({StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.SKIPPED, StageStatus.CANCELLED})


def upload_to(instance: UploadedFile, filename: str) -> str:
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

    # Transcription results
    transcript_text = models.TextField(blank=True)
    transcript_segments = models.JSONField(default=list, blank=True, help_text="[{start, end, text}]")
    language = models.CharField(max_length=16, blank=True)
    language_probability = models.FloatField(null=True, blank=True)
    translation_segments = models.JSONField(
        default=list, blank=True, help_text="English translation [{start, end, text}] (WHISPER_TRANSLATE)"
    )
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

    if TYPE_CHECKING:
        stage_runs: RelatedManager[StageRun]

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    def runs(self) -> list[StageRun]:
        """This upload's stage runs (processing.models.StageRun), fetched once per instance or taken
        from prefetch_related("stage_runs"); refresh_from_db() fetches them again."""
        if "stage_runs" not in getattr(self, "_prefetched_objects_cache", {}):
            models.prefetch_related_objects([self], "stage_runs")
        return list(self.stage_runs.all())

    def stage(self, key: str) -> StageRun:
        """The run of one stage. A stage without a row (one registered after the upload was made)
        reads as pending."""
        return next((run for run in self.runs() if run.stage == key), None) or self.stage_runs.model(
            upload=self, stage=key
        )

    def stage_status(self, key: str) -> str:
        return str(self.stage(key).status)

    @property
    def is_finished(self) -> bool:
        return all(run.status in TERMINAL_STATUSES for run in self.runs())


class Speaker(models.Model):
    """A voice the speakers stage found in an upload. Segments, words and analysis items carry its
    `label` ("S1"); every view, export and subtitle file shows `display_name`, so a rename reaches
    all of them. A re-run of the stage keeps `name` for a voice that still matches (`centroid`)."""

    upload = models.ForeignKey(UploadedFile, on_delete=models.CASCADE, related_name="speakers")
    index = models.PositiveSmallIntegerField(help_text="0-based, in order of first appearance")
    label = models.CharField(max_length=16, help_text='What segments carry: "S1", "S2"...')
    name = models.CharField(max_length=80, blank=True, help_text='Shown instead of "Speaker N" when set')
    talk_seconds = models.FloatField(default=0.0)
    turns = models.PositiveIntegerField(default=0)
    centroid = models.JSONField(default=list, blank=True, help_text="Mean voice embedding (256 floats)")

    class Meta:
        ordering = ["upload", "index"]
        constraints = [models.UniqueConstraint(fields=["upload", "label"], name="speaker_label_unique_per_upload")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name.strip() or f"Speaker {self.index + 1}"
