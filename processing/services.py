"""The three stage services. Each takes an upload, does the work, and saves its results;
processing.stages decides what an exception means (retry, fail, skip)."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage

from uploads.models import UploadedFile

from .analysis import definition_issue, definition_solution, summarize_text
from .media.encoders import nvenc_probe
from .media.hls import LIBX264, NVENC, HlsJob, build_hls_command, parse_ladder, plan_renditions
from .media.probe import InvalidMedia, probe_file
from .media.runner import MediaToolError, run_ffmpeg
from .media.storage import copy_to_local, delete_prefix, publish_dir
from .transcription.engine import transcribe

logger = logging.getLogger(__name__)

# A published HLS set must play for as long as its source, within this many seconds.
HLS_DURATION_TOLERANCE = 0.5


class NothingToDo(Exception):
    """The stage has no input to work on (e.g. no speech); it ends skipped with this reason."""


def transcription_run(upload: UploadedFile) -> dict[str, Any]:
    if not upload.has_audio:
        raise NothingToDo("the file has no audio track: nothing to transcribe")
    with upload.file.open("rb") as audio:
        result = transcribe(audio)
    upload.transcript_segments = result.segments
    upload.transcript_text = result.text
    upload.language = result.language
    upload.save(update_fields=["transcript_segments", "transcript_text", "language"])
    return {"segments": len(result.segments), "language": result.language, "duration": result.duration}


def analysis_run(upload: UploadedFile) -> dict[str, Any]:
    segments = upload.transcript_segments
    if not upload.transcript_text.strip():
        raise NothingToDo("the transcript is empty: no speech was found")
    summary = summarize_text(segments, language=upload.language, max_sentences=settings.ANALYSIS_SUMMARY_SENTENCES)
    upload.summary = " ".join(item["text"] for item in summary)
    upload.issues = list(definition_issue(segments, language=upload.language))
    upload.solutions = list(definition_solution(segments, language=upload.language))
    upload.save(update_fields=["summary", "issues", "solutions"])
    return {"summary_sentences": len(summary), "issues": len(upload.issues), "solutions": len(upload.solutions)}


@dataclass(frozen=True)
class EncoderChoice:
    encoder: str
    fallback_reason: str = ""


def choose_encoder() -> EncoderChoice:
    mode = settings.HLS_ENCODER
    if mode == "libx264":
        return EncoderChoice(LIBX264)
    if mode == "nvenc":
        return EncoderChoice(NVENC)  # forced: the job itself is the trial, and falls back on failure
    probe = nvenc_probe(settings.HLS_ENCODER_PROBE_TTL)
    return EncoderChoice(NVENC) if probe.available else EncoderChoice(LIBX264, f"NVENC unavailable: {probe.reason}")


def _encode(job: HlsJob, *, expected_duration: float) -> None:
    """Encode into a fresh folder; only exit code 0 and a full-length result count as done."""
    os.makedirs(job.out_dir)
    run_ffmpeg(build_hls_command(job))
    duration = probe_file(os.path.join(job.out_dir, "master.m3u8")).duration
    if abs(duration - expected_duration) > HLS_DURATION_TOLERANCE:
        raise MediaToolError(
            f"HLS output lasts {duration:.2f} s but the source lasts {expected_duration:.2f} s: "
            "the source is probably truncated or damaged; re-export it and upload again"
        )


def hls_run(upload: UploadedFile) -> dict[str, Any]:
    storage = default_storage
    stored_name = str(upload.file.name)
    with tempfile.TemporaryDirectory(prefix=f"hls-{upload.pk}-") as work:
        source = os.path.join(work, "source" + os.path.splitext(stored_name)[1])
        copy_to_local(storage, stored_name, source)
        info = probe_file(source)
        if info.width is None or info.height is None:
            raise InvalidMedia("no video stream to encode")
        choice = choose_encoder()
        job = HlsJob(
            source=source,
            out_dir=os.path.join(work, "out"),
            renditions=plan_renditions(info.width, info.height, parse_ladder(settings.HLS_LADDER)),
            has_audio=info.has_audio,
            encoder=choice.encoder,
            preset=settings.HLS_X264_PRESET,
            segment_seconds=settings.HLS_SEGMENT_SECONDS,
            fps=info.fps,
        )
        try:
            _encode(job, expected_duration=info.duration)
        except MediaToolError as exc:
            if job.encoder != NVENC:
                raise
            logger.warning("NVENC failed, falling back to libx264 uploaded_file_id: %s: %s", upload.pk, exc.line)
            choice = EncoderChoice(LIBX264, f"NVENC failed: {exc.line}")
            job = replace(job, encoder=LIBX264, out_dir=os.path.join(work, "out-x264"))
            _encode(job, expected_duration=info.duration)
        prefix = f"hls/{upload.pk}/{uuid.uuid4().hex[:12]}"
        publish_dir(storage, job.out_dir, prefix)
    old_prefix = os.path.dirname(upload.hls_master)
    upload.hls_master = f"{prefix}/master.m3u8"
    upload.hls_encoder = choice.encoder
    upload.hls_fallback_reason = choice.fallback_reason
    upload.save(update_fields=["hls_master", "hls_encoder", "hls_fallback_reason"])
    if old_prefix and old_prefix != prefix:
        delete_prefix(storage, old_prefix)  # a re-run replaces the earlier set whole
    return {"master": upload.hls_master, "encoder": choice.encoder, "renditions": len(job.renditions)}
