"""What a file is, according to ffprobe (never the extension)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from uploads.models import MediaKind

from .runner import MediaToolError, run_tool

# Codecs ffprobe reports for still images and cover art: a JPEG is not a video.
_STILL_CODECS = frozenset({"mjpeg", "png", "bmp", "gif", "webp", "tiff"})


class InvalidMedia(Exception):
    """The file is not audio or video that ffmpeg can read. Permanent: never retried."""


@dataclass(frozen=True)
class MediaInfo:
    kind: MediaKind
    duration: float
    has_audio: bool
    width: int | None = None  # display size, after rotation metadata is applied
    height: int | None = None
    fps: float | None = None


def probe_command(path: str) -> list[str]:
    return ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path]


def _rotation(stream: dict[str, Any]) -> int:
    rotate = stream.get("tags", {}).get("rotate")
    if rotate is not None:
        return int(float(rotate)) % 360
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(float(side["rotation"])) % 360
    return 0


def _rate(text: str | None) -> float | None:
    if not text or "/" not in text:
        return None
    num, den = text.split("/", 1)
    return float(num) / float(den) if float(den) else None


def parse_probe(data: dict[str, Any]) -> MediaInfo:
    streams = data.get("streams", [])
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    video = [
        s
        for s in streams
        if s.get("codec_type") == "video"
        and s.get("codec_name") not in _STILL_CODECS
        and not s.get("disposition", {}).get("attached_pic")
    ]
    duration = float(data.get("format", {}).get("duration") or 0)
    if not audio and not video:
        raise InvalidMedia("not an audio or video file: ffprobe found no audio or video stream")
    if duration <= 0:
        raise InvalidMedia("the media has no duration: the file is empty or truncated")
    if not video:
        return MediaInfo(kind=MediaKind.AUDIO, duration=duration, has_audio=True)
    stream = video[0]
    width, height = int(stream["width"]), int(stream["height"])
    if _rotation(stream) in (90, 270):
        width, height = height, width
    fps = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate"))
    return MediaInfo(
        kind=MediaKind.VIDEO, duration=duration, has_audio=bool(audio), width=width, height=height, fps=fps
    )


def probe_file(path: str) -> MediaInfo:
    try:
        out = run_tool(probe_command(path), timeout=60)
    except MediaToolError as exc:
        raise InvalidMedia(f"not a readable audio or video file: {exc.line}") from exc
    return parse_probe(json.loads(out or "{}"))
