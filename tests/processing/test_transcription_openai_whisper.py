"""openai-whisper's load-and-decode path, on a tiny checkpoint with random weights that the test builds.

Random weights decode garbage, so only the structure is checked. Decoding is made cheap (one temperature,
no conditioning, 32 tokens per window) through the engine's DECODE_OPTIONS, as production keeps
whisper's defaults.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import torch
import whisper
from django.test import override_settings
from whisper.model import ModelDimensions, Whisper

from processing.media.samples import SAMPLE_SPEECH, speech_wav
from processing.transcription import backend_openai, engine
from processing.transcription.engine import TranscriptionConfigError, check_configuration, transcribe
from processing.transcription.windows import audio_windows

ENGLISH_ONLY_VOCABULARY = 51864  # 51865 would be the multilingual tokenizer
CHEAP_DECODING = {
    "temperature": 0.0,
    "condition_on_previous_text": False,
    "no_speech_threshold": None,
    "compression_ratio_threshold": None,
    "logprob_threshold": None,
    "sample_len": 32,
    # No timestamp tokens: whisper then always moves on by a whole window. With random weights a window
    # can end on the <|0.00|> timestamp, and whisper's loop would decode that window again, forever.
    "without_timestamps": True,
}


def openai_whisper(model: Path, **changes: Any) -> override_settings:
    settings = {
        "TRANSCRIPTION_ENGINE": "openai-whisper",
        "WHISPER_MODEL": str(model),
        "WHISPER_DEVICE": "cpu",
        "WHISPER_COMPUTE_TYPE": "default",
        "WHISPER_BEAM_SIZE": 1,
        "WHISPER_LANGUAGE": "en",
        "WHISPER_ALLOW_DOWNLOAD": False,
        "WHISPER_VAD": False,
        "WHISPER_WORD_TIMESTAMPS": True,
        "WHISPER_WINDOW_SECONDS": 600.0,
    }
    return override_settings(**{**settings, **changes})


def save_random_checkpoint(path: Path) -> Path:
    dims = ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=64,
        n_audio_head=2,
        n_audio_layer=1,
        n_vocab=ENGLISH_ONLY_VOCABULARY,
        n_text_ctx=448,
        n_text_state=64,
        n_text_head=2,
        n_text_layer=1,
    )
    torch.manual_seed(0)
    torch.save({"dims": asdict(dims), "model_state_dict": Whisper(dims).state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="module")
def english_checkpoint(checkpoints: Path) -> Path:
    return save_random_checkpoint(checkpoints / "random-tiny.en.pt")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "short.wav"
    speech_wav(str(path), "Welcome to the weekly operations meeting.")  # about 2.5 s
    return path


@pytest.fixture
def cheap_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CHEAP_DECODING.items():
        monkeypatch.setitem(backend_openai.DECODE_OPTIONS, key, value)


@pytest.fixture
def load_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = whisper.load_model

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(whisper, "load_model", spy)
    engine.clear_models()
    return calls


@pytest.mark.usefixtures("cheap_decoding")
def test_loads_a_checkpoint_and_decodes_a_file_object(
    english_checkpoint: Path, speech: Path, load_calls: list[str]
) -> None:
    progress: list[float] = []
    with openai_whisper(english_checkpoint), open(speech, "rb") as audio:
        result = transcribe(audio, on_progress=progress.append)
    assert load_calls == [str(english_checkpoint)]
    assert result.engine == "openai-whisper"
    assert result.model == str(english_checkpoint)
    assert result.language == "en"
    assert result.language_probability == 1.0
    assert 2 < result.duration < 5
    assert isinstance(result.segments, list)
    for segment in result.segments:
        assert segment["start"] <= segment["end"]
        assert isinstance(segment["text"], str)
        for word in segment.get("words", []):
            assert set(word) == {"start", "end", "word", "probability"}
            assert word["start"] <= word["end"]
    assert progress == sorted(progress)


@pytest.mark.usefixtures("cheap_decoding")
def test_a_warm_process_reuses_the_model_and_vad_clips_to_speech(
    english_checkpoint: Path, speech: Path, load_calls: list[str]
) -> None:
    with openai_whisper(english_checkpoint, WHISPER_WORD_TIMESTAMPS=False, WHISPER_LANGUAGE="auto"):
        plain = transcribe(str(speech))
        with override_settings(WHISPER_VAD=True):
            clipped = transcribe(str(speech))
    assert load_calls == [str(english_checkpoint)]
    assert plain.language == clipped.language == "en"  # English-only: no detection needed
    for segment in plain.segments + clipped.segments:
        assert "words" not in segment
        assert segment["start"] <= segment["end"]
    # The speech starts at once and lasts about 2.5 s: VAD clips decoding to it.
    assert all(segment["start"] < 3 for segment in clipped.segments)


def test_a_language_with_an_english_only_name_is_refused_before_loading(
    english_checkpoint: Path, load_calls: list[str]
) -> None:
    with openai_whisper(english_checkpoint, WHISPER_LANGUAGE="ja"):
        with pytest.raises(TranscriptionConfigError, match="WHISPER_LANGUAGE=ja needs a multilingual model"):
            check_configuration()
        with pytest.raises(TranscriptionConfigError, match="English-only"):
            transcribe("unused.wav")
    assert load_calls == []


def test_the_loaded_model_catches_an_english_only_model_its_name_hides(
    checkpoints: Path, speech: Path, load_calls: list[str]
) -> None:
    unnamed = save_random_checkpoint(checkpoints / "random-tiny.pt")
    with openai_whisper(unnamed, WHISPER_LANGUAGE="ja"):
        check_configuration()  # the name does not tell
        with pytest.raises(TranscriptionConfigError, match="English-only"):
            transcribe(str(speech))
    assert load_calls == [str(unnamed)]


def test_a_compute_type_openai_whisper_lacks_is_refused(english_checkpoint: Path) -> None:
    with (
        openai_whisper(english_checkpoint, WHISPER_COMPUTE_TYPE="int8"),
        pytest.raises(TranscriptionConfigError, match="WHISPER_COMPUTE_TYPE"),
    ):
        check_configuration()


def test_vad_clips_never_end_past_the_last_mel_frame(speech: Path) -> None:
    """Speech running to the end of the file: whisper would loop forever on a clip ending past its frames."""
    from faster_whisper.audio import decode_audio

    samples = decode_audio(str(speech), sampling_rate=16000)
    clips = backend_openai._speech_clips(samples)
    assert clips
    assert clips == sorted(clips)
    assert round(clips[-1] * 100) <= len(samples) // 160


@pytest.mark.usefixtures("cheap_decoding")
def test_long_audio_reaches_openai_whisper_in_windows_on_the_recordings_clock(
    english_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.wav"
    speech_wav(str(path), SAMPLE_SPEECH)  # about 20 s
    windows = list(audio_windows(str(path), 6))
    assert len(windows) >= 3
    calls: list[tuple[int, Any, list[dict[str, Any]]]] = []
    real = Whisper.transcribe

    def spy(model: Any, audio: Any, **kwargs: Any) -> Any:  # whisper's own decode, watched
        output = real(model, audio, **kwargs)
        calls.append((len(audio), kwargs.get("language"), output["segments"]))
        return output

    monkeypatch.setattr(Whisper, "transcribe", spy)
    with openai_whisper(english_checkpoint, WHISPER_WINDOW_SECONDS=6):
        result = transcribe(str(path))

    # One whisper call per window, with that window's samples and the language throughout.
    assert [(n, language) for n, language, _ in calls] == [(len(w.samples), "en") for w in windows]
    assert result.duration == pytest.approx(windows[-1].offset + windows[-1].duration)
    # Whatever each call decoded (random weights: maybe nothing) is in the result, moved by its window's offset.
    expected = [
        round(seg["start"] + window.offset, 3)
        for window, (_, _, segments) in zip(windows, calls, strict=True)
        for seg in segments
        if seg["text"].strip()
    ]
    assert [s["start"] for s in result.segments] == pytest.approx(expected, abs=0.002)
