"""Long recordings in windows: the decoded stream is cut at quiet points into windows that hold every
sample once, and a windowed transcription with the real tiny.en matches one call over the whole file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from processing.media.samples import SAMPLE_SPEECH, speech_wav
from processing.transcription.engine import Transcript, transcribe
from processing.transcription.windows import QUIET_FRAME, SAMPLE_RATE, audio_windows, quietest_cut
from tests.processing.test_transcription import faster_whisper, recall, words

TONE_SECONDS, GAP_SECONDS = 6, 1  # the gated tone: 6 s of sound, then 1 s of silence, over and over


@pytest.fixture(scope="module")
def gated_tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """95 s of a 440 Hz tone silenced for the last second of every 7, in AAC (decoded, resampled)."""
    path = tmp_path_factory.mktemp("windows") / "gated.m4a"
    period = TONE_SECONDS + GAP_SECONDS
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=95",
         "-af", f"volume='if(lt(mod(t,{period}),{TONE_SECONDS}),1,0)':eval=frame", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 80 s of speech: the sample text four times, with espeak's pauses between sentences."""
    path = tmp_path_factory.mktemp("windows") / "long.wav"
    speech_wav(str(path), " ".join([SAMPLE_SPEECH] * 4))
    return path


def test_windows_hold_every_sample_once_and_cut_in_the_gaps(gated_tone: Path) -> None:
    whole = decode_audio(str(gated_tone), sampling_rate=SAMPLE_RATE)
    windows = list(audio_windows(str(gated_tone), 30))

    assert np.array_equal(np.concatenate([w.samples for w in windows]), whole)
    assert [w.offset for w in windows] == pytest.approx(np.cumsum([0] + [w.duration for w in windows[:-1]]))
    assert len(windows) >= 3
    for window in windows[:-1]:
        # Cut in the last 15 s (half of a 30 s window) before 30 s, at the latest silent frame there.
        assert 15 <= window.duration <= 30
        end = window.offset + window.duration
        assert TONE_SECONDS <= end % (TONE_SECONDS + GAP_SECONDS) < TONE_SECONDS + GAP_SECONDS, end
        assert float(np.abs(window.samples[-QUIET_FRAME // 2 :]).max()) < 0.01  # silence up to the cut
    assert windows[-1].duration <= 45


def test_a_recording_that_fits_is_one_window_of_the_samples_the_engines_decode(gated_tone: Path) -> None:
    whole = decode_audio(str(gated_tone), sampling_rate=SAMPLE_RATE)
    for window_seconds in (0, 600):
        with gated_tone.open("rb") as fh:  # a file object, as the stage passes the storage's file
            windows = list(audio_windows(fh, window_seconds))
        assert len(windows) == 1
        assert windows[0].offset == 0
        assert np.array_equal(windows[0].samples, whole)


def test_audio_without_samples_is_one_empty_window(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=sample_rate=16000", "-t", "0", str(path)], check=True
    )
    windows = list(audio_windows(str(path), 30))
    assert [(w.offset, len(w.samples)) for w in windows] == [(0.0, 0)]


def test_quietest_cut_takes_the_latest_of_equally_quiet_frames() -> None:
    loud = np.full(QUIET_FRAME, 10_000, dtype=np.int16)
    quiet = np.zeros(QUIET_FRAME, dtype=np.int16)
    samples = np.concatenate([loud, quiet, loud, quiet, loud, np.full(QUIET_FRAME, 50, dtype=np.int16)])
    assert quietest_cut(samples, 0, 5 * QUIET_FRAME) == 3 * QUIET_FRAME + QUIET_FRAME // 2
    # Any sound at all is louder than silence, even when it comes later.
    assert quietest_cut(samples, 4 * QUIET_FRAME, 6 * QUIET_FRAME) == 5 * QUIET_FRAME + QUIET_FRAME // 2


def _transcribe(path: Path, window_seconds: float) -> tuple[Transcript, list[float]]:
    progress: list[float] = []
    with faster_whisper(WHISPER_WINDOW_SECONDS=window_seconds):
        return transcribe(str(path), on_progress=progress.append), progress


def test_a_windowed_transcription_matches_one_call_over_the_whole_file(long_speech: Path) -> None:
    windows = list(audio_windows(str(long_speech), 25))
    assert len(windows) >= 3
    whole, _ = _transcribe(long_speech, 0)
    windowed, progress = _transcribe(long_speech, 25)

    assert windowed.duration == pytest.approx(whole.duration, abs=0.01)
    assert windowed.language == "en"
    assert recall(" ".join([SAMPLE_SPEECH] * 4), windowed.text) >= 0.8, windowed.text
    # The same words, give or take a few at the cuts.
    assert recall(whole.text, windowed.text) >= 0.9, (whole.text, windowed.text)
    assert abs(len(words(windowed.text)) - len(words(whole.text))) <= 0.1 * len(words(whole.text))
    # Cut as finely: no run of sentences merged into one long segment (a prompted window did that).
    longest = max(s["end"] - s["start"] for s in whole.segments)
    assert max(s["end"] - s["start"] for s in windowed.segments) <= longest + 2, windowed.segments
    assert abs(len(windowed.segments) - len(whole.segments)) <= 2

    # Times are on the recording's clock: in order, within it, and every later window has text past its start.
    starts = [s["start"] for s in windowed.segments]
    assert starts == sorted(starts)
    assert all(0 <= s["start"] <= s["end"] <= windowed.duration + 0.5 for s in windowed.segments)
    for segment in windowed.segments:
        assert all(segment["start"] - 0.5 <= w["start"] <= w["end"] <= segment["end"] + 0.5 for w in segment["words"])
    for window in windows[1:]:
        assert any(window.offset <= s["start"] < window.offset + window.duration for s in windowed.segments), window
    assert progress == sorted(progress)
    assert progress[-1] > windows[-1].offset
