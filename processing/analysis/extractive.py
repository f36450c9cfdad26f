"""Offline, deterministic extractive analysis of timed transcripts.

Everything here is pure stdlib so it can run inside Celery workers, management
commands or tests without Django, network access or model downloads.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import NotRequired, TypedDict


class Segment(TypedDict):
    start: float
    end: float
    text: str
    speaker: NotRequired[str]  # "S1", set by the speakers stage


class Item(TypedDict):
    text: str
    start: float
    end: float
    speaker: NotRequired[str]  # the label of who said what the item rests on


@dataclass(frozen=True)
class _Sentence:
    text: str
    start: float
    end: float


_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
# Hiragana is mostly particles/inflections, so content runs are kanji/katakana only.
_CJK_CONTENT_RUN = re.compile(r"[\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)?")
# Latin terminators only end a sentence before whitespace/end, so "3.5" or "example.com" stay intact;
# CJK terminators are never followed by a space, so they always end a sentence.
_SENTENCE = re.compile(r".+?(?:[.!?]+[\"')\]]*(?=\s|$)|[。\uff01\uff1f]+[」』\uff09)]*|$)", re.DOTALL)
_JA_DETECT_RATIO = 0.2

# Kept as prose so the list stays readable; split once at import.
_STOP_WORDS_TEXT = """
    a about above after again all also am an and any are as at be because been before being below between
    both but by can could did do does doing don't down during each few for from further had has have having he
    her here hers him his how i i'm if in into is it it's its itself just let's me more most my no nor not now of
    off on once only or other our ours out over own same she so some such than that that's the their them then
    there these they this those through to too under until up very was we we're were what when where which
    while who whom why will with would you your yours yeah okay ok um uh well really think know going get got
    like"""
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

_EN_ISSUE_CUES = (
    r"problems?|problematic|issues?|concerns?|concerned|risks?|risky|delay(?:s|ed|ing)?|late|"
    r"fail(?:s|ed|ing|ures?)?|broken|bugs?|errors?|complain(?:s|ed|ing|ts?)?|unhappy|difficult(?:y|ies)?|"
    r"can['\u2019]t|cannot|unable|too\s+slow|too\s+expensive|shortages?|lack(?:s|ed|ing)?|declin(?:e|es|ed|ing)|"
    r"drop(?:s|ped|ping)?|worse|blockers?|blocked"
)
_EN_SOLUTION_CUES = (
    r"should|propos(?:e|es|ed|al|als)|suggest(?:s|ed|ion|ions)?|recommend(?:s|ed|ations?)?|"
    r"plan(?:s|ning)?\s+to|we\s+will|we['\u2019]ll|let['\u2019]s|let\s+us|needs?\s+to|must|could\s+try|action\s+items?|"
    r"next\s+steps?|decid(?:e|es|ed)\s+to|hir(?:e|es|ed|ing)|fix(?:es|ed|ing)?|"
    r"improv(?:e|es|ed|ing|ement|ements)|introduc(?:e|es|ed|ing)"
)
_EN_ISSUE = re.compile(rf"\b(?:{_EN_ISSUE_CUES})\b", re.IGNORECASE)
_EN_SOLUTION = re.compile(rf"\b(?:{_EN_SOLUTION_CUES})\b", re.IGNORECASE)
_JA_ISSUE_CUES = (
    "問題", "課題", "懸念", "遅れ", "おくれ", "遅延", "不足", "足りない", "足りません", "困難", "難しい", "失敗",
    "不満", "苦情", "障害", "リスク", "できない", "減少", "悪化", "予定より", "超過", "上回",
)  # fmt: skip
# "予定" alone also matched "費用が予定より高くなりました" (over what was planned: an issue); the plan
# to do something reads "〜予定です" / "〜予定しています".
_JA_SOLUTION_CUES = (
    "べき", "提案", "しましょう", "ましょう", "予定です", "予定しています", "対策", "改善", "導入", "検討",
    "する必要", "解決",
)  # fmt: skip


def resolve_language(segments: list[Segment], language: str = "en") -> str:
    """Map an ISO code (or "auto"/"") to the cue set to use: "ja" or "en"."""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if code in ("", "auto"):
        return _detect_language(" ".join(seg["text"] for seg in segments))
    return "ja" if code == "ja" else "en"


def _detect_language(text: str) -> str:
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return "en"
    cjk = sum(1 for ch in chars if _CJK_CHAR.match(ch))
    return "ja" if cjk / len(chars) > _JA_DETECT_RATIO else "en"


def _join_segments(segments: list[Segment]) -> tuple[str, list[tuple[int, int]]]:
    """Join segment texts, returning the text and each segment's [start, end) character span in it."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    for seg in segments:
        text = seg["text"].strip()
        # Japanese has no inter-word spaces; inserting one would corrupt sentences split across segments.
        if parts and text and not (_CJK_CHAR.match(parts[-1][-1]) and _CJK_CHAR.match(text[0])):
            parts.append(" ")
            offset += 1
        spans.append((offset, offset + len(text)))
        if text:
            parts.append(text)
            offset += len(text)
    return "".join(parts), spans


# Whisper often leaves out 。 in Japanese: a polite sentence ending not followed by a particle or
# punctuation ends a sentence. (Segment boundaries do not: Whisper cuts inside sentences too.)
_JA_END = re.compile(
    r"(?:ます|ました|です|でした|ません|ませんでした|でしょう|ましょう|ください)(?![がけのでかとねよなしにもをはりま、。\uff01\uff1f」』\uff09)])"
)


def _japanese_cuts(text: str, begin: int) -> list[int]:
    """Offsets inside text[begin:] after which a sentence ends although no terminator says so."""
    end = begin + len(text)
    return sorted(cut for cut in {begin + m.end() for m in _JA_END.finditer(text)} if begin < cut < end)


def _split_sentences(segments: list[Segment]) -> list[_Sentence]:
    text, spans = _join_segments(segments)
    sentences: list[_Sentence] = []
    for match in _SENTENCE.finditer(text):
        raw = match.group()
        if not raw.strip():
            continue
        begin = match.start()
        pieces = [begin, *_japanese_cuts(raw, begin), begin + len(raw)]
        for start, stop in itertools.pairwise(pieces):
            piece = text[start:stop]
            sentence = piece.strip()
            if not sentence:
                continue
            first_char = start + (len(piece) - len(piece.lstrip()))
            last_char = first_char + len(sentence)
            hits = [i for i, (s, e) in enumerate(spans) if s < last_char and e > first_char]
            first, last = segments[hits[0]], segments[hits[-1]]
            sentences.append(_Sentence(sentence, float(first["start"]), float(last["end"])))
    return sentences


def _content_tokens(sentence: str) -> list[str]:
    lowered = sentence.lower()
    words = [w.replace("\u2019", "'") for w in _LATIN_WORD.findall(lowered)]
    tokens = [w for w in words if w not in _STOP_WORDS and len(w) > 1]
    for run in _CJK_CONTENT_RUN.findall(lowered):
        tokens.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return tokens


def _to_item(sentence: _Sentence) -> Item:
    return {"text": sentence.text, "start": sentence.start, "end": sentence.end}


def summarize_text(segments: list[Segment], *, language: str = "en", max_sentences: int = 3) -> list[Item]:
    """Pick the `max_sentences` most representative sentences, returned in transcript order.

    `language` is accepted for API symmetry; tokenisation handles Latin and CJK scripts in any case.
    """
    sentences = _split_sentences(segments)
    if max_sentences <= 0 or not sentences:
        return []
    token_lists = [_content_tokens(s.text) for s in sentences]
    frequency = Counter(token for tokens in token_lists for token in tokens)
    peak = max(frequency.values(), default=1)

    def score(index: int) -> float:
        tokens = token_lists[index]
        if not tokens:
            return 0.0
        # sqrt damping: raw sums favour long sentences, a plain mean favours one-word sentences.
        return sum(frequency[t] / peak for t in tokens) / math.sqrt(len(tokens))

    ranked = sorted(range(len(sentences)), key=lambda i: (-score(i), i))
    return [_to_item(sentences[i]) for i in sorted(ranked[:max_sentences])]


def _matching(
    segments: list[Segment],
    language: str,
    english: re.Pattern[str],
    japanese: tuple[str, ...],
) -> list[Item]:
    sentences = _split_sentences(segments)
    if resolve_language(segments, language) == "ja":
        return [_to_item(s) for s in sentences if any(cue in s.text for cue in japanese)]
    return [_to_item(s) for s in sentences if english.search(s.text)]


def definition_issue(segments: list[Segment], *, language: str = "en") -> list[Item]:
    """Sentences that raise a problem, in transcript order."""
    return _matching(segments, language, _EN_ISSUE, _JA_ISSUE_CUES)


def definition_solution(segments: list[Segment], *, language: str = "en") -> list[Item]:
    """Sentences that propose an action, in transcript order."""
    return _matching(segments, language, _EN_SOLUTION, _JA_SOLUTION_CUES)
