"""Prompts, transcript chunking and hand-written validation for the LLM analysis backend.

Pure functions only (no network, no Django), so the contract with the model can be tested on its own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from processing import language_names as names
from processing.analysis.extractive import Item, Segment

# Bump whenever a prompt or the reply contract changes, so stored results can be traced to the prompt that made them.
PROMPT_VERSION = "2026-12-03.1"

ANALYSIS_KEYS = ("summary", "issues", "solutions")
SUMMARY_KEYS = ("summary",)

_ITEM_SHAPE = '{"text": string, "start": number, "end": number}'

_ANALYSIS_PROMPT = """\
You analyse a meeting transcript. Each line of the user message is one transcript segment, written as
"[start-end] text" with times in seconds.{part}
Reply with one JSON object and nothing else, with exactly these keys:
{{"summary": [ITEM, ...], "issues": [ITEM, ...], "solutions": [ITEM, ...]}} where ITEM is {item}.
- "summary": at most {max_items} short items that together summarise what was said. Never empty.
- "issues": problems, risks or concerns that were raised. An empty list if there are none.
- "solutions": proposals, decisions or next steps that were offered. An empty list if there are none.
- "start" and "end": the start time of the first and the end time of the last segment the item relies on,
  copied from the line prefixes.
- Write every "text" in {language}, the language of the transcript, even where a speaker switches language."""

_MERGE_PROMPT = """\
You combine the partial summaries of consecutive parts of one meeting transcript into one summary.
Each line of the user message is one partial-summary item, written as "[start-end] text" with times in seconds.
Reply with one JSON object and nothing else: {{"summary": [ITEM, ...]}} where ITEM is {item}.
- "summary": at most {max_items} short items that together summarise the whole meeting. Never empty.
- "start" and "end": the earliest start and the latest end of the input lines the item draws on,
  copied from their prefixes.
- Write every "text" in {language}, the language of the transcript."""

_REPAIR_PROMPT = """\
Your previous reply could not be used: {error}
Reply again with only the corrected JSON object, following the format from the first message exactly."""


class ReplyInvalid(ValueError):
    """The model's reply is not the JSON object the prompt asked for; the message says why."""


def language_name(code: str) -> str:
    return names.language_name(code) or f"the language with ISO 639-1 code {code!r}"


def reply_schema(keys: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of a reply with `keys` (a list of items each): sent as the response format, so a
    server that constrains its output to it (llama.cpp, vLLM, OpenAI) cannot break the shape. Limits the
    schema dialects differ on (minLength, maxItems) are left to parse_reply."""
    item = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "start": {"type": "number"}, "end": {"type": "number"}},
        "required": ["text", "start", "end"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {key: {"type": "array", "items": item} for key in keys},
        "required": list(keys),
        "additionalProperties": False,
    }


def response_format(kind: str, keys: Sequence[str]) -> dict[str, Any]:
    """ANALYSIS_LLM_RESPONSE_FORMAT: `json_schema` (the reply's schema, strict) or `json_object` (any JSON
    object, for servers without schema support)."""
    if kind == "json_object":
        return {"type": "json_object"}
    name = "meeting_summary" if tuple(keys) == SUMMARY_KEYS else "meeting_analysis"
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": reply_schema(keys)}}


def cited(items: list[Item], segments: Sequence[Segment], slack: float = 0.5) -> list[Item]:
    """The items whose [start, end] overlaps at least one segment (within `slack` seconds): a citation
    that points at no segment supports nothing, and the item goes."""
    return [
        item
        for item in items
        if any(item["start"] <= s["end"] + slack and item["end"] >= s["start"] - slack for s in segments)
    ]


def render_line(start: float, end: float, text: str) -> str:
    return f"[{start:.1f}-{end:.1f}] {text.strip()}"


def render_segments(segments: Sequence[Segment]) -> str:
    return "\n".join(render_line(s["start"], s["end"], s["text"]) for s in segments)


def render_items(items: Sequence[Item]) -> str:
    return "\n".join(render_line(i["start"], i["end"], i["text"]) for i in items)


def chunk_segments(segments: Sequence[Segment], max_chars: int) -> list[list[Segment]]:
    """Split into consecutive chunks whose rendered text fits `max_chars`.

    A single segment longer than the budget gets a chunk of its own rather than being cut, because cutting
    it would leave text without a trustworthy timestamp; transcription segments are short in practice.
    """
    chunks: list[list[Segment]] = []
    current: list[Segment] = []
    size = 0
    for segment in segments:
        if not segment["text"].strip():
            continue
        line = len(render_line(segment["start"], segment["end"], segment["text"])) + 1  # + the newline
        if current and size + line > max_chars:
            chunks.append(current)
            current, size = [], 0
        current.append(segment)
        size += line
    if current:
        chunks.append(current)
    return chunks


def dedupe(items: Iterable[Item]) -> list[Item]:
    """Drop items whose text (whitespace-normalised) was already seen: consecutive chunks often repeat a point."""
    seen: set[str] = set()
    unique: list[Item] = []
    for item in items:
        key = " ".join(item["text"].split())
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def analysis_prompt(*, language: str, max_items: int, part: int, parts: int) -> str:
    where = f"\nThis is part {part} of {parts} of a longer transcript; analyse this part only." if parts > 1 else ""
    return _ANALYSIS_PROMPT.format(part=where, item=_ITEM_SHAPE, max_items=max_items, language=language_name(language))


def merge_prompt(*, language: str, max_items: int) -> str:
    return _MERGE_PROMPT.format(item=_ITEM_SHAPE, max_items=max_items, language=language_name(language))


def repair_prompt(error: str) -> str:
    return _REPAIR_PROMPT.format(error=error)


def parse_reply(content: str | None, *, keys: Sequence[str], time_limit: float) -> dict[str, list[Item]]:
    """Parse and validate a reply; raise ReplyInvalid naming the first problem found.

    `time_limit` is the transcript's last end plus a second of slack: times outside [0, time_limit] cannot
    come from the transcript, so they are rejected rather than clamped onto a point that may mean nothing.
    """
    if content is None or not content.strip():
        raise ReplyInvalid("the reply was empty; expected a JSON object")
    try:
        data = json.loads(_strip_code_fence(content))
    except json.JSONDecodeError as exc:
        raise ReplyInvalid(f"the reply is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ReplyInvalid(f"the reply must be a JSON object, got {type(data).__name__}")
    parsed: dict[str, list[Item]] = {}
    for key in keys:
        if key not in data:
            raise ReplyInvalid(f'the key "{key}" is missing')
        value = data[key]
        if not isinstance(value, list):
            raise ReplyInvalid(f'"{key}" must be a list, got {type(value).__name__}')
        parsed[key] = [_parse_item(raw, f"{key}[{index}]", time_limit) for index, raw in enumerate(value)]
    if "summary" in parsed and not parsed["summary"]:
        raise ReplyInvalid('"summary" must not be empty')
    return parsed


def _strip_code_fence(content: str) -> str:
    # JSON mode forbids fences, but some OpenAI-compatible local servers add them anyway.
    text = content.strip()
    if text.startswith("```") and text.endswith("```") and "\n" in text:
        return text[text.index("\n") + 1 : -3]
    return text


def _parse_item(raw: Any, where: str, time_limit: float) -> Item:
    if not isinstance(raw, dict):
        raise ReplyInvalid(f"{where} must be an object with text, start and end, got {type(raw).__name__}")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ReplyInvalid(f"{where}.text must be a non-empty string, got {text!r}")
    start = _parse_time(raw.get("start"), f"{where}.start")
    end = _parse_time(raw.get("end"), f"{where}.end")
    if start > end:
        raise ReplyInvalid(f"{where}: start {start:g} is after end {end:g}")
    for name, value in (("start", start), ("end", end)):
        if not 0 <= value <= time_limit:
            raise ReplyInvalid(f"{where}.{name} {value:g} is outside the transcript (0-{time_limit:g} s)")
    return {"text": text.strip(), "start": start, "end": end}


def _parse_time(value: Any, where: str) -> float:
    # bool is an int subclass; true/false is never a timestamp.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReplyInvalid(f"{where} must be a number of seconds, got {value!r}")
    return float(value)
