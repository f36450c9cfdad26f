"""Types shared by both engines: the error, the model key, the transcript and the segment shape."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

FASTER_WHISPER = "faster-whisper"
OPENAI_WHISPER = "openai-whisper"
ENGINES = (FASTER_WHISPER, OPENAI_WHISPER)

ProgressCallback = Callable[[float], None]
FIRST_WINDOW, EACH_WINDOW = "first", "each"  # WHISPER_WINDOW_LANGUAGE
WINDOW_LANGUAGES = (FIRST_WINDOW, EACH_WINDOW)


class TranscriptionConfigError(Exception):
    """The configured engine, model, device or language cannot work. Permanent: never retried."""


@dataclass(frozen=True)
class TranscriptionOptions:
    """Every transcription setting, read once (configuration.options_from_settings) and handed down:
    the engines and backends never read django.conf.settings themselves."""

    engine: str = FASTER_WHISPER  # TRANSCRIPTION_ENGINE, as configured (checked by engine_setting)
    model: str = ""  # WHISPER_MODEL; empty = the bundled tiny.en; "base"/"tiny.en" = an assembled asset
    device: str = "auto"  # WHISPER_DEVICE
    compute_type: str = "default"  # WHISPER_COMPUTE_TYPE
    beam_size: int = 5  # WHISPER_BEAM_SIZE
    language: str = "auto"  # WHISPER_LANGUAGE
    allow_download: bool = False  # WHISPER_ALLOW_DOWNLOAD
    vad: bool = True  # WHISPER_VAD
    window_seconds: float = 600.0  # WHISPER_WINDOW_SECONDS
    word_timestamps: bool = True  # WHISPER_WORD_TIMESTAMPS
    min_word_probability: float = 0.2  # WHISPER_MIN_WORD_PROBABILITY
    download_root: str = ""  # WHISPER_DOWNLOAD_ROOT
    models_dir: str = ""  # WHISPER_MODELS_DIR: where processing.assets puts ready models
    window_language: str = EACH_WINDOW  # WHISPER_WINDOW_LANGUAGE: first | each
    mmap_threshold: int = 0  # WHISPER_MALLOC_MMAP_THRESHOLD: bytes, set when faster-whisper loads a model
    translate: bool = False  # WHISPER_TRANSLATE: an English translation beside a transcript in another language

    @property
    def language_code(self) -> str | None:
        """WHISPER_LANGUAGE as both engines take it: None lets the model detect the language."""
        language = str(self.language or "").strip().lower()
        return None if language in ("", "auto") else language


@dataclass(frozen=True)
class ModelSpec:
    """What identifies one loaded model in a process (the cache key)."""

    model: str
    device: str
    compute_type: str
    engine: str = FASTER_WHISPER


@dataclass
class Transcript:
    segments: list[dict[str, Any]] = field(default_factory=list)
    translation: list[dict[str, Any]] = field(default_factory=list)  # English segments (WHISPER_TRANSLATE)
    language: str = ""  # the language spoken longest; a segment in another one carries its own "language"
    language_probability: float = 0.0
    duration: float = 0.0
    engine: str = ""
    model: str = ""  # the resolved name or path (the bundled tiny.en folder when WHISPER_MODEL is empty)
    seconds: float = 0.0  # wall time of the transcribe() call, a first call's model load included

    @property
    def text(self) -> str:
        return " ".join(s["text"] for s in self.segments).strip()


def word_dict(start: float, end: float, word: str, probability: float) -> dict[str, Any]:
    # The word keeps Whisper's leading space, so that joining the words gives the segment's text back.
    return {
        "start": round(float(start), 3),
        "end": round(float(end), 3),
        "word": str(word),
        "probability": round(float(probability), 4),
    }


def segment_dict(start: float, end: float, text: str, words: Iterable[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Our segment shape, or None for a segment without text (nothing to show or analyse)."""
    text = text.strip()
    if not text:
        return None
    # float(): the engines give numpy floats, and the segments are stored as JSON.
    segment: dict[str, Any] = {"start": round(float(start), 3), "end": round(float(end), 3), "text": text}
    if words is not None:
        segment["words"] = list(words)
    return segment


def shift_segment(segment: dict[str, Any], offset: float) -> dict[str, Any]:
    """A window's segment with its times (and its words' times) moved `offset` seconds later."""
    if not offset:
        return segment
    moved = {**segment, "start": round(segment["start"] + offset, 3), "end": round(segment["end"] + offset, 3)}
    if "words" in segment:
        moved["words"] = [
            {**word, "start": round(word["start"] + offset, 3), "end": round(word["end"] + offset, 3)}
            for word in segment["words"]
        ]
    return moved
