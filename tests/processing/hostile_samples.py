"""Generators of hostile or odd media files for the bad-input test matrix of the processing pipeline.

Each generator takes a destination folder (and parameters), writes the file(s) there with ffmpeg
(``ffmpeg -nostdin -v error -y ...``) or plain Python, and returns the path of the one file to upload.
Nothing binary is committed: every sample is made on the fly, each in under 15 s on a 2-core machine
(most well under 1 s; huge_frame_video 2-7 s, multi_audio_video with 20 s of speech and 20 tracks ~8 s).

What ffmpeg 5.1 (Debian 12) does with them, measured when this module was written:

* An HLS playlist saved as ``x.mp4`` is probed as ``hls`` whatever its name. Opened from local disk its
  ``file://`` entry **is read** (the protocol whitelist is ``file,crypto,data``), so it can pull any
  file on the worker's disk whose name has a media extension (``.mp4`` works; ``/etc/passwd`` is refused:
  "not in allowed_segment_extensions"). Its ``http://`` entry is refused from a local playlist, but
  fetched when the playlist itself is opened over http (a presigned URL): the whitelist then is
  ``http,https,tls,rtp,tcp,udp,crypto,httpproxy,data``, and ``file`` is refused.
* An ffconcat list is probed as ``concat``; its default ``safe=1`` refuses absolute paths and ``..`` but
  accepts plain relative ones (which resolve next to the list).
* ``marker_video`` is solid magenta so a test can tell by average colour (see ``average_rgb``) whether
  a derived output (HLS rendition, thumbnail) was made from it.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import Any

MARKER_COLOR = "magenta"
MARKER_RGB = (255, 0, 255)
LANGUAGES = (
    "jpn", "eng", "fra", "deu", "spa", "ita", "por", "rus", "zho", "kor", "ara", "hin",
    "nld", "swe", "pol", "tur", "ces", "ell", "heb", "fin", "dan", "nor", "hun", "tha",
)  # fmt: skip


def _ffmpeg(*args: str, timeout: float = 120) -> None:
    """Run ffmpeg quietly; raise with its stderr when it fails."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-4000:]}")


def ffprobe_json(path: Path, *args: str, timeout: float = 60) -> dict[str, Any]:
    """``ffprobe -show_format -show_streams`` (plus `args`) as a dict; raises when ffprobe refuses the file."""
    cmd = ["ffprobe", "-v", "error", "-show_format", "-show_streams", *args, "-of", "json", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffprobe failed ({done.returncode}) on {path}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def media_duration(path: Path) -> float:
    return float(ffprobe_json(path)["format"]["duration"])


def average_rgb(path: Path, *, at: float = 0.0) -> tuple[int, int, int]:
    """The average colour of the frame at `at` seconds of `path` (a video or an image)."""
    seek = ["-ss", f"{at}"] if at else []  # even -ss 0 makes the hls demuxer return no frame
    cmd = [
        "ffmpeg", "-nostdin", "-v", "error", *seek, "-i", str(path), "-frames:v", "1",
        "-vf", "scale=1:1:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    pixel = subprocess.run(cmd, capture_output=True, timeout=60, check=True).stdout
    if len(pixel) < 3:
        raise RuntimeError(f"no frame decoded from {path}")
    return pixel[0], pixel[1], pixel[2]


# --- playlists and lists that point elsewhere ------------------------------------------------------


def _hls_playlist(path: Path, uri: str, seconds: float) -> Path:
    lines = ["#EXTM3U", f"#EXT-X-TARGETDURATION:{math.ceil(seconds)}", f"#EXTINF:{seconds:.1f},", uri, "#EXT-X-ENDLIST"]
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def playlist_file_entry(dest: Path, target: Path, *, name: str = "x.mp4") -> Path:
    """An HLS playlist named like an mp4 whose one segment is ``file://<target>`` (absolute).

    ffprobe/ffmpeg read `target` when they open the playlist from local disk, if `target`'s name has a
    media extension (ffmpeg's allowed_segment_extensions); ``marker_video`` makes a fitting target."""
    return _hls_playlist(dest / name, f"file://{target.absolute().as_posix()}", 10.0)


def playlist_http_entry(dest: Path, url: str, *, name: str = "x.mp4") -> Path:
    """An HLS playlist whose one segment is `url` (e.g. ``http://127.0.0.1:PORT/secret.mp4``).

    Refused ("Protocol 'http' not on whitelist") when the playlist is opened from local disk; fetched
    when the playlist itself is opened over http."""
    return _hls_playlist(dest / name, url, 10.0)


_TS_PACKET = 188
_TS_NULL_PACKET = b"\x47\x1f\xff\x10" + b"\xff" * (_TS_PACKET - 4)


def playlist_data_uri(dest: Path, *, color: str = "cyan", name: str = "data.mp4") -> Path:
    """An HLS playlist whose one segment is a ``data:`` URI holding a 1-frame 32x32 MPEG-TS clip of `color`.

    ffmpeg 5.1 reads it, which took three tricks: the line must stay under hls.c's 4096-byte line buffer
    (longer lines are cut), the URI must end in ``.ts`` (allowed_segment_extensions; the base64 decoder
    stops at the padding ``=`` before it, so the clip's length must not be a multiple of 3), and the clip
    must be at least 11 x 204 bytes or mpegts loses the probe to mpegvideo ("detected format mpegvideo
    extension none mismatches allowed extensions"). Null TS packets pad it."""
    clip = dest / "data-segment.ts"
    _ffmpeg(
        "-f", "lavfi", "-i", f"color=c={color}:s=32x32:r=1", "-frames:v", "1",
        "-c:v", "mpeg2video", "-f", "mpegts", str(clip),
    )  # fmt: skip
    raw = clip.read_bytes()
    clip.unlink()
    while len(raw) < 11 * 204 or len(raw) % 3 == 0:
        raw += _TS_NULL_PACKET
    uri = f"data:video/mp2t;base64,{base64.b64encode(raw).decode('ascii')}.ts"
    if len(uri) >= 4000:
        raise RuntimeError(f"data URI of {len(uri)} characters would be cut by ffmpeg's 4096-byte HLS line buffer")
    return _hls_playlist(dest / name, uri, 1.0)


def concat_list(dest: Path, target: Path, *, name: str = "list.mp4") -> Path:
    """An ffconcat list naming `target`; probed as ``concat``. `target` is written as given: the demuxer's
    default ``safe=1`` refuses an absolute path or one with ``..`` ("Unsafe file name") but follows a plain
    relative one such as ``secret.mp4`` or ``sub/secret.mp4``, resolved next to the list."""
    quoted = str(target).replace("'", "'\\''")
    path = dest / name
    path.write_text(f"ffconcat version 1.0\nfile '{quoted}'\n")
    return path


def marker_video(dest: Path, seconds: float = 3, *, name: str = "secret.mp4") -> Path:
    """A small H.264 + AAC mp4, 320x240 solid magenta (MARKER_RGB) with an 880 Hz tone: the file on the
    worker's disk that a playlist must not be able to read."""
    path = dest / name
    _ffmpeg(
        "-f", "lavfi", "-i", f"color=c={MARKER_COLOR}:s=320x240:r=25:d={seconds}",
        "-f", "lavfi", "-i", f"sine=f=880:r=48000:d={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
        "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path


# --- documents dressed as media ---------------------------------------------------------------------


def html_page(dest: Path, *, name: str = "page.mp4") -> Path:
    """An HTML document with a <script>, named like an mp4; ffprobe refuses it ("moov atom not found")."""
    path = dest / name
    path.write_text(
        "<!DOCTYPE html>\n<html><head><title>not a video</title></head>\n"
        "<body><h1>not a video</h1><script>alert(document.domain)</script></body></html>\n"
    )
    return path


def svg_script(dest: Path, *, name: str = "pic.mp4") -> Path:
    """An SVG image with <script>alert(1)</script>, named like an mp4; ffprobe reads it as svg_pipe (codec
    svg, 64x64). The ``<?xml`` prolog matters: a bare ``<svg`` start is not probed as SVG."""
    path = dest / name
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        '<rect width="64" height="64" fill="magenta"/><script>alert(1)</script></svg>\n'
    )
    return path


HTML_PREFIX = b"<html><script>alert(document.domain)</script><!-- "


def html_mp3_polyglot(dest: Path, seconds: float = 3, *, name: str = "song.html") -> Path:
    """A file that starts with ``<html><script>alert(document.domain)</script>`` and that ffprobe still
    reads as mp3 (codec mp3, duration ~`seconds`): the HTML prefix, then a plain MP3 of a sine. The
    mp3 probe scores it 25 ("frames found further in") and the demuxer skips to the first frame."""
    mp3 = dest / "polyglot-audio.mp3"
    _ffmpeg(
        "-f", "lavfi", "-i", f"sine=f=440:r=44100:d={seconds}", "-ac", "1",
        "-c:a", "libmp3lame", "-b:a", "64k", "-id3v2_version", "0", str(mp3),
    )  # fmt: skip
    path = dest / name
    path.write_bytes(HTML_PREFIX + mp3.read_bytes())
    mp3.unlink()
    return path


# --- images ----------------------------------------------------------------------------------------


def gif(dest: Path, seconds: float = 2, *, name: str = "anim.gif") -> Path:
    """An animated GIF (160x120, 10 fps, looping), `seconds` long."""
    path = dest / name
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=160x120:r=10:d={seconds}", "-loop", "0", str(path))
    return path


def png_named_mp4(dest: Path, *, name: str = "image.mp4") -> Path:
    """A 320x240 PNG saved as an mp4; probed as png_pipe."""
    path = dest / name
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1", "-c:v", "png",
        "-f", "image2", "-update", "1", str(path),
    )  # fmt: skip
    return path


# --- resource exhaustion ---------------------------------------------------------------------------


def huge_frame_video(dest: Path, size: int = 16000, *, frames: int = 1, name: str = "huge.mp4") -> Path:
    """A `size` x `size` H.264 mp4 of `frames` solid frames: ~750 KB for one 16000x16000 frame.

    The colour source runs in -filter_complex, not as a lavfi input: as an input it costs 2.6 GB of RSS
    more (every frame is copied through a rawvideo packet). Generating costs ~1.5 GB RSS and 2-4 s."""
    path = dest / name
    _ffmpeg(
        "-filter_complex", f"color=c={MARKER_COLOR}:s={size}x{size}:r=1,format=yuv420p",
        "-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast", str(path),
    )  # fmt: skip
    return path


def big_metadata_mp4(dest: Path, tag_bytes: int = 200 * 1024**2, *, name: str = "bigmeta.mp4") -> Path:
    """A 1 s mp4 whose global ``comment`` tag is `tag_bytes` long (via an ffmetadata file: no command line
    holds it). Probing its format alone costs ffprobe ~3.3x `tag_bytes` of RSS."""
    meta = dest / "bigmeta.ffmetadata"
    chunk = b"A" * (16 * 1024**2)
    with meta.open("wb") as out:
        out.write(b";FFMETADATA1\ncomment=")
        left = tag_bytes
        while left > 0:
            out.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
        out.write(b"\n")
    path = dest / name
    try:
        _ffmpeg(
            "-f", "lavfi", "-i", f"color=c={MARKER_COLOR}:s=160x120:r=10:d=1", "-f", "ffmetadata", "-i", str(meta),
            "-map", "0:v", "-map_metadata", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            str(path), timeout=300,
        )  # fmt: skip
    finally:
        meta.unlink()
    return path


@dataclass(frozen=True)
class _OggPage:
    header_type: int
    granule: int
    serial: int
    lacing: bytes
    body: bytes


def _ogg_pages(data: bytes) -> Iterator[_OggPage]:
    offset = 0
    while offset < len(data):
        if data[offset : offset + 4] != b"OggS":
            raise ValueError(f"no Ogg page at byte {offset}")
        header_type, granule, serial = struct.unpack_from("<BqI", data, offset + 5)
        count = data[offset + 26]
        lacing = data[offset + 27 : offset + 27 + count]
        start = offset + 27 + count
        end = start + sum(lacing)
        yield _OggPage(header_type, granule, serial, lacing, data[start:end])
        offset = end


_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, init 0) from zlib's reflected one, on bit-reversed
    bytes: C speed, where a Python loop would take seconds for a 10-hour file."""
    reflected = zlib.crc32(page.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def _ogg_page_bytes(page: _OggPage, sequence: int) -> bytes:
    header = b"OggS" + struct.pack("<BBqIII", 0, page.header_type, page.granule, page.serial, sequence, 0)
    raw = header + bytes([len(page.lacing)]) + page.lacing + page.body
    return raw[:22] + struct.pack("<I", _ogg_crc(raw)) + raw[26:]


def silent_opus(dest: Path, seconds: float, *, bitrate: str = "6k", name: str = "silence.opus") -> Path:
    """Ogg Opus (mono, 48 kHz, libopus at `bitrate`) of digital silence, `seconds` long.

    Up to a minute is encoded directly. Longer is built like a 10-hour recording of nothing, but fast:
    libopus encodes 10 s, and one steady-state page (1 s of 20 ms silent packets) is repeated with fresh
    granule positions, sequence numbers and CRCs, the last page trimmed to the exact length. 36000 s
    gives ~13.6 MB in ~1 s; encoding it all takes ~290 s, and ``-stream_loop`` + ``-c copy`` ~10 s."""
    path = dest / name
    encode = ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-c:a", "libopus", "-b:a", bitrate]
    if seconds <= 60:
        _ffmpeg(*encode, "-t", f"{seconds}", str(path))
        return path
    chunk = dest / "silence-chunk.opus"
    _ffmpeg(*encode, "-t", "10", str(chunk))
    pages = list(_ogg_pages(chunk.read_bytes()))
    chunk.unlink()
    head, tags, steady, before = pages[0], pages[1], pages[len(pages) // 2], pages[len(pages) // 2 - 1]
    step = steady.granule - before.granule
    if not head.body.startswith(b"OpusHead") or steady.header_type != 0 or step <= 0 or steady.lacing[-1] == 255:
        raise RuntimeError("unexpected Ogg Opus layout from libopus; cannot repeat its pages")
    pre_skip = struct.unpack_from("<H", head.body, 10)[0]
    final = pre_skip + round(seconds * 48000)
    count = math.ceil(final / step)
    with path.open("wb") as out:
        out.write(_ogg_page_bytes(head, 0))
        out.write(_ogg_page_bytes(tags, 1))
        for index in range(1, count + 1):
            last = index == count
            page = _OggPage(
                header_type=0x04 if last else 0,
                granule=final if last else index * step,
                serial=steady.serial,
                lacing=steady.lacing,
                body=steady.body,
            )
            out.write(_ogg_page_bytes(page, index + 1))
    return path


def silent_wav(dest: Path, seconds: float, *, sample_rate: int = 16000, name: str = "silence.wav") -> Path:
    """A mono 16-bit PCM WAV of digital silence. The samples are a sparse hole (truncate), so even 10 hours
    (1.15 GB at 16 kHz) is written instantly; readers still see every zero byte."""
    data_bytes = round(seconds * sample_rate) * 2
    if data_bytes + 36 > 0xFFFFFFFF:
        raise ValueError(f"{seconds} s at {sample_rate} Hz does not fit a RIFF file's 32-bit sizes")
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    path = dest / name
    with path.open("wb") as out:
        out.write(header)
        out.truncate(len(header) + data_bytes)
    return path


# --- tracks and tags -------------------------------------------------------------------------------


def multi_audio_video(
    dest: Path,
    tracks: int,
    speech: Path | None = None,
    default_track: int = 0,
    *,
    speech_track: int | None = None,
    seconds: float = 3,
    tone_volume: float = 0.25,
    name: str = "tracks.mp4",
) -> Path:
    """An mp4: H.264 320x240 testsrc2 video and `tracks` mono AAC audio streams, audio stream i tagged
    ``language=LANGUAGES[i % len]`` and ``handler_name="<lang> track <i>"`` (the mp4 muxer drops a stream
    ``title``), the ``default`` disposition on
    `default_track` only. With `speech` (any file with an audio stream), audio stream `speech_track`
    (default: `default_track`) carries it and the video lasts as long; the others carry quiet sines of
    220 + 110*i Hz."""
    if tracks < 1 or not 0 <= default_track < tracks:
        raise ValueError(f"need 1+ tracks and 0 <= default_track < tracks, got {tracks}, {default_track}")
    speech_index = default_track if speech_track is None else speech_track
    inputs: list[str] = []
    if speech is not None:
        if not 0 <= speech_index < tracks:
            raise ValueError(f"speech_track {speech_index} is not one of the {tracks} tracks")
        seconds = media_duration(speech)
        inputs = ["-i", str(speech)]
    graph = [f"testsrc2=s=320x240:r=25:d={seconds}[v]"]
    for index in range(tracks):
        if speech is not None and index == speech_index:
            graph.append(f"[0:a:0]aresample=48000,aformat=channel_layouts=mono,atrim=0:{seconds}[a{index}]")
        else:
            graph.append(f"sine=f={220 + 110 * index}:r=48000:d={seconds},volume={tone_volume}[a{index}]")
    args = [*inputs, "-filter_complex", ";".join(graph), "-map", "[v]"]
    for index in range(tracks):
        args += ["-map", f"[a{index}]"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "48k"]
    for index, language in enumerate(islice(cycle(LANGUAGES), tracks)):
        args += [f"-metadata:s:a:{index}", f"language={language}"]
        args += [f"-metadata:s:a:{index}", f"handler_name={language} track {index}"]
        args += [f"-disposition:a:{index}", "default" if index == default_track else "0"]
    path = dest / name
    _ffmpeg(*args, "-movflags", "+faststart", str(path), timeout=300)
    return path


def tagged_video(dest: Path, tags: dict[str, str], *, seconds: float = 1, name: str = "tagged.mp4") -> Path:
    """A small H.264 + AAC mp4 with global metadata from `tags` (e.g. title, comment, location) and, for the
    key ``handler_name``, that handler name on every stream. Written with ``-movflags use_metadata_tags``
    so any string survives: without it ``location`` is kept only when it parses as ISO 6709 coordinates."""
    args = [
        "-f", "lavfi", "-i", f"color=c=teal:s=320x240:r=25:d={seconds}",
        "-f", "lavfi", "-i", f"sine=f=550:r=48000:d={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
        "-movflags", "+faststart+use_metadata_tags",
    ]  # fmt: skip
    for key, value in tags.items():
        if key == "handler_name":
            args += ["-metadata:s", f"handler_name={value}"]
        else:
            args += ["-metadata", f"{key}={value}"]
    path = dest / name
    _ffmpeg(*args, str(path))
    return path


def video_with_speech(dest: Path, speech: Path, *, name: str = "speech.mp4") -> Path:
    """An H.264 320x240 testsrc2 + AAC mp4 carrying `speech`'s first audio stream, as long as the speech."""
    seconds = media_duration(speech)
    path = dest / name
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=25:d={seconds}", "-i", str(speech),
        "-map", "0:v", "-map", "1:a:0", "-t", f"{seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
        "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path
