"""probe, runner and encoder probe: pure parsing plus small real ffmpeg/ffprobe runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from processing.media import encoders
from processing.media.probe import InvalidMedia, parse_probe, probe_file
from processing.media.runner import MediaToolError, StalledError, error_line, run_ffmpeg
from uploads.models import MediaKind


def _video_stream(**extra: object) -> dict[str, object]:
    return {
        "codec_type": "video",
        "codec_name": "h264",
        "width": 1920,
        "height": 1080,
        "avg_frame_rate": "30/1",
        **extra,
    }


def test_parse_probe_video_with_audio() -> None:
    info = parse_probe({"format": {"duration": "12.5"}, "streams": [_video_stream(), {"codec_type": "audio"}]})
    assert info.kind == MediaKind.VIDEO
    assert (info.width, info.height, info.fps, info.has_audio, info.duration) == (1920, 1080, 30.0, True, 12.5)


def test_parse_probe_swaps_size_for_rotation_metadata() -> None:
    stream = _video_stream(side_data_list=[{"rotation": -90}])
    info = parse_probe({"format": {"duration": "3"}, "streams": [stream]})
    assert (info.width, info.height) == (1080, 1920)


def test_parse_probe_treats_cover_art_as_audio_only() -> None:
    cover = {"codec_type": "video", "codec_name": "mjpeg", "width": 500, "height": 500}
    info = parse_probe({"format": {"duration": "200"}, "streams": [{"codec_type": "audio"}, cover]})
    assert info.kind == MediaKind.AUDIO


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": {"duration": "1"}, "streams": []}, "no audio or video stream"),
        (
            {"format": {"duration": "1"}, "streams": [{"codec_type": "video", "codec_name": "png"}]},
            r"still image \(png\)",
        ),
        ({"format": {}, "streams": [{"codec_type": "audio"}]}, "no duration"),
    ],
)
def test_parse_probe_refuses_what_is_not_playable_media(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidMedia, match=message):
        parse_probe(data)


def test_probe_file_reads_a_real_clip(speech_video: Path) -> None:
    info = probe_file(str(speech_video))
    assert info.kind == MediaKind.VIDEO
    assert (info.width, info.height, info.has_audio) == (640, 360, True)
    assert info.duration > 5


def test_probe_file_refuses_a_text_file_named_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    with pytest.raises(InvalidMedia, match=r"ffmpeg cannot read it \(mov: moov atom not found\)"):
        probe_file(str(fake))


def test_run_ffmpeg_reports_progress_and_succeeds(tmp_path: Path) -> None:
    seen: list[float] = []
    run_ffmpeg(
        ["ffmpeg", "-nostats", "-progress", "pipe:1", "-f", "lavfi", "-i", "testsrc2=size=128x96:rate=25",
         "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-y", str(tmp_path / "out.mp4")],
        on_progress=seen.append,
    )  # fmt: skip
    assert seen
    assert seen == sorted(seen)
    assert seen[-1] == pytest.approx(2.0, abs=0.1)


def test_run_ffmpeg_raises_a_typed_error_with_the_telling_line(tmp_path: Path) -> None:
    with pytest.raises(MediaToolError) as caught:
        run_ffmpeg(
            ["ffmpeg", "-nostats", "-progress", "pipe:1", "-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"]
        )
    assert caught.value.returncode == 1
    assert "No such file or directory" in caught.value.line


def test_stall_guard_kills_an_ffmpeg_that_makes_no_progress(tmp_path: Path) -> None:
    # Given an ffmpeg whose input never delivers a byte (a FIFO nobody writes to: a hung mount),
    fifo = tmp_path / "stuck.fifo"
    os.mkfifo(fifo)
    marker = str(tmp_path / "stalled-out.mp4")
    with pytest.raises(StalledError, match="no progress for 2 s"):
        run_ffmpeg(["ffmpeg", "-nostats", "-progress", "pipe:1", "-i", str(fifo), "-y", marker], stall_seconds=2)
    leftover = subprocess.run(["pgrep", "-f", marker], capture_output=True, check=False)
    assert leftover.stdout == b""


def test_the_kept_error_is_the_first_line_that_explains_the_failure(tmp_path: Path) -> None:
    # Given a mapping mistake (every audio stream mapped, one listed in var_stream_map), after which
    # ffmpeg repeats "Cannot allocate memory" for every packet long past the stderr tail it keeps,
    from tests.processing.odd_samples import multi_audio_video

    source = multi_audio_video(tmp_path, 2, seconds=20)
    out = tmp_path / "out"
    with pytest.raises(MediaToolError) as caught:
        run_ffmpeg(
            ["ffmpeg", "-nostats", "-progress", "pipe:1", "-y", "-i", str(source), "-map", "0:a", "-map", "0:v",
             "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "hls",
             "-var_stream_map", "a:0,agroup:audio v:0,agroup:audio",
             "-hls_segment_filename", f"{out}/%v/s%d.m4s", f"{out}/%v/index.m3u8"]
        )  # fmt: skip
    # then the message is the cause, not the consequence.
    assert "Unable to find mapping variant stream" in caught.value.line, caught.value.tail


def test_error_line_prefers_the_line_naming_the_error() -> None:
    stderr = "Input #0, lavfi\n[h264_nvenc @ 0x1] Cannot load libcuda.so.1\nConversion failed!\n"
    assert error_line(stderr) == "[h264_nvenc @ 0x1] Cannot load libcuda.so.1"


def test_nvenc_trial_decides_availability_and_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    encoders.clear_cache()
    first = encoders.nvenc_probe(ttl=600)
    if not first.available:
        # Debian's ffmpeg lists h264_nvenc here, yet the trial encode tells the truth.
        assert any(s in first.reason for s in ("libcuda", "CUDA", "nvenc", "No capable devices", "unsupported device"))
    calls: list[int] = []

    def counted_trial() -> encoders.EncoderProbe:
        calls.append(1)
        return first

    monkeypatch.setattr(encoders, "run_nvenc_trial", counted_trial)
    assert encoders.nvenc_probe(ttl=600) == first
    assert calls == []


def test_busy_nvenc_is_not_cached_as_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    encoders.clear_cache()
    busy = encoders.EncoderProbe(available=False, reason="OpenEncodeSessionEx failed: out of memory (10)", busy=True)
    calls: list[int] = []

    def counted_trial() -> encoders.EncoderProbe:
        calls.append(1)
        return busy

    monkeypatch.setattr(encoders, "run_nvenc_trial", counted_trial)
    encoders.nvenc_probe(ttl=600)
    encoders.nvenc_probe(ttl=600)
    assert len(calls) == 2
    assert encoders.is_busy("OpenEncodeSessionEx failed: incompatible client key (21)")
    encoders.clear_cache()
