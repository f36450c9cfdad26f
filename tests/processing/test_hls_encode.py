"""Real one-pass HLS encodes of small generated clips: every URI resolves, every rendition has the
planned size and the source's duration, keyframes line up across renditions, subtitles parse."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from processing.media.encode import MASTER, POSTER, HlsOptions, encode_hls
from processing.media.hls import LIBX264, parse_ladder, plan_renditions
from processing.media.probe import probe_file, probe_output
from tests.processing.test_subtitles import parse_webvtt

LADDER = parse_ladder(["480:900:96", "360:600:64", "240:300:64"])
OPTIONS = HlsOptions(ladder=LADDER, encoder_mode="libx264", preset="ultrafast", segment_seconds=1)
SEGMENTS = [
    {"start": 0.0, "end": 1.2, "text": "First we look at the problem."},
    {"start": 1.2, "end": 2.8, "text": "Then we fix it & ship <today>."},
]

CLIPS: dict[str, list[str]] = {
    "landscape": ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440"],
    "portrait": ["-f", "lavfi", "-i", "testsrc2=size=360x640:rate=25", "-f", "lavfi", "-i", "sine=frequency=440"],
    # 4:4:4 lets x264 store an odd size; the pipeline must still produce even 4:2:0 renditions.
    "odd-size": [
        "-f", "lavfi", "-i", "testsrc2=size=853x479:rate=25", "-f", "lavfi", "-i", "sine", "-pix_fmt", "yuv444p",
    ],
    "no-audio": ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-an"],
    # 30 fps for the first second, then every third frame: timestamps with variable gaps.
    "variable-frame-rate": [
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine",
        "-vf", "select='if(lt(n,30),1,not(mod(n,3)))'", "-fps_mode", "vfr",
    ],
    "rotated": ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine"],
}  # fmt: skip


def _make_clip(path: Path, args: list[str]) -> None:
    encoded = path.with_suffix(".raw.mp4") if "rotated" in path.name else path
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *args, "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", str(encoded)],
        check=True,
    )
    if encoded != path:
        # Rotation metadata as phones write it: a display matrix on a landscape-coded stream.
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-i",
                str(encoded),
                "-c",
                "copy",
                "-metadata:s:v:0",
                "rotate=90",
                str(path),
            ],
            check=True,
        )


def _uris(playlist: Path) -> list[str]:
    text = playlist.read_text()
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    return uris + re.findall(r'URI="([^"]+)"', text)


def _keyframe_times(playlist: Path) -> list[float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey",
         "-show_entries", "frame=pts_time", "-of", "json", str(playlist)],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    return [round(float(f["pts_time"]), 2) for f in json.loads(out)["frames"]]


@pytest.mark.parametrize("name", list(CLIPS))
def test_one_pass_ladder_is_complete_and_aligned(name: str, tmp_path: Path) -> None:
    source = tmp_path / f"{name}.mp4"
    _make_clip(source, CLIPS[name])
    info = probe_file(str(source))
    assert info.width is not None
    assert info.height is not None

    result = encode_hls(str(source), str(tmp_path / "work"), OPTIONS, segments=SEGMENTS, language="en")

    out = Path(result.out_dir)
    assert result.encoder == LIBX264
    # Every URI in the master and in every media playlist resolves to a file.
    master = out / MASTER
    for uri in _uris(master):
        assert (out / uri).is_file(), uri
        if uri.endswith(".m3u8"):
            for child in _uris(out / uri):
                assert (out / uri).parent.joinpath(child).is_file(), child
    # Each rendition has its planned (even) size and the source's duration.
    plans = plan_renditions(info.width, info.height, LADDER)
    assert result.renditions == len(plans)
    keyframes = []
    for plan in plans:
        playlist = out / plan.name / "index.m3u8"
        rendition = probe_output(str(playlist))
        assert (rendition.width, rendition.height) == (plan.width, plan.height)
        assert plan.width % 2 == 0
        assert plan.height % 2 == 0
        assert rendition.duration == pytest.approx(info.duration, abs=0.5)
        keyframes.append(_keyframe_times(playlist))
    # Keyframes are forced at one interval, so every rendition cuts at the same times.
    assert all(times == keyframes[0] for times in keyframes)
    assert len(keyframes[0]) >= 3
    # Audio is encoded once and shared: one audio rendition, or none for a silent source.
    master_text = master.read_text()
    assert master_text.count("TYPE=AUDIO") == (1 if info.has_audio else 0)
    # The transcript is a subtitle rendition of every variant, and its cues are the transcript's.
    assert master_text.count('TYPE=SUBTITLES,GROUP-ID="subs"') == 1
    assert 'LANGUAGE="en"' in master_text
    stream_infs = [line for line in master_text.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert all(line.endswith('SUBTITLES="subs"') for line in stream_infs)
    cues = parse_webvtt((out / "subs" / "subtitles.vtt").read_text())
    assert cues == [(s["start"], s["end"], s["text"]) for s in SEGMENTS]
    assert (out / POSTER).stat().st_size > 0


def test_rotation_metadata_is_applied_to_the_ladder(tmp_path: Path) -> None:
    source = tmp_path / "rotated.mp4"
    _make_clip(source, CLIPS["rotated"])
    info = probe_file(str(source))
    assert (info.width, info.height) == (360, 640)  # displayed portrait
    result = encode_hls(str(source), str(tmp_path / "work"), OPTIONS)
    rendition = probe_output(str(Path(result.out_dir) / "360p" / "index.m3u8"))
    assert (rendition.width, rendition.height) == (360, 640)
    assert not result.subtitles


def _mean_luma(image: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "lavfi", "-i", f"movie={image},signalstats",
         "-show_entries", "frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    return float(out.strip().splitlines()[0])


def test_poster_is_not_the_black_first_frame(tmp_path: Path) -> None:
    # Given a clip that fades in from black over its first second,
    source = tmp_path / "fade.mp4"
    _make_clip(source, [*CLIPS["landscape"], "-vf", "fade=t=in:st=0:d=1"])
    first_frame = tmp_path / "first.jpg"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), "-frames:v", "1", str(first_frame)], check=True)

    result = encode_hls(str(source), str(tmp_path / "work"), OPTIONS)

    assert _mean_luma(first_frame) < 20
    assert _mean_luma(Path(result.out_dir) / POSTER) > 60


def test_a_translation_is_a_second_subtitle_track_in_english(tmp_path: Path) -> None:
    source = tmp_path / "ja.mp4"
    _make_clip(source, CLIPS["landscape"])
    japanese = [{"start": 0.0, "end": 2.5, "text": "本日の会議では、配送の遅れについて話し合います。"}]
    english = [{"start": 0.0, "end": 2.5, "text": "Today we discuss the delivery delays."}]

    result = encode_hls(
        str(source), str(tmp_path / "work"), OPTIONS, segments=japanese, language="ja", translation=english
    )

    out = Path(result.out_dir)
    master = (out / MASTER).read_text()
    renditions = [line for line in master.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")]
    assert len(renditions) == 2
    assert 'NAME="Japanese",LANGUAGE="ja",DEFAULT=YES' in renditions[0]
    assert renditions[0].endswith('URI="subs/index.m3u8"')
    assert 'NAME="English (translated)",LANGUAGE="en",DEFAULT=NO' in renditions[1]
    assert renditions[1].endswith('URI="subs/translation-en.m3u8"')
    for uri in _uris(out / MASTER):  # both tracks' playlists resolve, each to its own WebVTT file
        assert (out / uri).is_file(), uri
    assert "translation-en.vtt" in (out / "subs" / "translation-en.m3u8").read_text()
    (cue,) = parse_webvtt((out / "subs" / "subtitles.vtt").read_text())
    assert (cue[0], cue[1], cue[2].replace("\n", "")) == (0.0, 2.5, japanese[0]["text"])  # 2 lines of <= 18
    assert parse_webvtt((out / "subs" / "translation-en.vtt").read_text()) == [(0.0, 2.5, english[0]["text"])]
