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
)
from .configuration import check_configuration, check_loaded_model, check_spec, resolve_spec

__all__ = [
    "ModelSpec",
    "Transcript",
    "TranscriptionConfigError",
    "check_configuration",
    "clear_models",
    "default_model_path",
    "get_model",
    "resolve_spec",
    "transcribe",
]

logger = logging.getLogger(__name__)

default_model_path = backend_faster.default_model_path

_lock = threading.Lock()
_models: dict[ModelSpec, Any] = {}
load_count = 0  # read by tests: a warm process loads nothing


def get_model(spec: ModelSpec) -> Any:
    """The process's model for `spec`, loaded on first use (under a lock: one load even with threads)."""
    global load_count
    with _lock:
        if spec not in _models:
            started = time.monotonic()
            backend = backend_openai if spec.engine == OPENAI_WHISPER else backend_faster
            _models[spec] = backend.load(spec)
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


def transcribe(audio: str | IO[bytes], *, on_progress: ProgressCallback | None = None) -> Transcript:
    """Transcribe a path or binary file object with the configured engine.

    Raises TranscriptionConfigError (permanent) for a configuration that cannot work, with the same
    message the worker start-up check gives, rather than producing a wrong transcript.
    """
    started = time.monotonic()
    spec = resolve_spec()
    check_spec(spec)  # the same check as at worker start: the stage fails with its message
    model = get_model(spec)
    check_loaded_model(spec, model)
    on_progress = _forward_only(on_progress)
    if spec.engine == OPENAI_WHISPER:
        result = backend_openai.run(model, audio, spec, on_progress)
    else:
        result = backend_faster.run(model, audio, on_progress)
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
