"""Which H.264 encoder really works here, decided by a trial encode, never by `ffmpeg -encoders`.

Debian's ffmpeg lists h264_nvenc on machines with no GPU; only an encode tells. The answer is
cached per worker process for HLS_ENCODER_PROBE_TTL seconds.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass

from .hls import NVENC, HlsJob, Rendition, Rung, build_hls_command
from .runner import MediaToolError, run_tool

# NVENC session-limit errors: the GPU is there but busy (consumer cards cap concurrent sessions).
BUSY_MARKERS = ("out of memory (10)", "incompatible client key (21)")


@dataclass(frozen=True)
class EncoderProbe:
    available: bool
    reason: str = ""  # the ffmpeg error line when unavailable
    busy: bool = False


def is_busy(reason: str) -> bool:
    return any(marker in reason for marker in BUSY_MARKERS)


def run_trial(encoder: str, *, gpu_scale: bool = False) -> EncoderProbe:
    """Encode a 256x256, 0.5 s clip with the very command builder the HLS stage uses (NVENC
    refuses frames below its minimum size, so the clip is not smaller)."""
    with tempfile.TemporaryDirectory(prefix="encoder-trial-") as work:
        source = os.path.join(work, "trial.mp4")
        run_tool(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=256x256:rate=30", "-t", "0.5",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", source],
            timeout=30,
        )  # fmt: skip
        rendition = Rendition(width=256, height=256, rung=Rung(height=256, video_kbps=500, audio_kbps=64))
        job = HlsJob(
            source=source, out_dir=os.path.join(work, "out"), renditions=(rendition,), has_audio=False,
            encoder=encoder, segment_seconds=1, fps=30.0, gpu_scale=gpu_scale,
        )  # fmt: skip
        os.makedirs(job.out_dir)
        try:
            run_tool(build_hls_command(job), timeout=60)
        except MediaToolError as exc:
            return EncoderProbe(available=False, reason=exc.line, busy=is_busy(exc.tail))
    return EncoderProbe(available=True)


def run_nvenc_trial() -> EncoderProbe:
    return run_trial(NVENC)


_lock = threading.Lock()
_cache: tuple[float, EncoderProbe] | None = None


def nvenc_probe(ttl: float) -> EncoderProbe:
    """The cached trial result; a busy answer is not cached, since busy means present."""
    global _cache
    with _lock:
        if _cache is not None and time.monotonic() - _cache[0] < ttl:
            return _cache[1]
        result = run_nvenc_trial()
        if not result.busy:
            _cache = (time.monotonic(), result)
        return result


def clear_cache() -> None:
    global _cache
    with _lock:
        _cache = None
