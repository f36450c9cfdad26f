"""The LLM analysis backends, "local" (manage.py llm_server) and "openai" (any OpenAI-compatible
chat-completions endpoint: OpenAI, Ollama, vLLM, a hosted API): one client, the official SDK.

The SDK's own retries are switched off (max_retries=0) so this module decides what is retried, how long it
waits (exponential backoff with full jitter, Retry-After honoured up to a cap) and what the stage is told:
AnalysisConfigError (fix a setting), AnalysisOutputError (the model kept answering nonsense) or
AnalysisTransientError (try the stage again later).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import openai
from openai import OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from processing.analysis import llm_errors as errors
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

# Module level so tests can record delays instead of waiting them out.
_sleep = time.sleep

# One per worker process: each prefork child builds its own, threads within a process share it.
_semaphore: threading.BoundedSemaphore | None = None
_semaphore_size = 0
_semaphore_lock = threading.Lock()


Progress = Callable[[str, float], None]  # ("chunk 2 of 5", the share of the work done so far)


def analyze(
    segments: list[Segment], *, language: str, options: AnalysisOptions, on_progress: Progress | None = None
) -> AnalysisResult:
    """Analyse with the LLM `options` name, writing in `language` (a code, e.g. "ja").

    The transcript goes in chunks (ANALYSIS_LLM_CHUNK_SEGMENTS segments, ANALYSIS_LLM_CONTEXT_CHARS
    characters at most); a chunk the server refuses as longer than the model's context is halved and
    sent again, so the model's real context decides in the end. Issues and solutions of all chunks are
    deduplicated, and the chunks' summaries merged by one more request (map-reduce)."""
    config = read_config(options)
    started = time.monotonic()
    pending = deque(schema.chunk_segments(segments, config.context_chars, config.chunk_segments))
    steps = len(pending) + (1 if len(pending) > 1 else 0)  # the merge is a step of its own
    parts: list[dict[str, list[Item]]] = []
    with OpenAI(base_url=config.base_url, api_key=config.api_key, timeout=config.timeout, max_retries=0) as client:
        run = _Run(client, config, language)
        # A transcript without words yields no chunks: nothing to send, and an empty result is the truth.
        while pending:
            chunk = pending.popleft()
            if on_progress is not None:
                on_progress(f"chunk {len(parts) + 1} of {len(parts) + 1 + len(pending)}", len(parts) / steps)
            try:
                parts.append(_analyze_chunk(run, chunk))
            except errors.ContextExceeded as exc:
                if len(chunk) == 1:
                    raise AnalysisConfigError(
                        "one transcript segment alone is longer than the model's context: raise LLM_CONTEXT "
                        f"(manage.py llm_server) or use a model with a longer one; {exc}"
                    ) from exc
                logger.warning("LLM chunk of %d segments exceeds the model's context, splitting it", len(chunk))
                run.splits += 1
                steps += 1
                half = len(chunk) // 2
                pending.extendleft([chunk[half:], chunk[:half]])
        if len(parts) > 1:
            if on_progress is not None:
                on_progress(f"merging the summaries of {len(parts)} chunks", (steps - 1) / steps)
            summary = _merge_summaries(run, parts)
        else:
            summary = [item for part in parts for item in part["summary"]]
    solutions = schema.dedupe(item for part in parts for item in part["solutions"])
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    logger.info(
        "LLM analysis done: model=%s chunks=%d requests=%d total_tokens=%d latency_ms=%.0f",
        config.model,
        len(parts),
        run.requests,
        run.usage["total_tokens"],
        latency_ms,
    )
    fields, extra = config.sampling(language)
    return AnalysisResult(
        summary=summary[: config.summary_items],
        issues=exclusive(schema.dedupe(item for part in parts for item in part["issues"]), solutions),
        solutions=solutions,
        backend=options.backend,
        model=config.model,
        meta={
            "prompt_version": PROMPT_VERSION,
            "language": language,
            "usage": run.usage,
            "latency_ms": latency_ms,
            "requests": run.requests,
            "repairs": run.repairs,
            "uncited": run.uncited,
            "chunks": len(parts),
            "splits": run.splits,
            "decoding": {**fields, **extra},
        },
    )


def _analyze_chunk(run: _Run, chunk: list[Segment]) -> dict[str, list[Item]]:
    # Each chunk summarises itself in up to ANALYSIS_SUMMARY_SENTENCES items; asking for one item per
    # chunk instead measured no faster and less well supported (bench.analysis, prompt 2026-12-03.4).
    messages = schema.analysis_messages(
        language=run.language, max_items=run.config.summary_items, transcript=schema.render_segments(chunk)
    )
    reply = run.ask(messages, schema.ANALYSIS_KEYS, f"a chunk of {len(chunk)} segments")
    return {key: run.keep_cited(items, chunk, key, realign=key != "summary") for key, items in reply.items()}


def _merge_summaries(run: _Run, parts: list[dict[str, list[Item]]]) -> list[Item]:
    partial = schema.dedupe(item for part in parts for item in part["summary"])
    messages = schema.merge_messages(
        language=run.language, max_items=run.config.summary_items, partial=schema.render_segments(partial)
    )
    merged = run.ask(messages, schema.SUMMARY_KEYS, "the merged summary")["summary"]
    return run.keep_cited(merged, partial, "the merged summary")


@dataclass
class _Run:
    """One analyze() call: its client, settings and the counters that end up in meta."""

    client: OpenAI
    config: Config
    language: str  # the analysis is written in it; it picks the decoding settings
    requests: int = 0
    splits: int = 0  # chunks halved because the server said they exceed the model's context
    repairs: int = 0
    uncited: int = 0  # items dropped because their times point at no segment
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    )

    def ask(self, messages: list[dict[str, str]], keys: Sequence[str], label: str) -> dict[str, list[schema.Cited]]:
        """One validated answer, allowing the model a single repair of an invalid reply."""
        sent: list[ChatCompletionMessageParam] = [cast(ChatCompletionMessageParam, m) for m in messages]
        content = self.complete(sent, keys)
        try:
            return schema.parse_reply(content, keys=keys)
        except schema.ReplyInvalid as error:
            logger.warning("LLM reply for %s was invalid, asking for a repair: %s", label, error)
            sent.append({"role": "assistant", "content": content or ""})
            sent.append({"role": "user", "content": schema.repair_prompt(str(error))})
        self.repairs += 1
        content = self.complete(sent, keys)
        try:
            return schema.parse_reply(content, keys=keys)
        except schema.ReplyInvalid as error:
            raise AnalysisOutputError(
                f"the LLM ({self.config.model}) reply for {label} was still invalid after one repair attempt: {error}",
                tail=content or "",
            ) from error

    def keep_cited(
        self, items: list[schema.Cited], sources: Sequence[Segment | Item], label: str, *, realign: bool = False
    ) -> list[Item]:
        kept, dropped = schema.resolve(items, sources, realign=realign)
        if dropped:
            self.uncited += dropped
            logger.warning("LLM %s: %d item(s) cite no segment and were dropped", label, dropped)
        return kept

    def complete(self, messages: list[ChatCompletionMessageParam], keys: Sequence[str]) -> str | None:
        """Send one chat completion, retrying what may pass; return the reply text."""
        error: openai.APIError | None = None
        attempts = self.config.max_retries + 1
        response_format: Any = schema.response_format(self.config.response_format, keys)  # the SDK's TypedDicts
        fields, extra = self.config.sampling(self.language)
        for attempt in range(attempts):
            self.requests += 1
            retry_after: float | None = None
            try:
                with _request_slot(self.config.max_concurrency):
                    response = self.client.chat.completions.create(
                        model=self.config.model,
                        messages=messages,
                        response_format=response_format,
                        extra_body=extra or None,
                        **fields,
                    )
            except openai.APIStatusError as exc:
                if not errors.retryable(exc.status_code):
                    raise errors.refusal(exc, self.config.model) from exc
                error, retry_after = exc, errors.retry_after(exc.response.headers)
            except openai.APIConnectionError as exc:  # APITimeoutError is a subclass
                error = exc
            except ValueError as exc:
                # The SDK lets a 200 whose body is not JSON escape as a bare json.JSONDecodeError.
                raise errors.not_chat_api(f"an unreadable body ({exc})") from exc
            else:
                return self._record(response)
            if attempt + 1 < attempts:
                delay = _backoff(attempt) if retry_after is None else retry_after
                logger.warning(
                    "LLM request failed (%s), retry %d of %d in %.2f s",
                    errors.describe(error),
                    attempt + 1,
                    self.config.max_retries,
                    delay,
                )
                _sleep(delay)
        raise AnalysisTransientError(
            f"the LLM endpoint still failed after {attempts} attempt(s): {errors.describe(error)}"
        ) from error

    def _record(self, response: object) -> str | None:
        # Without strict validation the SDK returns a plain str for non-JSON bodies and fills missing fields
        # with None, whatever the type hints say, so check before trusting the shape.
        if not isinstance(response, ChatCompletion):
            raise errors.not_chat_api(f"a {type(response).__name__}")
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


def _backoff(attempt: int) -> float:
    # Full jitter: workers that failed together spread their retries instead of stampeding back together.
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
