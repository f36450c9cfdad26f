"""Prompts, transcript chunking and hand-written validation for the LLM analysis backends.

The model sees each chunk as numbered lines ("[n] text") and cites the numbers of the lines an item rests
on; the backend turns those numbers into the segments' times. Small local models copy a short number far
more reliably than a "[12.3-15.6]" prefix, and a number that names no line is a citation to nothing, so
the item is dropped. Pure functions only (no network, no Django), so the contract with the model can be
tested on its own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, TypedDict

from processing import language_names as names
from processing.analysis.extractive import Item, Segment
from processing.analysis.results import same_item, tokens

# Bump whenever a prompt or the reply contract changes, so stored results can be traced to the prompt that made them.
PROMPT_VERSION = "2026-12-04.1"

ANALYSIS_KEYS = ("summary", "issues", "solutions")
SUMMARY_KEYS = ("summary",)
MAX_CITED = 8  # line numbers per item: a summary item citing every line says nothing about where it comes from


class Cited(TypedDict):
    text: str
    segments: list[int]  # 1-based line numbers of the chunk the model was shown


# The instructions come first and stay the same for every chunk of every transcript in one language, so a
# server that keeps its prompt cache (llama.cpp does, per slot) reads them once, not once per chunk.
_ANALYSIS_PROMPT = """\
You take the minutes of a meeting. Each line of the user message is one numbered transcript segment: "[n] text".
A line may start with the speaker's name and a colon ("[n] Tanaka: text"): that is who said it.
Reply with one JSON object with exactly these keys:
- "summary": at most {max_items} short items that together summarise what was said. Never empty.
- "issues": one item for every segment in which a speaker states a problem, risk, delay, failure, shortage,
  cost overrun, complaint or worry. Plain reports of something going wrong count ("the tests are still
  failing", "it takes ten seconds to load"), and so does a second speaker confirming a problem. A problem
  that is already solved does not. An empty list if there are none.
- "solutions": one item for every segment in which a speaker proposes, suggests, requests, decides or
  commits to an action, including requests phrased as questions ("could you...?", "why don't we...?")
  and "let's ..." or "I'll ...". A question that only asks for information is neither an issue nor a
  solution, and neither are greetings, agenda, thanks or agreement. An empty list if there are none.
Every item is {{"text": string, "segments": [the numbers of the segments it rests on]}}.
A segment is never both an issue and a solution. Write every "text" in {language}."""

# One worked example per language, as a user/assistant exchange: small models follow a shown reply better
# than a described one, and write in the example's language more than in the one the prompt names (with
# the English example, Qwen2.5-1.5B wrote Japanese meetings' items in English or Chinese).
_EXAMPLES: dict[str, tuple[str, dict[str, list[dict[str, Any]]]]] = {
    "en": (
        """\
[1] Okay, let's start with the budget.
[2] We are already twenty percent over on hardware.
[3] Right, and the vendor is two weeks late with the servers.
[4] Could we move part of the order to the other supplier?
[5] Good idea, I'll call them tomorrow.
[6] The training last week went well, by the way.""",
        {
            "summary": [
                {
                    "text": "Hardware over budget and a late vendor; part of the order may move to another supplier.",
                    "segments": [2, 3, 4, 5],
                }
            ],
            "issues": [
                {"text": "Hardware spending is twenty percent over budget.", "segments": [2]},
                {"text": "The vendor is two weeks late with the servers.", "segments": [3]},
            ],
            "solutions": [
                {"text": "Move part of the order to the other supplier.", "segments": [4]},
                {"text": "Call the other supplier tomorrow.", "segments": [5]},
            ],
        },
    ),
    "ja": (
        """\
[1] では、予算の件から始めます。
[2] ハードウェアの費用がすでに予算を2割超えています。
[3] それに、業者のサーバー納品が2週間遅れています。
[4] 注文の一部を別の業者に回してはどうでしょうか。
[5] いいですね、明日私が連絡します。
[6] ちなみに先週の研修は好評でした。""",
        {
            "summary": [
                {
                    "text": "ハードウェア費用の超過と納品の遅れを受け、注文の一部を別の業者に回すことにした。",
                    "segments": [2, 3, 4, 5],
                }
            ],
            "issues": [
                {"text": "ハードウェア費用が予算を2割超えている。", "segments": [2]},
                {"text": "サーバーの納品が2週間遅れている。", "segments": [3]},
            ],
            "solutions": [
                {"text": "注文の一部を別の業者に回す。", "segments": [4]},
                {"text": "明日、別の業者に連絡する。", "segments": [5]},
            ],
        },
    ),
}

_MERGE_PROMPT = """\
You combine the partial summaries of consecutive parts of one meeting into one summary.
Each line of the user message is one numbered partial-summary item: "[n] text".
Reply with one JSON object: {{"summary": [ITEM, ...]}} where ITEM is {{"text": string, "segments": [the
numbers of the lines it draws on]}}.
- At most {max_items} short items that together summarise the whole meeting, without repeating a point. Never empty.
- Write every "text" in {language}."""

_REPAIR_PROMPT = """\
Your previous reply could not be used: {error}
Reply again with only the corrected JSON object, following the format from the first message exactly."""


class ReplyInvalid(ValueError):
    """The model's reply is not the JSON object the prompt asked for; the message says why."""


def language_name(code: str) -> str:
    return names.language_name(code) or f"the language with ISO 639-1 code {code!r}"


def reply_schema(keys: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of a reply with `keys` (a list of items each): sent as the response format, so a
    server that constrains its output to it (llama.cpp, vLLM, OpenAI) cannot break the shape. maxItems on
    the citations stops a small model from listing every line; text limits are left to parse_reply."""
    lines = {"type": "array", "items": {"type": "integer"}, "maxItems": MAX_CITED}
    item = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "segments": lines},
        "required": ["text", "segments"],
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


def resolve(
    items: Iterable[Cited], sources: Sequence[Segment | Item], *, realign: bool = False
) -> tuple[list[Item], int]:
    """Items with the times of the lines they cite, and how many were dropped for citing no line.

    Numbers outside 1..len(sources) name nothing and are ignored; an item left without a citation
    supports nothing, and goes. With `realign` (issues and solutions: one statement each), a cited
    number is checked against the words the item repeats: a small model that quotes a line often
    cites its neighbour's number, so when a line up to REALIGN_REACH away holds the item's words
    clearly better than the cited one (see _closer), that line is cited instead."""
    resolved: list[Item] = []
    dropped = 0
    for item in items:
        cited = {n for n in item["segments"] if 1 <= n <= len(sources)}
        if realign:
            cited = {_closer(item["text"], n, sources) for n in cited}
        if not cited:
            dropped += 1
            continue
        lines = [sources[n - 1] for n in sorted(cited)]
        start, end = min(s["start"] for s in lines), max(s["end"] for s in lines)
        resolved.append({"text": item["text"], "start": start, "end": end})
    return resolved, dropped


REALIGN_REACH = 2  # lines either side of the cited one
REALIGN_MARGIN = 0.2  # how much more of the item's words a neighbour must hold
REALIGN_MIN_TOKENS = 3  # fewer words (or character pairs) than this say too little about where they are from


def _closer(text: str, n: int, sources: Sequence[Segment | Item]) -> int:
    words = tokens(text)
    if len(words) < REALIGN_MIN_TOKENS:
        return n

    def held(m: int) -> float:  # the share of the item's words (or character pairs) line m holds
        return len(words & tokens(sources[m - 1]["text"])) / len(words)

    near = range(max(1, n - REALIGN_REACH), min(len(sources), n + REALIGN_REACH) + 1)
    best = max(near, key=lambda m: (held(m), m == n))
    return best if held(best) >= 0.5 and held(best) >= held(n) + REALIGN_MARGIN else n


def render_lines(texts: Iterable[str]) -> str:
    return "\n".join(f"[{n}] {' '.join(text.split())}" for n, text in enumerate(texts, 1))


def render_segments(segments: Sequence[Segment | Item]) -> str:
    return render_lines(s["text"] for s in segments)


def chunk_segments(segments: Sequence[Segment], max_chars: int, max_segments: int) -> list[list[Segment]]:
    """Split into consecutive chunks of at most `max_segments` segments whose rendered lines fit `max_chars`.

    A single segment longer than the budget gets a chunk of its own rather than being cut, because cutting
    it would leave text without a trustworthy timestamp; transcription segments are short in practice.
    """
    chunks: list[list[Segment]] = []
    current: list[Segment] = []
    size = 0
    for segment in segments:
        text = " ".join(segment["text"].split())
        if not text:
            continue
        line = len(f"[{len(current) + 1}] {text}") + 1  # + the newline
        if current and (size + line > max_chars or len(current) >= max_segments):
            chunks.append(current)
            current, size = [], len(f"[1] {text}") + 1
        else:
            size += line
        current.append(segment)
    if current:
        chunks.append(current)
    return chunks


def dedupe(items: Iterable[Item]) -> list[Item]:
    """Drop items that repeat an earlier one (the same words, or reworded: results.same_item):
    consecutive chunks often make the same point twice."""
    unique: list[Item] = []
    for item in items:
        if not any(same_item(item["text"], kept["text"]) for kept in unique):
            unique.append(item)
    return unique


def analysis_messages(*, language: str, max_items: int, transcript: str) -> list[dict[str, str]]:
    """The instructions, the worked example in `language` (English where there is none), the transcript."""
    system = _ANALYSIS_PROMPT.format(max_items=max_items, language=language_name(language))
    example, reply = _EXAMPLES.get(language, _EXAMPLES["en"])
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": example},
        {"role": "assistant", "content": json.dumps(reply, ensure_ascii=False, separators=(",", ":"))},
        {"role": "user", "content": transcript},
    ]


def merge_messages(*, language: str, max_items: int, partial: str) -> list[dict[str, str]]:
    system = _MERGE_PROMPT.format(max_items=max_items, language=language_name(language))
    return [{"role": "system", "content": system}, {"role": "user", "content": partial}]


def repair_prompt(error: str) -> str:
    return _REPAIR_PROMPT.format(error=error)


def parse_reply(content: str | None, *, keys: Sequence[str]) -> dict[str, list[Cited]]:
    """Parse and validate a reply; raise ReplyInvalid naming the first problem found."""
    if content is None or not content.strip():
        raise ReplyInvalid("the reply was empty; expected a JSON object")
    try:
        data = json.loads(_strip_code_fence(content))
    except json.JSONDecodeError as exc:
        raise ReplyInvalid(f"the reply is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ReplyInvalid(f"the reply must be a JSON object, got {type(data).__name__}")
    parsed: dict[str, list[Cited]] = {}
    for key in keys:
        if key not in data:
            raise ReplyInvalid(f'the key "{key}" is missing')
        value = data[key]
        if not isinstance(value, list):
            raise ReplyInvalid(f'"{key}" must be a list, got {type(value).__name__}')
        parsed[key] = [_parse_item(raw, f"{key}[{index}]") for index, raw in enumerate(value)]
    if "summary" in parsed and not parsed["summary"]:
        raise ReplyInvalid('"summary" must not be empty')
    return parsed


def _strip_code_fence(content: str) -> str:
    # JSON mode forbids fences, but some OpenAI-compatible local servers add them anyway.
    text = content.strip()
    if text.startswith("```") and text.endswith("```") and "\n" in text:
        return text[text.index("\n") + 1 : -3]
    return text


def _parse_item(raw: Any, where: str) -> Cited:
    if not isinstance(raw, dict):
        raise ReplyInvalid(f"{where} must be an object with text and segments, got {type(raw).__name__}")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ReplyInvalid(f"{where}.text must be a non-empty string, got {text!r}")
    lines = raw.get("segments")
    if not isinstance(lines, list) or not all(_is_number(n) for n in lines):
        raise ReplyInvalid(f"{where}.segments must be a list of segment numbers, got {lines!r}")
    return {"text": " ".join(text.split()), "segments": [int(n) for n in lines]}


def _is_number(value: Any) -> bool:
    # bool is an int subclass; true/false is never a line number. 3.0 is accepted as 3.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return float(value).is_integer()
