"""What a file is, according to ffprobe (never the extension), and the guard every ffmpeg/ffprobe
run over an uploaded file uses.

Only the containers of ACCEPTED_FORMATS are opened, and only through the `file` protocol: ffmpeg's
playlist-like demuxers (hls, concat, ffconcat, image sequences, ...) open other files or URLs named
inside the file, so a 136-byte "x.mp4" could otherwise publish the frames of any file on the worker's
disk or make it fetch an http:// URL. The allow-list is passed to ffmpeg itself (`-format_whitelist`,
`-protocol_whitelist`), so it holds even where an earlier check is missed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .runner import MediaToolError, OutputTooLarge, plain_context, run_tool

# The media kinds, as UploadedFile.media_kind stores them (uploads.models.MediaKind's values).
AUDIO, VIDEO = "audio", "video"
# ffmpeg demuxer -> the suffix an upload is stored under. A demuxer's full name lists its aliases
# ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"); -format_whitelist matches any of them.
ACCEPTED_FORMATS: dict[str, str] = {
    "mov": ".mp4",  # mp4, mov, m4a, 3gp: phones, cameras, screen recorders, Zoom, Teams
    "matroska": ".mkv",  # mkv and webm: OBS, browsers' MediaRecorder
    "avi": ".avi",
    "mpegts": ".ts",  # broadcast and camcorder recordings
    "mpeg": ".mpg",  # MPEG program streams (DVD, older camcorders)
    "asf": ".asf",  # wmv, wma
    "ogg": ".ogg",  # ogg vorbis, opus, voice messages
    "wav": ".wav",  # IC recorders
    "mp3": ".mp3",
    "flac": ".flac",
    "aac": ".aac",  # raw ADTS
    "amr": ".amr",  # older phones' voice memos
}
AUDIO_SUFFIXES = {".mp4": ".m4a", ".mkv": ".mka"}
FORMAT_WHITELIST = ",".join(ACCEPTED_FORMATS)
# What our own HLS output is read back with: the playlists and their fMP4 segments.
OUTPUT_FORMAT_WHITELIST = "hls,mov"
# Codecs ffprobe reports for still images and cover art: a JPEG is not a video.
_STILL_CODECS = frozenset({"mjpeg", "png", "bmp", "gif", "webp", "tiff", "jpeg2000", "svg", "apng", "jpegls"})
_OVER_MAX_PIXELS = re.compile(r"Picture size (\d+)x(\d+) exceeds specified max pixel count")
_NOT_ON_WHITELIST = re.compile(r"\[(\w+) @ [^\]]*\] Format not on whitelist")
_DESCRIPTIONS = {
    "hls": "an HLS playlist",
    "concat": "a concat list",
    "ffconcat": "a concat list",
    "svg_pipe": "an SVG image",
    "png_pipe": "a PNG image",
    "jpeg_pipe": "a JPEG image",
    "gif": "a GIF image",
    "webp_pipe": "a WebP image",
    "image2": "an image",
    "tty": "a text file",
}
# The probe's JSON without tags is a few KB per stream; tags are counted against the metadata cap.
PROBE_OUTPUT_BASE = 256 * 1024
DEFAULT_METADATA_CAP = 16 * 1024**2  # when no Limits are given (our own output, tools)


class InvalidMedia(Exception):
    """The file is not audio or video that ffmpeg can read. Permanent: never retried."""


class LimitExceeded(InvalidMedia):
    """Readable media that is beyond a configured cap; the message names the cap and its setting."""


@dataclass(frozen=True)
class Limits:
    max_pixels: int  # MEDIA_MAX_PIXELS: width x height of the video
    max_fps: float  # MEDIA_MAX_FPS
    max_duration: float  # MEDIA_MAX_DURATION_SECONDS
    max_metadata_bytes: int  # MEDIA_MAX_METADATA_BYTES: all container and stream tags together
    probe_max_alloc: int = 128 * 1024**2  # MEDIA_PROBE_MAX_ALLOC_BYTES: ffprobe's largest single allocation


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # AUDIO or VIDEO
    duration: float
    has_audio: bool
    width: int | None = None  # display size, after rotation metadata is applied
    height: int | None = None
    fps: float | None = None
    format_name: str = ""  # the demuxer, e.g. "mov" or "matroska"
    audio_index: int = 0  # which audio stream (counted among audio streams) is heard, transcribed and streamed
    audio_tracks: int = 0
    audio_language: str = ""  # the chosen track's language tag, if any
    metadata_bytes: int = 0

    @property
    def suffix(self) -> str:
        """The suffix the upload is stored under, from the probed container, never the user's name."""
        suffix = ACCEPTED_FORMATS.get(self.format_name, "")
        return AUDIO_SUFFIXES.get(suffix, suffix) if self.kind == AUDIO else suffix


def guard_options(formats: str = FORMAT_WHITELIST) -> dict[str, str]:
    """The input options every ffmpeg/ffprobe/PyAV open of an uploaded file gets."""
    return {"protocol_whitelist": "file", "format_whitelist": formats}


def input_guard(formats: str = FORMAT_WHITELIST) -> list[str]:
    """guard_options as command-line arguments (before the `-i`)."""
    return [arg for key, value in guard_options(formats).items() for arg in (f"-{key}", value)]


def local_input(path: str) -> str:
    """A path ffmpeg reads as a plain file whatever its name ("a:b.mp4" is not a protocol)."""
    return path if path.startswith("file:") else f"file:{path}"


_ENTRIES = (
    "format=format_name,duration:format_tags"
    ":stream=index,codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate"
    ":stream_tags:stream_disposition=default,attached_pic:stream_side_data=rotation"
)


def probe_command(path: str, formats: str = FORMAT_WHITELIST, limits: Limits | None = None) -> list[str]:
    # ffprobe decodes a frame or two to complete what it reports; -max_pixels makes the decoder refuse
    # a frame over the cap instead of allocating it (16000x16000: 665 MB in ffprobe without it), and
    # -max_alloc refuses any single block over the cap (a 200 MB tag: 662 MB in ffprobe without it).
    caps = ["-max_alloc", str(limits.probe_max_alloc), "-max_pixels", str(limits.max_pixels)] if limits else []
    return [
        "ffprobe", "-v", "error", *caps, *input_guard(formats), "-print_format", "json", "-show_entries", _ENTRIES,
        local_input(path),
    ]  # fmt: skip


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


def _tag_bytes(tags: object) -> int:
    if not isinstance(tags, dict):
        return 0
    return sum(len(str(key).encode()) + len(str(value).encode()) for key, value in tags.items())


def chosen_audio(audio: list[dict[str, Any]]) -> int:
    """The audio stream a listener would get: the one marked default, else the first."""
    for position, stream in enumerate(audio):
        if stream.get("disposition", {}).get("default"):
            return position
    return 0


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
    fmt = data.get("format", {})
    format_name = str(fmt.get("format_name", "")).split(",")[0]
    duration = float(fmt.get("duration") or 0)
    metadata = _tag_bytes(fmt.get("tags")) + sum(_tag_bytes(s.get("tags")) for s in streams)
    if not audio and not video:
        stills = [s for s in streams if s.get("codec_type") == "video"]
        if stills:
            raise InvalidMedia(f"a still image ({stills[0].get('codec_name', 'unknown codec')}), not audio or video")
        raise InvalidMedia("ffprobe found no audio or video stream")
    if duration <= 0:
        raise InvalidMedia("the media has no duration: the file is empty or truncated")
    chosen = chosen_audio(audio)
    audio_fields: dict[str, Any] = {
        "has_audio": bool(audio),
        "audio_index": chosen,
        "audio_tracks": len(audio),
        "audio_language": str(audio[chosen].get("tags", {}).get("language", "")) if audio else "",
    }
    common = {"duration": duration, "format_name": format_name, "metadata_bytes": metadata, **audio_fields}
    if not video:
        return MediaInfo(kind=AUDIO, **common)
    stream = video[0]
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if width <= 0 or height <= 0:
        raise InvalidMedia("the video stream has no frame size: the file is damaged")
    if _rotation(stream) in (90, 270):
        width, height = height, width
    fps = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate"))
    return MediaInfo(kind=VIDEO, width=width, height=height, fps=fps, **common)


def check_limits(info: MediaInfo, limits: Limits) -> None:
    """Refuse media beyond the configured caps, naming the cap and the setting that raises it."""
    if info.duration > limits.max_duration:
        raise LimitExceeded(
            f"it lasts {_hours(info.duration)}; the limit is {_hours(limits.max_duration)} (MEDIA_MAX_DURATION_SECONDS)"
        )
    if info.width and info.height and info.width * info.height > limits.max_pixels:
        raise LimitExceeded(_pixels_message(info.width, info.height, limits.max_pixels))
    if info.fps and info.fps > limits.max_fps:
        raise LimitExceeded(f"it has {info.fps:.0f} frames per second; the limit is {limits.max_fps:g} (MEDIA_MAX_FPS)")
    if info.metadata_bytes > limits.max_metadata_bytes:
        raise LimitExceeded(_metadata_message(f"{info.metadata_bytes / 1024:.0f} KB", limits.max_metadata_bytes))


def _pixels_message(width: int, height: int, cap: int) -> str:
    return (
        f"its frames are {width}x{height} ({width * height / 1e6:.1f} megapixels); "
        f"the limit is {cap / 1e6:.1f} megapixels (MEDIA_MAX_PIXELS)"
    )


def _metadata_message(size: str, cap: int) -> str:
    return f"its metadata tags take {size}; the limit is {cap / 1024:.0f} KB (MEDIA_MAX_METADATA_BYTES)"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds:.0f} s"


def refused_format(line: str) -> str | None:
    """The demuxer ffmpeg detected but the allow-list refused, from its error line."""
    match = _NOT_ON_WHITELIST.search(line)
    return match.group(1) if match else None


def probe_file(path: str, limits: Limits | None = None, *, formats: str = FORMAT_WHITELIST) -> MediaInfo:
    """Probe an uploaded file: only accepted containers, only the file itself, the probe's output capped
    (its tags count against `limits.max_metadata_bytes`), and `limits` enforced when given."""
    metadata_cap = limits.max_metadata_bytes if limits else DEFAULT_METADATA_CAP
    command = probe_command(path, formats, limits)
    try:
        # JSON escaping can make a tag up to 6 times longer than its bytes.
        out = run_tool(command, timeout=60, max_output=PROBE_OUTPUT_BASE + 6 * metadata_cap)
    except OutputTooLarge as exc:
        raise LimitExceeded(_metadata_message(f"more than {metadata_cap / 1024:.0f} KB", metadata_cap)) from exc
    except MediaToolError as exc:
        demuxer = refused_format(exc.tail or exc.line)
        if demuxer is not None:
            kind = _DESCRIPTIONS.get(demuxer, f"in the {demuxer} format")
            raise InvalidMedia(f"the file is {kind}, which is not an accepted audio or video container") from exc
        oversize = _OVER_MAX_PIXELS.search(exc.tail or exc.line)
        if oversize is not None and limits is not None:
            width, height = int(oversize.group(1)), int(oversize.group(2))
            raise LimitExceeded(_pixels_message(width, height, limits.max_pixels)) from exc
        if limits is not None and "Cannot allocate memory" in (exc.tail or exc.line):
            raise LimitExceeded(
                f"reading it needs a block of memory over {limits.probe_max_alloc / 1024**2:.0f} MB, the probe's "
                "limit (MEDIA_PROBE_MAX_ALLOC_BYTES): it holds an oversized metadata tag or index"
            ) from exc
        raise InvalidMedia(f"ffmpeg cannot read it ({_without_paths(exc.line, path)})") from exc
    info = parse_probe(json.loads(out or "{}"))
    if info.format_name not in ACCEPTED_FORMATS and formats == FORMAT_WHITELIST:
        raise InvalidMedia(f"the {info.format_name or 'unknown'} format is not an accepted audio or video container")
    if limits is not None:
        check_limits(info, limits)
    return info


def probe_output(path: str) -> MediaInfo:
    """Probe a playlist this project wrote (HLS output), reading only its own local files."""
    return probe_file(path, formats=OUTPUT_FORMAT_WHITELIST)


def _without_paths(line: str, path: str) -> str:
    """ffmpeg's error line without the file's path: storage names and scratch folders stay in the log."""
    for name in (local_input(path), path):
        line = line.replace(f"{name}: ", "").replace(name, "the file")
    return plain_context(line)
