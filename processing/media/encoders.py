"""Which H.264 encoder really works here, decided by a trial encode, never by `ffmpeg -encoders`.

Debian's ffmpeg lists h264_nvenc on machines with no GPU; only an encode tells. The answer is
cached per worker process for HLS_ENCODER_PROBE_TTL seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .hls import NVENC
from .runner import MediaToolError, run_tool

# NVENC session-limit errors: the GPU is there but busy (consumer cards cap concurrent sessions).
BUSY_MARKERS = ("out of memory (10)", "incompatible client key (21)")


@dataclass(frozen=True)
class EncoderProbe:
    available: bool
    reason: str = ""  # the ffmpeg error line when unavailable
    busy: bool = False


def nvenc_trial_command() -> list[str]:
    # The production flags on a 256x256, 0.5 s clip: NVENC refuses frames below its minimum size.
    return [
        "ffmpeg", "-hide_banner", "-nostats", "-f", "lavfi", "-i", "testsrc2=size=256x256:rate=30",
        "-t", "0.5", "-pix_fmt", "yuv420p", "-c:v", NVENC, "-preset", "p4", "-forced-idr", "1", "-rc", "vbr",
        "-f", "null", "-",
    ]  # fmt: skip


def is_busy(reason: str) -> bool:
    return any(marker in reason for marker in BUSY_MARKERS)


def run_nvenc_trial() -> EncoderProbe:
    try:
        run_tool(nvenc_trial_command(), timeout=30)
    except MediaToolError as exc:
        return EncoderProbe(available=False, reason=exc.line, busy=is_busy(exc.tail))
    return EncoderProbe(available=True)


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
