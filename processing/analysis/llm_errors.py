"""What an OpenAI-compatible endpoint's answers mean for the LLM backends (processing/analysis/llm.py):
which failures may pass on a retry and how long the server asked us to wait, and the permanent refusals
as errors that name the setting to change."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from typing import Any

import openai

from processing.analysis.results import AnalysisConfigError

# A worker blocked for minutes on one rate limit is worse than giving up and letting the stage retry later.
RETRY_AFTER_CAP = 30.0


class ContextExceeded(AnalysisConfigError):
    """The server said the request does not fit the model's context: the chunk is split and sent again."""


def retryable(status: int) -> bool:
    # 408 is a timeout reported by a proxy; everything else in 4xx will fail the same way again.
    return status in (408, 429) or status >= 500


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, or Retry-After in seconds or as a date), capped."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        if (raw := headers.get(name)) is None:
            continue
        try:
            seconds = float(raw) * scale
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(raw).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        if math.isfinite(seconds):
            return min(max(seconds, 0.0), RETRY_AFTER_CAP)
    return None


def refusal(exc: openai.APIStatusError, model: str) -> AnalysisConfigError:
    """Map a permanent HTTP refusal to the setting that most likely needs changing."""
    status, detail = exc.status_code, server_message(exc)
    if status == 401:
        message = "the LLM endpoint refused the API key (401): set OPENAI_API_KEY"
    elif status == 403:
        message = (
            f"the LLM endpoint denied access (403): check that OPENAI_API_KEY may use ANALYSIS_LLM_MODEL {model!r}"
        )
    elif status == 404:
        message = f"model {model!r} not found (404): set ANALYSIS_LLM_MODEL, and check OPENAI_BASE_URL (e.g. .../v1)"
    elif status == 413 or exc.code == "context_length_exceeded" or "exceeds the available context size" in detail:
        # OpenAI's code, or llama.cpp's message (its 400 carries no such code)
        message = f"the request is longer than the model's context ({status})"
        return ContextExceeded(f"{message}; the server said: {detail or exc.message}")
    elif status == 400:
        message = "bad request (400): check ANALYSIS_LLM_MODEL and that OPENAI_BASE_URL supports JSON mode"
    else:
        message = f"the LLM endpoint rejected the request ({status}): check OPENAI_BASE_URL and ANALYSIS_LLM_MODEL"
    return AnalysisConfigError(f"{message}; the server said: {detail}" if detail else message)


def server_message(exc: openai.APIStatusError) -> str:
    body: Any = exc.body  # the SDK has already unwrapped {"error": {...}}
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:300]
    return body[:300] if isinstance(body, str) else ""


def not_chat_api(what: str) -> AnalysisConfigError:
    return AnalysisConfigError(
        f"the LLM endpoint answered with {what}, not a chat completion: check that OPENAI_BASE_URL is the API root"
    )


def describe(error: BaseException | None) -> str:
    if isinstance(error, openai.APIStatusError):
        return f"HTTP {error.status_code}: {server_message(error) or error.message}"
    return f"{type(error).__name__}: {error}"
