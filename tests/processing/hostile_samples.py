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
import subprocess
from pathlib import Path
from typing import Any

MARKER_COLOR = "magenta"
MARKER_RGB = (255, 0, 255)


def run_ffmpeg(*args: str, timeout: float = 120) -> None:
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
    run_ffmpeg(
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
    run_ffmpeg(
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
    run_ffmpeg(
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
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=160x120:r=10:d={seconds}", "-loop", "0", str(path))
    return path


def png_named_mp4(dest: Path, *, name: str = "image.mp4") -> Path:
    """A 320x240 PNG saved as an mp4; probed as png_pipe."""
    path = dest / name
    run_ffmpeg(
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
    run_ffmpeg(
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
        run_ffmpeg(
            "-f", "lavfi", "-i", f"color=c={MARKER_COLOR}:s=160x120:r=10:d=1", "-f", "ffmetadata", "-i", str(meta),
            "-map", "0:v", "-map_metadata", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            str(path), timeout=300,
        )  # fmt: skip
    finally:
        meta.unlink()
    return path
