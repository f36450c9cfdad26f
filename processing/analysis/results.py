"""What an analysis backend is given, returns or raises; shared by the backends (extractive, llm)
without either importing the other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from processing.analysis.extractive import Item, Segment


@dataclass(frozen=True)
class AnalysisOptions:
    """The analysis settings (README), read once by .configuration.options_from_settings()."""

    backend: str = "extractive"  # ANALYSIS_BACKEND as resolved: extractive | local | openai ("auto" is resolved)
    summary_sentences: int = 3  # ANALYSIS_SUMMARY_SENTENCES
    language: str = ""  # ANALYSIS_LANGUAGE: write the analysis in this language; "" = the transcript's
    base_url: str = ""  # OPENAI_BASE_URL
    api_key: str = ""  # OPENAI_API_KEY
    model: str = ""  # ANALYSIS_LLM_MODEL
    timeout: float = 60.0  # ANALYSIS_LLM_TIMEOUT
    max_retries: int = 4  # ANALYSIS_LLM_MAX_RETRIES
    max_concurrency: int = 2  # ANALYSIS_LLM_MAX_CONCURRENCY
    context_chars: int = 24000  # ANALYSIS_LLM_CONTEXT_CHARS
    response_format: str = "json_schema"  # ANALYSIS_LLM_RESPONSE_FORMAT: json_schema | json_object
    chunk_segments: int = 15  # ANALYSIS_LLM_CHUNK_SEGMENTS: transcript segments per request at most
    # ANALYSIS_LLM_DECODING: {"*" or a language code: {parameter: value}}; None = the backend's defaults
    decoding: dict[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class AnalysisResult:
    summary: list[Item]
    issues: list[Item]
    solutions: list[Item]
    backend: str  # "extractive" | "local" | "openai"
    model: str  # "" for extractive, the LLM model name otherwise
    # language always; for "openai" also prompt_version, usage {prompt_tokens, completion_tokens, total_tokens},
    # latency_ms, requests (HTTP requests sent, retries and repairs included), chunks, splits, decoding.
    meta: dict[str, Any]


class AnalysisError(Exception):
    """Base class: analysis could not produce a result."""


class AnalysisConfigError(AnalysisError):
    """Permanent until a setting changes; the message names the setting."""


class AnalysisOutputError(AnalysisError):
    """Permanent: the model's reply stayed invalid after one repair attempt. `tail` is the model's last
    reply, which the stage keeps for the operator (admin) and never shows the uploader."""

    def __init__(self, message: str, *, tail: str = "") -> None:
        super().__init__(message)
        self.tail = tail


class AnalysisTransientError(AnalysisError):
    """Worth retrying later: the endpoint was rate-limited, down or slow through every in-call retry."""


SAME_ITEM = 0.6  # word (or, for Japanese and Chinese, character-pair) overlap from which two items are one


def tokens(text: str) -> set[str]:
    """Lower-cased words; a word in a script written without spaces (Japanese, Chinese) becomes its
    character pairs, so that text with and without a transcription's stray spaces compares alike."""
    letters = "".join(char.lower() if char.isalnum() else " " for char in text)
    found: set[str] = set()
    for word in letters.split():
        if any(_unspaced(char) for char in word):
            found.update(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        else:
            found.add(word)
    return found


def _unspaced(char: str) -> bool:
    # Hiragana, Katakana, CJK ideographs (and extension A), halfwidth Katakana.
    code = ord(char)
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xFF66 <= code <= 0xFF9F


def same_item(a: str, b: str) -> bool:
    """Jaccard overlap of the two texts' tokens at least SAME_ITEM (a reworded copy counts)."""
    left, right = tokens(a), tokens(b)
    return bool(left and right) and len(left & right) / len(left | right) >= SAME_ITEM


def exclusive(issues: list[Item], solutions: list[Item]) -> list[Item]:
    """The issues without those that are also listed as a solution: an item is one or the other, and a
    sentence that proposes an action is a solution even when it names the problem it solves ("We
    propose a new routing system to reduce the delays")."""
    return [issue for issue in issues if not any(same_item(issue["text"], s["text"]) for s in solutions)]


def with_speaker_names(segments: list[Segment], names: Mapping[str, str]) -> list[Segment]:
    """The segments as a language model reads them when more than one voice speaks: each text led by
    its speaker's name ("Tanaka: ..."); times unchanged, so citations resolve to the same moments."""
    if len({s.get("speaker") for s in segments if s.get("speaker")}) < 2:
        return segments
    out = []
    for segment in segments:
        label = str(segment.get("speaker") or "")
        name = names.get(label, label)
        out.append({**segment, "text": f"{name}: {segment['text'].strip()}"} if name else segment)
    return out


def attach_speakers(items: list[Item], segments: list[Segment]) -> list[Item]:
    """Each item with the label of the speaker who says most of the time it rests on (the cited
    segments): who raised an issue or proposed a solution. Items stay as they are without speakers."""
    labelled = [s for s in segments if s.get("speaker")]
    if not labelled:
        return items
    out = []
    for item in items:
        start, end = float(item["start"]), float(item["end"])
        talk: dict[str, float] = {}
        for segment in labelled:
            shared = min(end, float(segment["end"])) - max(start, float(segment["start"]))
            if shared > 0 or (start == end and float(segment["start"]) <= start <= float(segment["end"])):
                talk[str(segment["speaker"])] = talk.get(str(segment["speaker"]), 0.0) + max(shared, 1e-6)
        out.append({**item, "speaker": max(talk, key=lambda k: talk[k])} if talk else item)
    return out
