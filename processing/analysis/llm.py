"""The "openai" analysis backend: any OpenAI-compatible chat-completions endpoint, through the official SDK.

The SDK's own retries are switched off (max_retries=0) so this module decides what is retried, how long it
waits (exponential backoff with full jitter, Retry-After honoured up to a cap) and what the stage is told:
AnalysisConfigError (fix a setting), AnalysisOutputError (the model kept answering nonsense) or
AnalysisTransientError (try the stage again later).
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from processing.analysis import llm_schema as schema
from processing.analysis.extractive import Item, Segment
from processing.analysis.llm_config import Config, read_config
from processing.analysis.results import (
    AnalysisConfigError,
    AnalysisOptions,
    AnalysisOutputError,
    AnalysisResult,
    AnalysisTransientError,
    exclusive,
)

logger = logging.getLogger(__name__)

PROMPT_VERSION = schema.PROMPT_VERSION
BACKOFF_BASE = 0.5  # seconds before the first retry, doubled per retry
BACKOFF_CAP = 8.0
# A worker blocked for minutes on one rate limit is worse than giving up and letting the stage retry later.
RETRY_AFTER_CAP = 30.0

# Module level so tests can record delays instead of waiting them out.
_sleep = time.sleep

# One per worker process: each prefork child builds its own, threads within a process share it.
_semaphore: threading.BoundedSemaphore | None = None
_semaphore_size = 0
_semaphore_lock = threading.Lock()


def analyze(segments: list[Segment], *, language: str, options: AnalysisOptions) -> AnalysisResult:
    """Analyse with the LLM `options` name; `language` is the transcript's language code (e.g. "ja")."""
    config = read_config(options)
    started = time.monotonic()
    chunks = schema.chunk_segments(segments, config.context_chars)
    time_limit = max((s["end"] for s in segments), default=0.0) + 1.0
    with OpenAI(base_url=config.base_url, api_key=config.api_key, timeout=config.timeout, max_retries=0) as client:
        run = _Run(client, config, time_limit)
        # A transcript without words yields no chunks: nothing to send, and an empty result is the truth.
        parts = [_analyze_chunk(run, chunk, language, i, len(chunks)) for i, chunk in enumerate(chunks, 1)]
        summary = _merge_summaries(run, parts, language) if len(parts) > 1 else [i for p in parts for i in p["summary"]]
    solutions = schema.dedupe(item for part in parts for item in part["solutions"])
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    logger.info(
        "LLM analysis done: model=%s chunks=%d requests=%d total_tokens=%d latency_ms=%.0f",
        config.model,
        len(chunks),
        run.requests,
        run.usage["total_tokens"],
        latency_ms,
    )
    return AnalysisResult(
        summary=summary,
        issues=exclusive(schema.dedupe(item for part in parts for item in part["issues"]), solutions),
        solutions=solutions,
        backend="openai",
        model=config.model,
        meta={
            "prompt_version": PROMPT_VERSION,
            "language": language,
            "usage": run.usage,
            "latency_ms": latency_ms,
            "requests": run.requests,
            "repairs": run.repairs,
            "uncited": run.uncited,
            "chunks": len(chunks),
        },
    )


def _analyze_chunk(run: _Run, chunk: list[Segment], language: str, part: int, parts: int) -> dict[str, list[Item]]:
    system = schema.analysis_prompt(language=language, max_items=run.config.summary_items, part=part, parts=parts)
    reply = run.ask(system, schema.render_segments(chunk), schema.ANALYSIS_KEYS, f"part {part}/{parts}")
    return {key: run.keep_cited(items, chunk, f"{key} of part {part}/{parts}") for key, items in reply.items()}


def _merge_summaries(run: _Run, parts: list[dict[str, list[Item]]], language: str) -> list[Item]:
    system = schema.merge_prompt(language=language, max_items=run.config.summary_items)
    partial = [item for part in parts for item in part["summary"]]
    merged = run.ask(system, schema.render_items(partial), schema.SUMMARY_KEYS, "the merged summary")["summary"]
    return run.keep_cited(merged, partial, "the merged summary")


@dataclass
class _Run:
    """One analyze() call: its client, settings and the counters that end up in meta."""

    client: OpenAI
    config: Config
    time_limit: float
    requests: int = 0
    repairs: int = 0
    uncited: int = 0  # items dropped because their times point at no segment
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    )

    def ask(self, system: str, user: str, keys: Sequence[str], label: str) -> dict[str, list[Item]]:
        """One validated answer, allowing the model a single repair of an invalid reply."""
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        content = self.complete(messages, keys)
        try:
            return schema.parse_reply(content, keys=keys, time_limit=self.time_limit)
        except schema.ReplyInvalid as error:
            logger.warning("LLM reply for %s was invalid, asking for a repair: %s", label, error)
            messages.append({"role": "assistant", "content": content or ""})
            messages.append({"role": "user", "content": schema.repair_prompt(str(error))})
        self.repairs += 1
        content = self.complete(messages, keys)
        try:
            return schema.parse_reply(content, keys=keys, time_limit=self.time_limit)
        except schema.ReplyInvalid as error:
            raise AnalysisOutputError(
                f"the LLM ({self.config.model}) reply for {label} was still invalid after one repair attempt: {error}"
            ) from error

    def keep_cited(self, items: list[Item], sources: Sequence[Segment | Item], label: str) -> list[Item]:
        kept = schema.cited(items, sources)
        if len(kept) < len(items):
            self.uncited += len(items) - len(kept)
            logger.warning("LLM %s: %d item(s) cite no segment and were dropped", label, len(items) - len(kept))
        return kept

    def complete(self, messages: list[ChatCompletionMessageParam], keys: Sequence[str]) -> str | None:
        """Send one chat completion, retrying what may pass; return the reply text."""
        error: openai.APIError | None = None
        attempts = self.config.max_retries + 1
        response_format: Any = schema.response_format(self.config.response_format, keys)  # the SDK's TypedDicts
        for attempt in range(attempts):
            self.requests += 1
            retry_after: float | None = None
            try:
                with _request_slot(self.config.max_concurrency):
                    response = self.client.chat.completions.create(
                        model=self.config.model,
                        messages=messages,
                        response_format=response_format,
                    )
            except openai.APIStatusError as exc:
                if not _retryable(exc.status_code):
                    raise _refusal(exc, self.config.model) from exc
                error, retry_after = exc, _retry_after(exc.response.headers)
            except openai.APIConnectionError as exc:  # APITimeoutError is a subclass
                error = exc
            except ValueError as exc:
                # The SDK lets a 200 whose body is not JSON escape as a bare json.JSONDecodeError.
                raise _not_chat_api(f"an unreadable body ({exc})") from exc
            else:
                return self._record(response)
            if attempt + 1 < attempts:
                delay = _backoff(attempt) if retry_after is None else retry_after
                logger.warning(
                    "LLM request failed (%s), retry %d of %d in %.2f s",
                    _describe(error),
                    attempt + 1,
                    self.config.max_retries,
                    delay,
                )
                _sleep(delay)
        raise AnalysisTransientError(
            f"the LLM endpoint still failed after {attempts} attempt(s): {_describe(error)}"
        ) from error

    def _record(self, response: object) -> str | None:
        # Without strict validation the SDK returns a plain str for non-JSON bodies and fills missing fields
        # with None, whatever the type hints say, so check before trusting the shape.
        if not isinstance(response, ChatCompletion):
            raise _not_chat_api(f"a {type(response).__name__}")
        usage = response.usage
        for key in self.usage:
            self.usage[key] += int(getattr(usage, key, 0) or 0)
        if not response.choices:
            return None
        choice = response.choices[0]
        if choice.finish_reason == "length":
            logger.warning("LLM reply hit the output token limit and is likely truncated")
        return choice.message.content if choice.message else None


def _request_slot(size: int) -> threading.BoundedSemaphore:
    global _semaphore, _semaphore_size
    with _semaphore_lock:
        # Lazy, so each forked worker builds its own, sized by the options of its first analysis.
        # Replaced only when the setting changes (tests do; running workers don't); holders keep their old one.
        if _semaphore is None or _semaphore_size != size:
            _semaphore, _semaphore_size = threading.BoundedSemaphore(size), size
        return _semaphore


def _retryable(status: int) -> bool:
    # 408 is a timeout reported by a proxy; everything else in 4xx will fail the same way again.
    return status in (408, 429) or status >= 500


def _backoff(attempt: int) -> float:
    # Full jitter: workers that failed together spread their retries instead of stampeding back together.
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def _retry_after(headers: Mapping[str, str]) -> float | None:
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


def _refusal(exc: openai.APIStatusError, model: str) -> AnalysisConfigError:
    """Map a permanent HTTP refusal to the setting that most likely needs changing."""
    status, detail = exc.status_code, _server_message(exc)
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
        message = f"the transcript chunk is too long for the model ({status}): lower ANALYSIS_LLM_CONTEXT_CHARS"
    elif status == 400:
        message = "bad request (400): check ANALYSIS_LLM_MODEL and that OPENAI_BASE_URL supports JSON mode"
    else:
        message = f"the LLM endpoint rejected the request ({status}): check OPENAI_BASE_URL and ANALYSIS_LLM_MODEL"
    return AnalysisConfigError(f"{message}; the server said: {detail}" if detail else message)


def _server_message(exc: openai.APIStatusError) -> str:
    body: Any = exc.body  # the SDK has already unwrapped {"error": {...}}
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:300]
    return body[:300] if isinstance(body, str) else ""


def _not_chat_api(what: str) -> AnalysisConfigError:
    return AnalysisConfigError(
        f"the LLM endpoint answered with {what}, not a chat completion: check that OPENAI_BASE_URL is the API root"
    )


def _describe(error: BaseException | None) -> str:
    if isinstance(error, openai.APIStatusError):
        return f"HTTP {error.status_code}: {_server_message(error) or error.message}"
    return f"{type(error).__name__}: {error}"
