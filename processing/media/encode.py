"""One HLS job on local files: choose the encoder, encode the ladder in one ffmpeg run, fall back
to libx264 when NVENC fails, check the result, add subtitles and a poster. No Django, no DB."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .encoders import nvenc_probe
from .hls import LIBX264, NVENC, HlsJob, Rung, build_hls_command, plan_renditions, video_variants_first
from .probe import InvalidMedia, Limits, MediaInfo, input_guard, local_input, probe_file, probe_output
from .runner import MediaToolError, run_ffmpeg, run_tool
from .subtitles import add_subtitles_to_master, language_name, subtitle_playlist, to_webvtt

logger = logging.getLogger(__name__)

# A published HLS set must play for as long as its source, within this many seconds.
DURATION_TOLERANCE = 0.5
MASTER = "master.m3u8"
POSTER = "poster.jpg"
TRANSLATION, TRANSLATION_NAME = "translation-en", "English (translated)"  # the WHISPER_TRANSLATE track


@dataclass(frozen=True)
class HlsOptions:
    ladder: tuple[Rung, ...]
    encoder_mode: str = "auto"  # auto | nvenc | libx264
    preset: str = "veryfast"
    segment_seconds: int = 4
    stall_seconds: float = 120
    probe_ttl: float = 600
    limits: Limits | None = None  # the upload caps, checked again on the worker's copy


@dataclass(frozen=True)
class HlsResult:
    out_dir: str
    encoder: str
    fallback_reason: str
    renditions: int
    duration: float
    subtitles: bool

    @property
    def has_poster(self) -> bool:
        return os.path.exists(os.path.join(self.out_dir, POSTER))


def _attempts(options: HlsOptions) -> tuple[list[tuple[str, bool]], str]:
    """(encoder, decode+scale on the GPU) in the order to try, and why NVENC is not tried."""
    cpu_only = [(LIBX264, False)]
    if options.encoder_mode == "libx264":
        return cpu_only, ""
    if options.encoder_mode == "auto":
        probe = nvenc_probe(options.probe_ttl)
        if not probe.available:
            return cpu_only, f"NVENC unavailable: {probe.reason}"
    return [(NVENC, True), (NVENC, False), *cpu_only], ""


def encode_hls(
    source: str,
    work_dir: str,
    options: HlsOptions,
    *,
    segments: list[dict[str, object]] | None = None,
    language: str = "",
    translation: list[dict[str, object]] | None = None,
    names: Mapping[str, str] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> HlsResult:
    """Encode `source` into `work_dir/<attempt>/`; only exit code 0 and a full-length result count.
    `segments` become the subtitle track in `language`, `translation` a second one in English; cues
    of a segment with a speaker are voice spans with the name `names` gives its label."""
    info = probe_file(source, options.limits)
    if info.width is None or info.height is None:
        raise InvalidMedia("no video stream to encode")
    attempts, reason = _attempts(options)
    for index, (encoder, gpu_scale) in enumerate(attempts):
        job = _job(source, os.path.join(work_dir, f"out-{index}"), info, options, encoder, gpu_scale)
        try:
            _encode(job, info.duration, options.stall_seconds, on_progress)
        except MediaToolError as exc:
            if encoder == LIBX264:
                raise
            reason = f"NVENC failed: {exc.line}"
            logger.warning("HLS %s (gpu_scale=%s) failed, trying the next encoder: %s", encoder, gpu_scale, exc.line)
            continue
        has_subs = bool(segments)
        if segments:
            _write_subtitles(job.out_dir, segments, language, info.duration, translation or [], names or {})
        try:
            make_poster(source, os.path.join(job.out_dir, POSTER), info.duration)
        except MediaToolError as exc:
            logger.warning("HLS poster not made: %s", exc.line)  # the stream is still good without one
        return HlsResult(
            out_dir=job.out_dir,
            encoder=encoder,
            fallback_reason="" if encoder == NVENC else reason,
            renditions=len(job.renditions),
            duration=info.duration,
            subtitles=has_subs,
        )
    raise AssertionError("unreachable: the libx264 attempt either returns or raises")


def _job(source: str, out_dir: str, info: MediaInfo, options: HlsOptions, encoder: str, gpu_scale: bool) -> HlsJob:
    assert info.width is not None
    assert info.height is not None
    return HlsJob(
        source=source,
        out_dir=out_dir,
        renditions=plan_renditions(info.width, info.height, options.ladder),
        has_audio=info.has_audio,
        encoder=encoder,
        preset=options.preset,
        segment_seconds=options.segment_seconds,
        fps=info.fps,
        gpu_scale=gpu_scale,
        audio_index=info.audio_index,
        max_pixels=options.limits.max_pixels if options.limits else None,
    )


def _encode(job: HlsJob, expected: float, stall_seconds: float, on_progress: Callable[[float], None] | None) -> None:
    os.makedirs(job.out_dir)
    run_ffmpeg(build_hls_command(job), on_progress=on_progress, stall_seconds=stall_seconds)
    master = os.path.join(job.out_dir, MASTER)
    with open(master, encoding="utf-8") as fh:
        text = video_variants_first(fh.read())
    with open(master, "w", encoding="utf-8") as fh:
        fh.write(text)
    duration = probe_output(master).duration
    if abs(duration - expected) > DURATION_TOLERANCE:
        raise MediaToolError(
            f"HLS output lasts {duration:.2f} s but the source lasts {expected:.2f} s: "
            "the source is probably truncated or damaged; re-export it and upload again"
        )


def _write_subtitles(
    out_dir: str,
    segments: list[dict[str, object]],
    language: str,
    duration: float,
    translation: list[dict[str, object]],
    names: Mapping[str, str],
) -> None:
    """subs/subtitles.vtt in the recording's language (the default track) and, with a translation,
    subs/translation-en.vtt, each with its one-segment playlist, both in the master's "subs" group."""
    os.makedirs(os.path.join(out_dir, "subs"))
    tracks = [("subtitles", segments, language or "und", language_name(language))]
    if translation:
        tracks.append((TRANSLATION, translation, "en", TRANSLATION_NAME))
    master_path = os.path.join(out_dir, MASTER)
    with open(master_path, encoding="utf-8") as fh:
        master = fh.read()
    for stem, track, code, name in tracks:
        playlist = "index.m3u8" if stem == "subtitles" else f"{stem}.m3u8"
        with open(os.path.join(out_dir, "subs", f"{stem}.vtt"), "w", encoding="utf-8") as fh:
            fh.write(to_webvtt(track, names))
        with open(os.path.join(out_dir, "subs", playlist), "w", encoding="utf-8") as fh:
            fh.write(subtitle_playlist(duration, f"{stem}.vtt"))
        master = add_subtitles_to_master(master, uri=f"subs/{playlist}", language=code, name=name)
    with open(master_path, "w", encoding="utf-8") as fh:
        fh.write(master)


def poster_command(source: str, dest: str, duration: float, *, keyframes_only: bool = True) -> list[str]:
    # Seek a tenth in (past fades from black and title cards), then let the thumbnail filter pick
    # the most representative of the next frames. Keyframes only is ~3x cheaper (0.40 -> 0.14 s for
    # 60 s of 720p here, most of the stage's own overhead); a short clip may have no keyframe after
    # the seek point, and then every frame is decoded.
    seek = f"{min(duration * 0.1, 30.0):.3f}"
    skip, frames = (["-skip_frame", "nokey"], 8) if keyframes_only else ([], 60)
    return [
        "ffmpeg", "-v", "error", "-y", *input_guard(), *skip, "-ss", seek, "-i", local_input(source),
        "-map", "0:V:0", "-vf", f"thumbnail={frames},scale=-2:'min(720,ih)'", "-frames:v", "1", "-q:v", "3",
        "-map_metadata", "-1", dest,
    ]  # fmt: skip


def make_poster(source: str, dest: str, duration: float) -> None:
    for keyframes_only in (True, False):
        run_tool(poster_command(source, dest, duration, keyframes_only=keyframes_only), timeout=120)
        if os.path.exists(dest) and os.path.getsize(dest) > 0:
            return
    raise MediaToolError("ffmpeg wrote no poster frame")
