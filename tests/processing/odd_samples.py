"""Generators of odd but real media for the bad-input matrix: hours of silence (written in well under
a second), several audio tracks with languages and one default, source tags to be stripped. Like
hostile_samples, each generator takes a destination folder and returns the path to upload."""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path

from tests.processing.hostile_samples import media_duration, run_ffmpeg

LANGUAGES = (
    "jpn", "eng", "fra", "deu", "spa", "ita", "por", "rus", "zho", "kor", "ara", "hin",
    "nld", "swe", "pol", "tur", "ces", "ell", "heb", "fin", "dan", "nor", "hun", "tha",
)  # fmt: skip


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
        run_ffmpeg(*encode, "-t", f"{seconds}", str(path))
        return path
    chunk = dest / "silence-chunk.opus"
    run_ffmpeg(*encode, "-t", "10", str(chunk))
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
    run_ffmpeg(*args, "-movflags", "+faststart", str(path), timeout=300)
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
    run_ffmpeg(*args, str(path))
    return path


def video_with_speech(dest: Path, speech: Path, *, name: str = "speech.mp4") -> Path:
    """An H.264 320x240 testsrc2 + AAC mp4 carrying `speech`'s first audio stream, as long as the speech."""
    seconds = media_duration(speech)
    path = dest / name
    run_ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=25:d={seconds}", "-i", str(speech),
        "-map", "0:v", "-map", "1:a:0", "-t", f"{seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
        "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path
