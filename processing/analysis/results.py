"""What an analysis backend is given, returns or raises; shared by the backends (extractive, llm)
without either importing the other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from processing.analysis.extractive import Item


@dataclass(frozen=True)
class AnalysisOptions:
    """The analysis settings (README), read once by .configuration.options_from_settings()."""

    backend: str = "extractive"  # ANALYSIS_BACKEND: extractive | openai
    summary_sentences: int = 3  # ANALYSIS_SUMMARY_SENTENCES
    base_url: str = ""  # OPENAI_BASE_URL
    api_key: str = ""  # OPENAI_API_KEY
    model: str = ""  # ANALYSIS_LLM_MODEL
    timeout: float = 60.0  # ANALYSIS_LLM_TIMEOUT
    max_retries: int = 4  # ANALYSIS_LLM_MAX_RETRIES
    max_concurrency: int = 2  # ANALYSIS_LLM_MAX_CONCURRENCY
    context_chars: int = 24000  # ANALYSIS_LLM_CONTEXT_CHARS


@dataclass(frozen=True)
class AnalysisResult:
    summary: list[Item]
    issues: list[Item]
    solutions: list[Item]
    backend: str  # "extractive" | "openai"
    model: str  # "" for extractive, the LLM model name otherwise
    # language always; for "openai" also prompt_version, usage {prompt_tokens, completion_tokens, total_tokens},
    # latency_ms, requests (HTTP requests sent, retries and repairs included), chunks.
    meta: dict[str, Any]


class AnalysisError(Exception):
    """Base class: analysis could not produce a result."""


class AnalysisConfigError(AnalysisError):
    """Permanent until a setting changes; the message names the setting."""


class AnalysisOutputError(AnalysisError):
    """Permanent: the model's reply stayed invalid after one repair attempt."""


class AnalysisTransientError(AnalysisError):
    """Worth retrying later: the endpoint was rate-limited, down or slow through every in-call retry."""
