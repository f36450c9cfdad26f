"""faster-whisper with the bundled tiny.en on generated speech, and the configuration checks.

Every test states the transcription settings it relies on, so a developer's .env cannot change them.
"""

from __future__ import annotations

import os
import re
import socket
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from processing.media.samples import SAMPLE_SPEECH, speech_wav
from processing.transcription import engine
from processing.transcription.engine import Transcript, TranscriptionConfigError, check_configuration, transcribe

SHORT_SPEECH = "Welcome to the weekly operations meeting."
FASTER_WHISPER = {
    "TRANSCRIPTION_ENGINE": "faster-whisper",
    "WHISPER_MODEL": "",
    "WHISPER_DEVICE": "cpu",
    "WHISPER_COMPUTE_TYPE": "default",
    "WHISPER_BEAM_SIZE": 5,
    "WHISPER_LANGUAGE": "auto",
    "WHISPER_ALLOW_DOWNLOAD": False,
    "WHISPER_VAD": False,
    "WHISPER_WORD_TIMESTAMPS": True,
    "WHISPER_WINDOW_SECONDS": 600.0,
    "WHISPER_MIN_WORD_PROBABILITY": 0.2,
}


def faster_whisper(**changes: Any) -> override_settings:
    return override_settings(**{**FASTER_WHISPER, **changes})


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def recall(spoken: str, heard: str) -> float:
    expected, got = Counter(words(spoken)), Counter(words(heard))
    return sum((expected & got).values()) / sum(expected.values())


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    speech_wav(str(path), SAMPLE_SPEECH)
    return path


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "short.wav"
    speech_wav(str(path), SHORT_SPEECH)
    return path


@pytest.fixture(scope="module")
def transcribed(speech: Path) -> tuple[Transcript, list[float]]:
    progress: list[float] = []
    with faster_whisper():
        result = transcribe(str(speech), on_progress=progress.append)
    return result, progress


def test_recalls_the_spoken_words(transcribed: tuple[Transcript, list[float]]) -> None:
    result, _ = transcribed
    assert recall(SAMPLE_SPEECH, result.text) >= 0.8, result.text
    assert result.engine == "faster-whisper"
    assert result.model == engine.default_model_path()
    assert result.language == "en"
    assert result.language_probability > 0
    assert 15 < result.duration < 40
    assert result.seconds > 0


def test_segments_are_ordered_spans_with_words(transcribed: tuple[Transcript, list[float]]) -> None:
    result, _ = transcribed
    assert result.segments
    for segment in result.segments:
        assert 0 <= segment["start"] < segment["end"] <= result.duration + 0.5
        assert type(segment["start"]) is float  # plain floats: the segments are stored as JSON
        assert segment["words"], segment
        for word in segment["words"]:
            assert set(word) == {"start", "end", "word", "probability"}
            assert segment["start"] - 0.5 <= word["start"] <= word["end"] <= segment["end"] + 0.5
            assert 0 <= word["probability"] <= 1
        assert "".join(w["word"] for w in segment["words"]).strip() == segment["text"]


def test_progress_is_reported_per_segment_in_increasing_order(transcribed: tuple[Transcript, list[float]]) -> None:
    result, progress = transcribed
    assert len(progress) >= len(result.segments) >= 2
    assert progress == sorted(progress)
    assert progress[0] < progress[-1] <= result.duration + 0.5


def test_a_file_object_works_and_words_can_be_turned_off(short_speech: Path) -> None:
    with faster_whisper(WHISPER_WORD_TIMESTAMPS=False), open(short_speech, "rb") as audio:
        result = transcribe(audio)
    assert recall(SHORT_SPEECH, result.text) >= 0.8, result.text
    assert all("words" not in segment for segment in result.segments)


def test_a_warm_process_loads_the_model_once(short_speech: Path) -> None:
    engine.clear_models()
    before = engine.load_count
    with faster_whisper():
        first = transcribe(str(short_speech))
        loaded = engine.load_count - before
        second = transcribe(str(short_speech))
    # The bundled tiny.en, and multilingual base that checks the language for an English-only model.
    assert loaded == 2
    assert engine.load_count - before == loaded  # the second call loads nothing
    assert first.text == second.text


def test_vad_on_still_transcribes(speech: Path) -> None:
    with faster_whisper(WHISPER_VAD=True):
        result = transcribe(str(speech))
    assert recall(SAMPLE_SPEECH, result.text) >= 0.8, result.text


def _silence(path: Path, samples: int) -> Path:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * samples)
    return path


# 480,160 samples: 30 s plus a 10 ms piece, which faster-whisper 1.2.1 aligns over zero frames.
@pytest.mark.parametrize("samples", [480_160, 120 * 16000], ids=["30.01s-one-frame-tail", "120s"])
def test_silence_without_vad_neither_crashes_nor_hallucinates(tmp_path: Path, samples: int) -> None:
    with faster_whisper(WHISPER_VAD=False):
        result = transcribe(str(_silence(tmp_path / "silence.wav", samples)))
    assert result.segments == []  # no IndexError, and no "You You You"


def test_without_the_filter_silence_is_heard_as_you(tmp_path: Path) -> None:
    # The filter is what removes them (so the test above could fail): Whisper itself writes "You".
    with faster_whisper(WHISPER_VAD=False, WHISPER_MIN_WORD_PROBABILITY=0.0):
        result = transcribe(str(_silence(tmp_path / "silence.wav", 120 * 16000)))
    assert result.segments
    assert {segment["text"] for segment in result.segments} <= {"You", "you", "You.", "."}


def test_vad_on_finds_no_speech_in_silence(tmp_path: Path) -> None:
    with faster_whisper(WHISPER_VAD=True, WHISPER_MIN_WORD_PROBABILITY=0.0):
        result = transcribe(str(_silence(tmp_path / "silence.wav", 600 * 16000 + 160)))
    assert result.segments == []


def test_a_language_needs_a_multilingual_model(short_speech: Path) -> None:
    before = engine.load_count
    with faster_whisper(WHISPER_LANGUAGE="ja"):
        with pytest.raises(TranscriptionConfigError, match="WHISPER_LANGUAGE=ja") as checked:
            check_configuration()
        with pytest.raises(TranscriptionConfigError) as transcribing:
            transcribe(str(short_speech))
    assert "English-only" in str(checked.value)
    assert str(transcribing.value) == str(checked.value)  # the stage fails with the start-up message
    assert engine.load_count == before


@pytest.mark.parametrize("language", ["auto", "", "en", "EN"])
def test_english_or_detection_suits_an_english_only_model(language: str) -> None:
    with faster_whisper(WHISPER_LANGUAGE=language):
        check_configuration()


def test_an_unknown_language_code_is_refused() -> None:
    with faster_whisper(WHISPER_LANGUAGE="klingon"), pytest.raises(TranscriptionConfigError, match="WHISPER_LANGUAGE"):
        check_configuration()


def test_an_unknown_window_language_choice_is_refused() -> None:
    with (
        faster_whisper(WHISPER_WINDOW_LANGUAGE="sometimes"),
        pytest.raises(
            TranscriptionConfigError, match="WHISPER_WINDOW_LANGUAGE='sometimes' is not a choice; use first or each"
        ),
    ):
        check_configuration()


def test_the_heap_limit_is_set_through_glibc_and_zero_leaves_it() -> None:
    from processing.transcription.backend_faster import limit_heap

    assert limit_heap(0) is False
    assert limit_heap(1024 * 1024) is True  # mallopt(M_MMAP_THRESHOLD) accepted (glibc)


def test_an_unknown_engine_is_named() -> None:
    with faster_whisper(TRANSCRIPTION_ENGINE="nope"):
        with pytest.raises(TranscriptionConfigError, match="TRANSCRIPTION_ENGINE='nope'"):
            check_configuration()
        with pytest.raises(TranscriptionConfigError, match="TRANSCRIPTION_ENGINE"):
            transcribe("unused.wav")


def test_a_missing_model_folder_is_refused(tmp_path: Path) -> None:
    with faster_whisper(WHISPER_MODEL=str(tmp_path / "missing")), pytest.raises(TranscriptionConfigError) as raised:
        check_configuration()
    assert "WHISPER_MODEL" in str(raised.value)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test on any connection or urlopen, and record the attempt in case something swallows it."""
    attempts: list[str] = []

    def refuse(*args: Any, **_: Any) -> Any:
        attempts.append(repr(args))
        raise AssertionError(f"network attempt: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    yield attempts
    assert attempts == []


def test_openai_whisper_without_local_weights_fails_fast_and_offline(tmp_path: Path, no_network: list[str]) -> None:
    import whisper  # imported before the clock starts: torch takes seconds to import

    assert whisper.available_models()
    root = tmp_path / "whisper-root"
    root.mkdir()
    settings = {"TRANSCRIPTION_ENGINE": "openai-whisper", "WHISPER_MODEL": "tiny", "WHISPER_DOWNLOAD_ROOT": str(root)}
    started = time.monotonic()
    with faster_whisper(**settings):
        with pytest.raises(TranscriptionConfigError) as checked:
            check_configuration()
        with pytest.raises(TranscriptionConfigError):
            transcribe("unused.wav")
    assert time.monotonic() - started < 2
    message = str(checked.value)
    for name in ("WHISPER_MODEL", "WHISPER_DOWNLOAD_ROOT", "WHISPER_ALLOW_DOWNLOAD", "tiny.pt", ".pt"):
        assert name in message
    assert os.listdir(root) == []


@pytest.mark.parametrize("model", ["", "bundled"])
def test_openai_whisper_cannot_load_a_ctranslate2_model(model: str) -> None:
    path = engine.default_model_path() if model == "bundled" else ""
    with (
        faster_whisper(TRANSCRIPTION_ENGINE="openai-whisper", WHISPER_MODEL=path),
        pytest.raises(TranscriptionConfigError, match=r"needs a \.pt checkpoint"),
    ):
        check_configuration()


def test_openai_whisper_refuses_an_unknown_name() -> None:
    with (
        faster_whisper(TRANSCRIPTION_ENGINE="openai-whisper", WHISPER_MODEL="tinyish"),
        pytest.raises(TranscriptionConfigError, match="WHISPER_MODEL='tinyish'"),
    ):
        check_configuration()
