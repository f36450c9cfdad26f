"""Pure builders for the HLS ladder and its one-pass ffmpeg command (no I/O here).

One ffmpeg process decodes the source once, splits it, scales each rung and encodes every
rendition, with one shared audio rendition; keyframes are forced at one fixed interval so every
rendition cuts at the same times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ffmpeg

from .probe import guard_options, local_input

LIBX264 = "libx264"
NVENC = "h264_nvenc"


@dataclass(frozen=True)
class Rung:
    height: int
    video_kbps: int
    audio_kbps: int

    @property
    def maxrate_kbps(self) -> int:
        return self.video_kbps * 107 // 100  # Apple's HLS authoring spec: peak within ~10% of average

    @property
    def bufsize_kbps(self) -> int:
        return self.video_kbps * 3 // 2


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    rung: Rung

    @property
    def name(self) -> str:
        return f"{min(self.width, self.height)}p"


@dataclass(frozen=True)
class HlsJob:
    source: str
    out_dir: str
    renditions: tuple[Rendition, ...]
    has_audio: bool
    encoder: str = LIBX264
    preset: str = "veryfast"
    segment_seconds: int = 4
    fps: float | None = None
    gpu_scale: bool = False  # NVENC only: decode with CUDA and scale with scale_cuda
    audio_index: int = 0  # the audio stream (among audio streams) that is streamed: the default one
    max_pixels: int | None = None  # MEDIA_MAX_PIXELS


def parse_ladder(specs: Iterable[str]) -> tuple[Rung, ...]:
    """ "720:2800:128" -> Rung(720, 2800, 128); highest rung first."""
    rungs = []
    for spec in specs:
        height, video, audio = (int(part) for part in spec.split(":"))
        rungs.append(Rung(height=height, video_kbps=video, audio_kbps=audio))
    return tuple(sorted(rungs, key=lambda r: r.height, reverse=True))


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def plan_renditions(width: int, height: int, ladder: tuple[Rung, ...]) -> tuple[Rendition, ...]:
    """Rungs at or below the source's short side; portrait sources ladder on their short side."""
    short, long_ = min(width, height), max(width, height)
    rungs = [r for r in ladder if r.height <= short] or [_own_size_rung(short, ladder)]
    plans = []
    for rung in rungs:
        scaled_short, scaled_long = _even(rung.height), _even(long_ * rung.height / short)
        w, h = (scaled_long, scaled_short) if width >= height else (scaled_short, scaled_long)
        plans.append(Rendition(width=w, height=h, rung=rung))
    return tuple(plans)


def _own_size_rung(short: int, ladder: tuple[Rung, ...]) -> Rung:
    lowest = min(ladder, key=lambda r: r.height)
    kbps = max(100, lowest.video_kbps * short // lowest.height)
    return Rung(height=short, video_kbps=kbps, audio_kbps=lowest.audio_kbps)


def _encoder_options(job: HlsJob) -> dict[str, object]:
    if job.encoder == NVENC:
        return {"c:v": NVENC, "preset": "p4", "forced-idr": 1, "rc": "vbr"}
    return {"c:v": LIBX264, "preset": job.preset, "sc_threshold": 0, "x264-params": "open-gop=0"}


def build_hls_command(job: HlsJob) -> list[str]:
    gpu = job.gpu_scale and job.encoder == NVENC
    # Only the file itself, only an accepted container (see processing.media.probe).
    guard: dict[str, object] = {**guard_options()}
    if job.max_pixels:
        guard["max_pixels"] = job.max_pixels  # the decoder refuses larger frames instead of allocating them
    # Frames stay in GPU memory from the decoder through scale_cuda to NVENC.
    hwaccel = {"hwaccel": "cuda", "hwaccel_output_format": "cuda"} if gpu else {}
    source = ffmpeg.input(local_input(job.source), **guard, **hwaccel)
    video = source.video
    if job.fps:
        video = video.filter("fps", round(min(job.fps, 60.0), 3))
    split = video.filter_multi_output("split", len(job.renditions))
    scaler = "scale_cuda" if gpu else "scale"
    streams = [split[i].filter(scaler, r.width, r.height) for i, r in enumerate(job.renditions)]
    options: dict[str, object] = {
        "f": "hls",
        "force_key_frames": f"expr:gte(t,n_forced*{job.segment_seconds})",
        "hls_time": job.segment_seconds,
        "hls_playlist_type": "vod",
        "hls_segment_type": "fmp4",
        "hls_flags": "independent_segments",
        "hls_fmp4_init_filename": "init.mp4",
        "hls_segment_filename": f"{job.out_dir}/%v/seg_%05d.m4s",
        "master_pl_name": "master.m3u8",
        # Nothing of the source's tags (title, comment, location, handler names) reaches the output.
        "map_metadata": -1,
        "map_chapters": -1,
        **_encoder_options(job),
    }
    if not gpu:
        options["pix_fmt"] = "yuv420p"  # 8-bit 4:2:0: what every HLS player decodes
    stream_map = []
    for i, r in enumerate(job.renditions):
        options.update(
            {
                f"b:v:{i}": f"{r.rung.video_kbps}k",
                f"maxrate:v:{i}": f"{r.rung.maxrate_kbps}k",
                f"bufsize:v:{i}": f"{r.rung.bufsize_kbps}k",
            }
        )
        stream_map.append(f"v:{i},name:{r.name}" + (",agroup:audio" if job.has_audio else ""))
    outputs = list(streams)
    if job.has_audio:
        # One audio encode shared by every rendition, not one per rung.
        outputs.insert(0, source[f"a:{job.audio_index}"])
        audio_kbps = max(r.rung.audio_kbps for r in job.renditions)
        options.update({"c:a": "aac", "b:a": f"{audio_kbps}k", "ac": 2, "ar": 48000})
        stream_map.insert(0, "a:0,agroup:audio,name:audio")
    options["var_stream_map"] = " ".join(stream_map)
    out = ffmpeg.output(*outputs, f"{job.out_dir}/%v/index.m3u8", **options)
    args: list[str] = out.global_args("-hide_banner", "-nostats", "-progress", "pipe:1", "-y").compile()
    return args


def video_variants_first(master: str) -> str:
    """ffmpeg lists the shared audio rendition first, as an audio-only variant; players start with
    the first variant listed, so move audio-only variants after every video variant."""
    lines = master.splitlines()
    head: list[str] = []
    variants: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("#EXT-X-STREAM-INF") and i + 1 < len(lines):
            variants.append((lines[i], lines[i + 1]))
            i += 2
        else:
            if lines[i].strip():
                head.append(lines[i])
            i += 1
    ordered = sorted(variants, key=lambda v: "RESOLUTION=" not in v[0])  # stable: video keeps its order
    body = [line for variant in ordered for line in (*variant, "")]
    return "\n".join([*head, "", *body]).rstrip("\n") + "\n"
