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
    OPENAI_WHISPER,
    ModelSpec,
    ProgressCallback,
    Transcript,
    TranscriptionConfigError,
    TranscriptionOptions,
    shift_segment,
)
from .configuration import check_configuration, check_loaded_model, check_spec, options_from_settings, resolve_spec
from .language import detect, detector_spec, refuse_if_not_english
from .windows import audio_windows

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


def _from(offset: float, on_progress: ProgressCallback | None) -> ProgressCallback | None:
    """A window's progress (seconds into the window) as seconds into the recording."""
    if on_progress is None:
        return None
    return lambda seconds: on_progress(offset + seconds)


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
    transcribed in one call. Later windows keep the language found in the first. They are not prompted
    with the text before them: with tiny.en that merged segments into 25 s runs and added a hallucinated
    line at a cut, where independent windows gave the same segmentation as one call.

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
    language = options.language_code
    check_language = language is None and not _multilingual(spec, model)
    for window in audio_windows(audio, options.window_seconds, stream=audio_stream):
        if check_language and not window.offset:
            detector = get_model(detector_spec(options), options)
            refuse_if_not_english(detect(detector, window.samples, vad=options.vad), options)
        progress = _from(window.offset, on_progress)
        if spec.engine == OPENAI_WHISPER:
            part = backend_openai.run(model, window.samples, spec, options, language=language, on_progress=progress)
        else:
            part = backend_faster.run(model, window.samples, options, language=language, on_progress=progress)
        if not window.offset:
            result.language, result.language_probability = part.language, part.language_probability
            language = part.language or language
        result.segments.extend(shift_segment(segment, window.offset) for segment in part.segments)
        result.duration = window.offset + window.duration
        if window.offset:
            logger.info(
                "transcribed window at %.1f s (%.1f s long): %d segments",
                window.offset,
                window.duration,
                len(part.segments),
            )
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
