"""The LLM backends' settings, checked once per analysis: each refusal names the setting to change.

Decoding (ANALYSIS_LLM_DECODING) is per language: {"*": {...}, "ja": {...}}, the language's entry over
"*". Parameters of the OpenAI API go as request fields; any other (llama.cpp's repeat_penalty, top_k,
min_p; vLLM's repetition_penalty) goes in the request body only where the defaults or the setting name
it. The hosted ("openai") defaults name none, because OpenAI refuses fields it does not know, and a
server that silently ignores one would hide a typo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from processing.analysis.results import AnalysisConfigError, AnalysisOptions

_N = TypeVar("_N", int, float)
RESPONSE_FORMATS = ("json_schema", "json_object")
# Sampling fields of the chat-completions API itself (sent as such; every compatible server knows them).
OPENAI_FIELDS = frozenset({"temperature", "top_p", "frequency_penalty", "presence_penalty", "seed", "max_tokens"})

# bench.analysis measured these on the labelled set (README "The local language model"): greedy decoding,
# and a mild repetition penalty without which Qwen2.5-1.5B loops in long Japanese replies (1.15 for
# Japanese measured no different from 1.1, so one entry serves every language). max_tokens ends a reply
# that loops anyway (it then fails validation and gets one repair) instead of running to the context.
LOCAL_DECODING: dict[str, dict[str, Any]] = {"*": {"temperature": 0.0, "repeat_penalty": 1.1, "max_tokens": 1024}}
HOSTED_DECODING: dict[str, dict[str, Any]] = {"*": {"temperature": 0.0, "max_tokens": 2048}}


@dataclass(frozen=True)
class Config:
    base_url: str
    api_key: str
    model: str
    timeout: float
    max_retries: int
    max_concurrency: int
    context_chars: int
    chunk_segments: int
    summary_items: int
    response_format: str
    decoding: dict[str, dict[str, Any]]

    def sampling(self, language: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the API's own fields, the server's extra body fields) for a transcript in `language`."""
        chosen = {**self.decoding.get("*", {}), **self.decoding.get(language, {})}
        fields = {k: v for k, v in chosen.items() if k in OPENAI_FIELDS}
        extra = {k: v for k, v in chosen.items() if k not in OPENAI_FIELDS}
        return fields, extra


def read_config(options: AnalysisOptions) -> Config:
    base_url = options.base_url.strip()
    host = urlsplit(base_url).hostname
    if urlsplit(base_url).scheme not in ("http", "https") or not host:
        setting = "LLM_URL" if options.backend == "local" else "OPENAI_BASE_URL"
        raise AnalysisConfigError(f"{setting} {base_url!r} is not an http(s) URL: set {setting}")
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
        chunk_segments=_at_least("ANALYSIS_LLM_CHUNK_SEGMENTS", options.chunk_segments, 1),
        summary_items=_at_least("ANALYSIS_SUMMARY_SENTENCES", options.summary_sentences, 1),
        response_format=_response_format(options.response_format),
        decoding=_decoding(options),
    )


def _decoding(options: AnalysisOptions) -> dict[str, dict[str, Any]]:
    if options.decoding is None:
        return LOCAL_DECODING if options.backend == "local" else HOSTED_DECODING
    if not isinstance(options.decoding, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) and all(isinstance(p, str) for p in v)
        for k, v in options.decoding.items()
    ):
        raise AnalysisConfigError(
            'ANALYSIS_LLM_DECODING must be a JSON object of {"*" or a language code: {parameter: value}}, '
            f'e.g. {{"*": {{"temperature": 0}}}}; got {options.decoding!r}: set ANALYSIS_LLM_DECODING'
        )
    return options.decoding


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
