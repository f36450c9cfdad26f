"""The openai backend's settings, checked once per analysis: each refusal names the setting to change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from processing.analysis.results import AnalysisConfigError, AnalysisOptions

_N = TypeVar("_N", int, float)
RESPONSE_FORMATS = ("json_schema", "json_object")


@dataclass(frozen=True)
class Config:
    base_url: str
    api_key: str
    model: str
    timeout: float
    max_retries: int
    max_concurrency: int
    context_chars: int
    summary_items: int
    response_format: str


def read_config(options: AnalysisOptions) -> Config:
    base_url = options.base_url.strip()
    host = urlsplit(base_url).hostname
    if urlsplit(base_url).scheme not in ("http", "https") or not host:
        raise AnalysisConfigError(f"OPENAI_BASE_URL {base_url!r} is not an http(s) URL: set OPENAI_BASE_URL")
    model = options.model.strip()
    if not model:
        raise AnalysisConfigError("no LLM model configured: set ANALYSIS_LLM_MODEL")
    api_key = options.api_key.strip()
    if not api_key:
        if host == "openai.com" or host.endswith(".openai.com"):
            raise AnalysisConfigError(f"OPENAI_API_KEY is empty but OPENAI_BASE_URL is {base_url}: set OPENAI_API_KEY")
        # Local servers (Ollama, llama.cpp, vLLM) need no key, but the SDK refuses an empty one.
        api_key = "unused"
    return Config(
        base_url=base_url,
        api_key=api_key,
        model=model,
        timeout=_at_least("ANALYSIS_LLM_TIMEOUT", options.timeout, 0.001),
        max_retries=_at_least("ANALYSIS_LLM_MAX_RETRIES", options.max_retries, 0),
        max_concurrency=_at_least("ANALYSIS_LLM_MAX_CONCURRENCY", options.max_concurrency, 1),
        context_chars=_at_least("ANALYSIS_LLM_CONTEXT_CHARS", options.context_chars, 1),
        summary_items=_at_least("ANALYSIS_SUMMARY_SENTENCES", options.summary_sentences, 1),
        response_format=_response_format(options.response_format),
    )


def _response_format(value: str) -> str:
    kind = value.strip().lower()
    if kind not in RESPONSE_FORMATS:
        raise AnalysisConfigError(
            f"ANALYSIS_LLM_RESPONSE_FORMAT={value!r} is not one of {', '.join(RESPONSE_FORMATS)}: set it to "
            "json_schema (the reply's schema, for servers that constrain output) or json_object"
        )
    return kind


def _at_least(name: str, value: _N, minimum: _N) -> _N:
    if value < minimum:
        raise AnalysisConfigError(f"{name} is {value}, below the minimum of {minimum}: set {name}")
    return value
