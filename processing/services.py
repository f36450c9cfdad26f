"""The stage services (the speakers stage's is processing.speakers.service.speakers_run). Each takes
an upload, does the work, and saves its results;
processing.stages decides what an exception means (retry, fail, skip). The engines get options
objects built here from settings (hls_options, media_limits, analysis and transcription options)."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage

from processing.state import ProgressRecorder, stage_progress
from uploads.models import UploadedFile

from .analysis.backends import analyze
from .analysis.configuration import options_from_settings as analysis_options
from .errors import NothingToDo
from .media.encode import MASTER, POSTER, HlsOptions, encode_hls
from .media.hls import parse_ladder
from .media.probe import Limits
from .speakers.service import speaker_names
from .storage import copy_to_local, delete_prefix, publish_dir
from .transcription.engine import transcribe

logger = logging.getLogger(__name__)

# What a recording without speech ends with: transcription succeeded, empty; analysis skipped.
NO_SPEECH = "no speech found"


def transcription_run(upload: UploadedFile) -> dict[str, Any]:
    if not upload.has_audio:
        raise NothingToDo("the file has no audio track: nothing to transcribe")
    progress = ProgressRecorder(upload.pk, "transcription", total_seconds=upload.duration or 0)
    with upload.file.open("rb") as audio:
        result = transcribe(audio, on_progress=progress, audio_stream=upload.audio_stream)
    upload.transcript_segments = result.segments
    upload.transcript_text = result.text
    upload.translation_segments = result.translation
    upload.language = result.language
    upload.language_probability = result.language_probability
    upload.transcription_engine, upload.transcription_model = result.engine, result.model
    upload.transcription_seconds = round(result.seconds, 3)
    upload.save(
        update_fields=[
            "transcript_segments", "transcript_text", "translation_segments", "language", "language_probability",
            "transcription_engine", "transcription_model", "transcription_seconds",
        ]
    )  # fmt: skip
    return {
        **({} if result.segments else {"note": NO_SPEECH}),
        "engine": result.engine,
        "segments": len(result.segments),
        "language": result.language,
        **({"translated_segments": len(result.translation)} if result.translation else {}),
        "rtf": round(result.seconds / result.duration, 3) if result.duration else None,
    }


def analysis_run(upload: UploadedFile) -> dict[str, Any]:
    """summarize_text, definition_issue and definition_solution through the configured backend,
    written in the transcript's language."""
    if not upload.transcript_text.strip():
        raise NothingToDo(NO_SPEECH)
    options = analysis_options()

    def progress(note: str, done: float) -> None:  # "chunk 2 of 5"; 99.9 at most until the stage succeeds
        stage_progress(upload.pk, "analysis", percent=min(99.9, 100.0 * done), note=note)

    result = analyze(
        upload.transcript_segments,
        language=upload.language,
        options=options,
        on_progress=progress,
        speakers=speaker_names(upload),
    )
    upload.summary = " ".join(item["text"] for item in result.summary)
    upload.summary_items = list(result.summary)
    upload.issues = list(result.issues)
    upload.solutions = list(result.solutions)
    upload.analysis_backend, upload.analysis_model, upload.analysis_meta = result.backend, result.model, result.meta
    upload.save(
        update_fields=[
            "summary", "summary_items", "issues", "solutions", "analysis_backend", "analysis_model", "analysis_meta",
        ]
    )  # fmt: skip
    return {
        "backend": result.backend,
        "summary_sentences": len(result.summary),
        "issues": len(result.issues),
        "solutions": len(result.solutions),
    }


def media_limits() -> Limits:
    """The caps on what an upload may be (README: MEDIA_MAX_*), checked at upload and on the worker."""
    return Limits(
        max_pixels=settings.MEDIA_MAX_PIXELS,
        max_fps=settings.MEDIA_MAX_FPS,
        max_duration=settings.MEDIA_MAX_DURATION_SECONDS,
        max_metadata_bytes=settings.MEDIA_MAX_METADATA_BYTES,
        probe_max_alloc=settings.MEDIA_PROBE_MAX_ALLOC_BYTES,
    )


def hls_options() -> HlsOptions:
    return HlsOptions(
        ladder=parse_ladder(settings.HLS_LADDER),
        encoder_mode=settings.HLS_ENCODER,
        preset=settings.HLS_X264_PRESET,
        segment_seconds=settings.HLS_SEGMENT_SECONDS,
        stall_seconds=settings.HLS_STALL_SECONDS,
        probe_ttl=settings.HLS_ENCODER_PROBE_TTL,
        limits=media_limits(),
    )


def hls_run(upload: UploadedFile) -> dict[str, Any]:
    """Encode in a private scratch folder, publish through the storage API under a fresh prefix,
    then point the upload at it and delete the previous set: a re-run replaces the output whole."""
    storage = default_storage
    stored_name = str(upload.file.name)
    progress = ProgressRecorder(upload.pk, "hls", total_seconds=upload.duration or 0)
    with tempfile.TemporaryDirectory(prefix=f"hls-{upload.pk}-") as work:
        source = os.path.join(work, "source" + os.path.splitext(stored_name)[1])
        copy_to_local(storage, stored_name, source)
        result = encode_hls(
            source,
            work,
            hls_options(),
            segments=upload.transcript_segments,
            language=upload.language,
            translation=upload.translation_segments,
            names=speaker_names(upload),
            on_progress=progress,
        )
        prefix = f"hls/{upload.pk}/{uuid.uuid4().hex[:12]}"
        publish_dir(storage, result.out_dir, prefix)
        has_poster = result.has_poster
    old_prefix = os.path.dirname(upload.hls_master)
    upload.hls_master = f"{prefix}/{MASTER}"
    upload.hls_poster = f"{prefix}/{POSTER}" if has_poster else ""
    upload.hls_encoder = result.encoder
    upload.hls_fallback_reason = result.fallback_reason
    upload.save(update_fields=["hls_master", "hls_poster", "hls_encoder", "hls_fallback_reason"])
    if old_prefix and old_prefix != prefix:
        delete_prefix(storage, old_prefix)
    return {"master": upload.hls_master, "encoder": result.encoder, "renditions": result.renditions}
