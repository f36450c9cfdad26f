"""The one place the analysis settings are read: AnalysisOptions, built once per analysis and handed
to the backends, which never read django.conf.settings themselves (as transcription and HLS do).

ANALYSIS_BACKEND=auto is resolved here: "local" when the local model (LLM_MODEL) is installed, else
"extractive", with a log line that says why and how to install it. "local" talks to manage.py
llm_server at LLM_URL through the same client as "openai".
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings

from processing import assets

from .results import AnalysisOptions

logger = logging.getLogger(__name__)
_said: set[str] = set()  # the auto fallback is logged once per process, not once per upload


def options_from_settings() -> AnalysisOptions:
    backend = resolve_backend(str(settings.ANALYSIS_BACKEND or ""))
    local = backend == "local"
    return AnalysisOptions(
        backend=backend,
        summary_sentences=int(settings.ANALYSIS_SUMMARY_SENTENCES),
        language=str(settings.ANALYSIS_LANGUAGE or ""),
        base_url=str(settings.LLM_URL if local else settings.OPENAI_BASE_URL or ""),
        api_key=str((settings.LLM_API_KEY if local else settings.OPENAI_API_KEY) or ""),
        model=str(settings.LLM_MODEL if local else settings.ANALYSIS_LLM_MODEL or ""),
        timeout=float(settings.LLM_TIMEOUT if local else settings.ANALYSIS_LLM_TIMEOUT),
        max_retries=int(settings.ANALYSIS_LLM_MAX_RETRIES),
        max_concurrency=int(settings.ANALYSIS_LLM_MAX_CONCURRENCY),
        context_chars=int(settings.ANALYSIS_LLM_CONTEXT_CHARS),
        response_format=str(settings.ANALYSIS_LLM_RESPONSE_FORMAT or ""),
        chunk_segments=int(settings.ANALYSIS_LLM_CHUNK_SEGMENTS),
        decoding=settings.ANALYSIS_LLM_DECODING or None,
    )


def resolve_backend(configured: str) -> str:
    backend = configured.strip().lower()
    if backend != "auto":
        return backend
    missing = local_model_missing()
    if missing is None:
        return "local"
    if missing not in _said:
        _said.add(missing)
        logger.warning("ANALYSIS_BACKEND=auto: using extractive analysis because %s", missing)
    return "extractive"


def local_model_missing() -> str | None:
    """Why the local model cannot be used, or None when it is installed (assembled and verified)."""
    name = str(settings.LLM_MODEL)
    if name in assets.names(assets.LLM):
        try:
            assets.model_folder(name, settings.WHISPER_MODELS_DIR)
        except assets.AssetError as exc:
            return f"the local model is not installed ({exc})"
        return None
    if Path(name).expanduser().is_file():
        return None
    return f"LLM_MODEL={name!r} is neither a model this project installs nor a .gguf file"
