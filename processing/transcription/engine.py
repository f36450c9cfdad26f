"""Transcription with one model per worker process, loaded after fork, for either engine.

TRANSCRIPTION_ENGINE picks faster-whisper (CTranslate2, the default, with the bundled offline tiny.en)
or openai-whisper (PyTorch .pt checkpoints). A CTranslate2 model built before fork() hangs in the child
(CTranslate2#539), and a CUDA context does not survive fork either, so the model is loaded lazily on first
use inside the process that runs the task, then reused by every later task of that process.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import IO, Any

from . import backend_faster, backend_openai
from .common import (
    EACH_WINDOW,
    OPENAI_WHISPER,
    ModelSpec,
    ProgressCallback,
    Transcript,
    TranscriptionConfigError,
    TranscriptionOptions,
    shift_segment,
)
from .configuration import check_configuration, check_loaded_model, check_spec, options_from_settings, resolve_spec
from .language import ENGLISH, MIN_PROBABILITY, detect, detector_spec, refuse_if_not_english
from .windows import Window, audio_windows

__all__ = [
    "ModelSpec",
    "Transcript",
    "TranscriptionConfigError",
    "TranscriptionOptions",
    "check_configuration",
    "clear_models",
    "default_model_path",
    "get_model",
    "options_from_settings",
    "resolve_spec",
    "transcribe",
]

logger = logging.getLogger(__name__)

default_model_path = backend_faster.default_model_path

_lock = threading.Lock()
_models: dict[ModelSpec, Any] = {}
load_count = 0  # read by tests: a warm process loads nothing


def get_model(spec: ModelSpec, options: TranscriptionOptions | None = None) -> Any:
    """The process's model for `spec`, loaded on first use (under a lock: one load even with threads)."""
    options = options or options_from_settings()
    global load_count
    with _lock:
        if spec not in _models:
            started = time.monotonic()
            backend = backend_openai if spec.engine == OPENAI_WHISPER else backend_faster
            _models[spec] = backend.load(spec, options)
            load_count += 1
            logger.info(
                "Whisper model loaded engine=%s model=%s device=%s compute_type=%s (%.1f s)",
                spec.engine,
                spec.model,
                spec.device,
                spec.compute_type,
                time.monotonic() - started,
            )
        return _models[spec]


def clear_models() -> None:
    """Forget the loaded models (tests; a settings change in a long-lived process). load_count is kept."""
    with _lock:
        _models.clear()


def _forward_only(on_progress: ProgressCallback | None) -> ProgressCallback | None:
    """Progress never goes backwards (openai-whisper's word timing can end a segment before the previous
    one), and is still reported once per segment."""
    if on_progress is None:
        return None
    furthest = 0.0

    def report(seconds: float) -> None:
        nonlocal furthest
        furthest = max(furthest, seconds)
        on_progress(furthest)

    return report


def _from(offset: float, on_progress: ProgressCallback | None, share: float = 1.0) -> ProgressCallback | None:
    """A window's progress (seconds into the window) as seconds into the recording. With translation,
    each pass over a window counts for its `share` of the window."""
    if on_progress is None:
        return None
    return lambda seconds: on_progress(offset + seconds * share)


def _run(
    spec: ModelSpec,
    model: Any,
    samples: Any,
    options: TranscriptionOptions,
    *,
    language: str | None,
    on_progress: ProgressCallback | None,
    task: str = "transcribe",
) -> Transcript:
    if spec.engine == OPENAI_WHISPER:
        return backend_openai.run(model, samples, spec, options, language=language, on_progress=on_progress, task=task)
    return backend_faster.run(model, samples, options, language=language, on_progress=on_progress, task=task)


def _window_language(
    spec: ModelSpec, model: Any, samples: Any, options: TranscriptionOptions, *, previous: str | None
) -> tuple[str, float] | None:
    """WHISPER_WINDOW_LANGUAGE=each: the language of this window's first 30 s of speech. A window the
    model is unsure of (p < MIN_PROBABILITY: music, noise, a few words) keeps the previous window's
    language rather than being transcribed as a guess; None lets the first window detect its own."""
    if spec.engine == OPENAI_WHISPER:
        found = backend_openai.detect_language(model, samples, spec)
    else:
        found = detect(model, samples, vad=options.vad)
    if found is None or found[1] < MIN_PROBABILITY:
        return (previous, found[1] if found else 0.0) if previous else None
    return found


def _translated(
    spec: ModelSpec,
    model: Any,
    window: Window,
    options: TranscriptionOptions,
    language: str,
    segments: list[dict[str, Any]],
    on_progress: ProgressCallback | None,
    share: float,
) -> list[dict[str, Any]]:
    """The window in English: Whisper's translation, or its own segments (without word times) when it is
    English already or has no speech."""
    if language == ENGLISH or not segments:
        if on_progress is not None:
            on_progress(window.offset + window.duration)
        return [{key: value for key, value in segment.items() if key != "words"} for segment in segments]
    translating = _from(window.offset + window.duration * share, on_progress, 1.0 - share)
    # Kept inside the window: the translation's own timestamps can run past the audio (see below),
    # and progress must not pass the recording's end (CI of stop 25: 15.34 s reported for 14.56 s).
    progress = None if translating is None else (lambda seconds: translating(min(seconds, window.duration)))
    part = _run(spec, model, window.samples, options, language=language, on_progress=progress, task="translate")
    english = [segment for segment in part.segments if _latin_script(segment["text"])]
    if len(english) < len(part.segments):
        # Whisper's translate task sometimes writes the source language instead (seen with base on
        # Japanese): such a segment is no translation, and the English track leaves it out.
        logger.warning("translation at %.1f s: %d of %d segments were not English, left out",
                       window.offset, len(part.segments) - len(english), len(part.segments))  # fmt: skip
    # Its timestamps are its own guesses, not the transcription's: a cue is kept inside the window and
    # never empty (base's translation of a Japanese passage once ended a segment past the audio).
    timed = [_within(segment, window.duration) for segment in english]
    return [shift_segment(segment, window.offset) for segment in timed if segment["start"] < segment["end"]]


def _within(segment: dict[str, Any], duration: float) -> dict[str, Any]:
    start, end = max(0.0, float(segment["start"])), min(float(segment["end"]), duration)
    return {**segment, "start": round(start, 3), "end": round(end, 3)}


def _latin_script(text: str) -> bool:
    """At least 80% of the letters are ASCII: English, and not the Japanese (or Chinese, Russian...)
    that the translate task can echo back. A Latin-script source echoed back is not caught."""
    letters = [char for char in text if char.isalpha()]
    return bool(letters) and sum(char.isascii() for char in letters) >= 0.8 * len(letters)


def _multilingual(spec: ModelSpec, model: Any) -> bool:
    backend = backend_openai if spec.engine == OPENAI_WHISPER else backend_faster
    return bool(backend.is_multilingual(model))


def transcribe(
    audio: str | IO[bytes],
    *,
    on_progress: ProgressCallback | None = None,
    audio_stream: int = 0,
    options: TranscriptionOptions | None = None,
) -> Transcript:
    """Transcribe a path or binary file object with the configured engine.

    The audio goes to the engine in windows of WHISPER_WINDOW_SECONDS cut at quiet points (see
    .windows), so memory stays bounded on long recordings; a recording that fits in one window is
    transcribed in one call. With WHISPER_WINDOW_LANGUAGE=first, later windows keep the language found
    in the first; with `each`, every window's language is identified again (see _window_language).
    Windows are not prompted with the text before them: with tiny.en that merged segments into 25 s
    runs and added a hallucinated line at a cut, where independent windows gave the same segmentation
    as one call. With WHISPER_TRANSLATE, each window that is not English is also translated to English
    (Whisper's task=translate) into `translation`; English windows are copied there as they are.

    Raises TranscriptionConfigError (permanent) for a configuration that cannot work, with the same
    message the worker start-up check gives, rather than producing a wrong transcript.
    """
    started = time.monotonic()
    options = options or options_from_settings()
    spec = resolve_spec(options)
    check_spec(spec, options)  # the same check as at worker start: the stage fails with its message
    model = get_model(spec, options)
    check_loaded_model(spec, model, options)
    on_progress = _forward_only(on_progress)
    result = Transcript()
    forced = options.language_code
    each = forced is None and options.window_language == EACH_WINDOW
    multilingual = _multilingual(spec, model)
    translate = options.translate and multilingual
    language = forced
    spoken: dict[str, float] = {}  # seconds of speech per language, to name the recording's language
    probabilities: dict[str, float] = {}
    parts: list[tuple[str, list[dict[str, Any]]]] = []
    for window in audio_windows(audio, options.window_seconds, stream=audio_stream):
        if forced is None and not multilingual and (each or not window.offset):
            detector = get_model(detector_spec(options), options)
            refuse_if_not_english(detect(detector, window.samples, vad=options.vad), options)
        found = None
        if each and multilingual:
            found = _window_language(spec, model, window.samples, options, previous=language)
            language = found[0] if found else language
        share = 0.5 if translate else 1.0
        progress = _from(window.offset, on_progress, share)
        part = _run(spec, model, window.samples, options, language=language, on_progress=progress)
        window_language = part.language or language or ""
        if found is not None:
            probabilities.setdefault(window_language, found[1])
        else:
            probabilities.setdefault(window_language, part.language_probability)
        if language is None or (each and found is None and part.language_probability >= MIN_PROBABILITY):
            language = part.language or None  # `first`: the first window's, for all; `each`: the previous one's
        segments = [shift_segment(segment, window.offset) for segment in part.segments]
        spoken[window_language] = spoken.get(window_language, 0.0) + sum(s["end"] - s["start"] for s in segments)
        parts.append((window_language, segments))
        if translate:
            result.translation.extend(
                _translated(spec, model, window, options, window_language, segments, on_progress, share)
            )
        result.duration = window.offset + window.duration
        if window.offset:
            logger.info(
                "transcribed window at %.1f s (%.1f s long, %s): %d segments",
                window.offset,
                window.duration,
                window_language,
                len(part.segments),
            )
    result.language = max(spoken, key=lambda code: (spoken[code], -list(spoken).index(code)), default="")
    result.language_probability = probabilities.get(result.language, 0.0)
    if all(window_language in ("", ENGLISH) for window_language, _ in parts):
        result.translation = []  # English throughout: the transcript is its own translation
    for window_language, segments in parts:
        marked = window_language and window_language != result.language
        result.segments.extend({**segment, "language": window_language} if marked else segment for segment in segments)
    result.engine = spec.engine
    result.model = spec.model
    result.seconds = round(time.monotonic() - started, 3)
    logger.info(
        "transcribed engine=%s audio=%.1f s segments=%d language=%s in %.1f s",
        spec.engine,
        result.duration,
        len(result.segments),
        result.language,
        result.seconds,
    )
    return result
