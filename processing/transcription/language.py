"""An English-only model never turns other speech into an English-sounding transcript.

tiny.en transcribes Japanese as confident nonsense ("Be sure to subscribe to our channel...") and
reports language "en" with p = 1.0: it cannot tell. So before an English-only model transcribes
audio whose language was not declared (WHISPER_LANGUAGE=auto), the multilingual base model
(processing.assets) identifies the language of the first 30 s of speech, which costs
one encoder pass. Speech that is not English ends the stage with a message naming the language and
the setting to change; nothing is stored as a transcript.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from processing import assets
from processing.language_names import language_name

from .common import FASTER_WHISPER, ModelSpec, TranscriptionConfigError, TranscriptionOptions

DETECTOR = "base"  # the asset that identifies languages
ENGLISH = "en"
MIN_PROBABILITY = 0.5  # below this the detector is unsure, and the English-only model is let through
SAMPLE_RATE = 16000


class NotEnglish(TranscriptionConfigError):
    """The configured model knows English only and the recording is in another language."""


def detector_spec(options: TranscriptionOptions) -> ModelSpec:
    """The language-ID model: multilingual base, on the CPU in int8 (one encoder pass, ~0.1 s)."""
    try:
        folder = assets.model_folder(DETECTOR, options.models_dir or assets.default_cache_dir())
    except assets.AssetError as exc:
        raise TranscriptionConfigError(
            f"an English-only WHISPER_MODEL needs the multilingual {DETECTOR!r} model to check each recording's "
            f"language, and {exc}; or set WHISPER_LANGUAGE=en to declare every recording English"
        ) from exc
    return ModelSpec(model=str(folder), device="cpu", compute_type="int8", engine=FASTER_WHISPER)


def detect(detector: Any, samples: np.ndarray[Any, Any], *, vad: bool) -> tuple[str, float] | None:
    """(language, probability) of the first 30 s of speech in `samples`, or None without speech."""
    if vad:
        from faster_whisper.vad import collect_chunks, get_speech_timestamps  # loads Silero VAD: only here

        chunks = get_speech_timestamps(samples)
        if not chunks:
            return None
        samples = np.concatenate(collect_chunks(samples, chunks)[0])
    if len(samples) < SAMPLE_RATE // 2:
        return None
    language, probability, _ = detector.detect_language(samples[: 30 * SAMPLE_RATE])
    return str(language), float(probability)


def refuse_if_not_english(found: tuple[str, float] | None, options: TranscriptionOptions) -> None:
    if found is None:
        return
    language, probability = found
    if language != ENGLISH and probability >= MIN_PROBABILITY:
        model = options.model or "'' (the bundled tiny.en)"
        raise NotEnglish(
            f"the recording is in {_name(language)} ({language}, p={probability:.2f}) but WHISPER_MODEL={model} "
            f"knows English only, so nothing was transcribed: set WHISPER_MODEL=base (multilingual) and reprocess"
        )


def _name(code: str) -> str:
    return language_name(code) or code
