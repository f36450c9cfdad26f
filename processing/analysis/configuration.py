"""The one place the analysis settings are read: AnalysisOptions, built once per analysis and handed
to the backends, which never read django.conf.settings themselves (as transcription and HLS do)."""

from __future__ import annotations

from django.conf import settings

from .results import AnalysisOptions


def options_from_settings() -> AnalysisOptions:
    return AnalysisOptions(
        backend=str(settings.ANALYSIS_BACKEND or ""),
        summary_sentences=int(settings.ANALYSIS_SUMMARY_SENTENCES),
        base_url=str(settings.OPENAI_BASE_URL or ""),
        api_key=str(settings.OPENAI_API_KEY or ""),
        model=str(settings.ANALYSIS_LLM_MODEL or ""),
        timeout=float(settings.ANALYSIS_LLM_TIMEOUT),
        max_retries=int(settings.ANALYSIS_LLM_MAX_RETRIES),
        max_concurrency=int(settings.ANALYSIS_LLM_MAX_CONCURRENCY),
        context_chars=int(settings.ANALYSIS_LLM_CONTEXT_CHARS),
        response_format=str(settings.ANALYSIS_LLM_RESPONSE_FORMAT or ""),
    )
