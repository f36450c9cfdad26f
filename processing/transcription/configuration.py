"""Settings to a model spec, and the check that refuses a configuration that cannot work.

The check runs at worker start and before every transcription, so it must stay cheap: no model is
loaded, the English-only test is by name (plus the vocabulary size of a local CTranslate2 folder), and
torch is imported only when openai-whisper is the engine.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from processing import assets

from . import backend_faster, backend_openai
from .common import (
    ENGINES,
    OPENAI_WHISPER,
    WINDOW_LANGUAGES,
    ModelSpec,
    TranscriptionConfigError,
    TranscriptionOptions,
)
from .language import detector_spec

ENGLISH = "en"


def options_from_settings() -> TranscriptionOptions:
    """The one place the transcription settings are read."""
    return TranscriptionOptions(
        engine=str(settings.TRANSCRIPTION_ENGINE or ""),
        model=str(settings.WHISPER_MODEL or ""),
        device=str(settings.WHISPER_DEVICE),
        compute_type=str(settings.WHISPER_COMPUTE_TYPE),
        beam_size=int(settings.WHISPER_BEAM_SIZE),
        language=str(settings.WHISPER_LANGUAGE or ""),
        allow_download=bool(settings.WHISPER_ALLOW_DOWNLOAD),
        vad=bool(settings.WHISPER_VAD),
        window_seconds=float(settings.WHISPER_WINDOW_SECONDS),
        word_timestamps=bool(settings.WHISPER_WORD_TIMESTAMPS),
        min_word_probability=float(settings.WHISPER_MIN_WORD_PROBABILITY),
        download_root=str(settings.WHISPER_DOWNLOAD_ROOT),
        models_dir=str(settings.WHISPER_MODELS_DIR),
        window_language=str(settings.WHISPER_WINDOW_LANGUAGE or "").strip().lower(),
        translate=bool(settings.WHISPER_TRANSLATE),
        mmap_threshold=int(settings.WHISPER_MALLOC_MMAP_THRESHOLD),
    )


def engine_setting(options: TranscriptionOptions) -> str:
    engine = options.engine.strip().lower()
    if engine not in ENGINES:
        raise TranscriptionConfigError(
            f"TRANSCRIPTION_ENGINE={options.engine!r} is not an engine; use one of {', '.join(ENGINES)}"
        )
    return engine


def resolve_spec(options: TranscriptionOptions | None = None) -> ModelSpec:
    options = options or options_from_settings()
    engine = engine_setting(options)
    # openai-whisper: empty stays empty (the check explains why that cannot work)
    model = options.model if engine == OPENAI_WHISPER else options.model or backend_faster.default_model_path()
    if engine != OPENAI_WHISPER and model in assets.names(assets.WHISPER):  # a model this project installs
        try:
            model = str(assets.model_folder(model, options.models_dir or assets.default_cache_dir()))
        except assets.AssetError as exc:
            raise TranscriptionConfigError(f"WHISPER_MODEL={options.model}: {exc}") from exc
    device = options.device
    if device == "auto":
        device = backend_openai.device_auto() if engine == OPENAI_WHISPER else backend_faster.device_auto()
    compute_type = options.compute_type
    if compute_type == "default":
        fallback = "float32" if engine == OPENAI_WHISPER else "int8"
        compute_type = "float16" if device == "cuda" else fallback
    return ModelSpec(model=model, device=device, compute_type=compute_type, engine=engine)


def check_configuration(options: TranscriptionOptions | None = None) -> None:
    """Raise TranscriptionConfigError for a configuration that cannot work; return None otherwise."""
    options = options or options_from_settings()
    check_spec(resolve_spec(options), options)


def check_spec(spec: ModelSpec, options: TranscriptionOptions) -> None:
    if spec.engine == OPENAI_WHISPER:
        backend_openai.check_compute_type(spec)
        backend_openai.resolve_checkpoint(spec.model, options)
    else:
        backend_faster.check_model(spec)
    if options.window_language not in WINDOW_LANGUAGES:
        raise TranscriptionConfigError(
            f"WHISPER_WINDOW_LANGUAGE={options.window_language!r} is not a choice; use {' or '.join(WINDOW_LANGUAGES)}"
        )
    language = options.language_code
    _check_language_code(language)
    if language not in (None, ENGLISH) and _is_english_only(spec):
        raise _english_only_error(language, options)
    if language is None and _is_english_only(spec):
        detector_spec(options)  # the language check needs the multilingual model: refuse early without it


def check_loaded_model(spec: ModelSpec, model: Any, options: TranscriptionOptions) -> None:
    """The loaded model knows for sure; this catches English-only models whose name does not say so."""
    language = options.language_code
    if language in (None, ENGLISH):
        return
    backend = backend_openai if spec.engine == OPENAI_WHISPER else backend_faster
    if not backend.is_multilingual(model):
        raise _english_only_error(language, options)


def _is_english_only(spec: ModelSpec) -> bool:
    if spec.engine == OPENAI_WHISPER:
        return backend_openai.is_english_only(spec.model)
    return backend_faster.is_english_only(spec.model)


def _check_language_code(language: str | None) -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # Whisper's language codes, without importing torch

    if language is not None and language not in _LANGUAGE_CODES:
        raise TranscriptionConfigError(
            f"WHISPER_LANGUAGE={language!r} is not a Whisper language code; use auto or a code such as en, ja, de"
        )


def _english_only_error(language: str, options: TranscriptionOptions) -> TranscriptionConfigError:
    configured = options.model
    described = repr(configured) if configured else "'' (the bundled tiny.en)"
    return TranscriptionConfigError(
        f"WHISPER_LANGUAGE={language} needs a multilingual model; WHISPER_MODEL={described} is English-only. "
        "Set WHISPER_MODEL to a multilingual model (a name or path without .en, e.g. tiny, base, small) "
        "or WHISPER_LANGUAGE to auto or en"
    )
