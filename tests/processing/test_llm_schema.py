"""The LLM backends' contract with the model on its own (processing/analysis/llm_schema.py): parsing and
validating replies, chunking, and turning cited line numbers into times. Pure functions, no server."""

from __future__ import annotations

import pytest

from processing.analysis import llm_schema
from tests.processing.fake_llm import _seg


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "empty"),
        ("[]", "must be a JSON object"),
        ('{"summary": [], "issues": [], "solutions": []}', '"summary" must not be empty'),
        ('{"summary": [{"text": "a", "segments": [1]}], "issues": []}', '"solutions" is missing'),
        ('{"summary": {}, "issues": [], "solutions": []}', '"summary" must be a list'),
        ('{"summary": ["a"], "issues": [], "solutions": []}', "summary[0] must be an object"),
        ('{"summary": [{"text": " ", "segments": [1]}], "issues": [], "solutions": []}', "summary[0].text"),
        ('{"summary": [{"text": "a", "segments": [true]}], "issues": [], "solutions": []}', "summary[0].segments"),
        ('{"summary": [{"text": "a", "segments": ["3"]}], "issues": [], "solutions": []}', "summary[0].segments"),
        ('{"summary": [{"text": "a", "segments": [1.5]}], "issues": [], "solutions": []}', "summary[0].segments"),
        ('{"summary": [{"text": "a"}], "issues": [], "solutions": []}', "summary[0].segments"),
    ],
)
def test_parse_reply_rejects(content: str | None, problem: str) -> None:
    with pytest.raises(llm_schema.ReplyInvalid, match=problem.replace("[", r"\[").replace("]", r"\]")):
        llm_schema.parse_reply(content, keys=llm_schema.ANALYSIS_KEYS)


def test_parse_reply_accepts_fenced_json_and_normalises_items() -> None:
    content = (
        '```json\n{"summary": [{"text": " ok \\n now ", "segments": [2.0, 1]}], "issues": [], "solutions": []}\n```'
    )
    parsed = llm_schema.parse_reply(content, keys=llm_schema.ANALYSIS_KEYS)
    assert parsed == {"summary": [{"text": "ok now", "segments": [2, 1]}], "issues": [], "solutions": []}


def test_chunking_keeps_an_oversized_segment_whole_caps_segments_and_skips_silence() -> None:
    segments = [_seg(0, 1, "short"), _seg(1, 2, "x" * 500), _seg(2, 3, ""), _seg(3, 4, "tail"), _seg(4, 5, "end")]
    chunks = llm_schema.chunk_segments(segments, 100, max_segments=15)
    assert [[s["text"][:5] for s in chunk] for chunk in chunks] == [["short"], ["xxxxx"], ["tail", "end"]]
    by_count = llm_schema.chunk_segments(segments, 10_000, max_segments=2)
    assert [[s["text"][:5] for s in chunk] for chunk in by_count] == [["short", "xxxxx"], ["tail", "end"]]
    # The budget counts each line as rendered: "[n] text" and its newline.
    lines = [_seg(n, n + 1, "abcd") for n in range(4)]  # "[1] abcd\n" is 9 characters
    assert [len(c) for c in llm_schema.chunk_segments(lines, 18, max_segments=15)] == [2, 2]
    assert [len(c) for c in llm_schema.chunk_segments(lines, 17, max_segments=15)] == [1, 1, 1, 1]


def test_a_citation_off_by_a_line_is_moved_to_the_line_the_item_repeats() -> None:
    lines = [
        _seg(0, 4, "それでは質疑に入ります。"),
        _seg(4, 8, "来年度の予算で、更新に向けた設計の費用を要求したいと考えております"),
        _seg(8, 12, "ありがとうございます。以上です。"),
        _seg(12, 16, "The vans are late every Monday."),
    ]
    items: list[llm_schema.Cited] = [
        {"text": "来年度の予算で 更新に向けた設計の費用を要求したい", "segments": [3]},  # its words are line 2's
        {"text": "設計の費用を要求する。", "segments": [2]},  # cited right: kept
        {"text": "Vans are late on Mondays.", "segments": [1]},  # line 4 is three lines away: out of reach, kept
        {"text": "予算", "segments": [1]},  # too little to say where it is from: kept
    ]
    resolved, dropped = llm_schema.resolve(items, lines, realign=True)
    assert dropped == 0
    assert [(i["start"], i["end"]) for i in resolved] == [(4, 8), (4, 8), (0, 4), (0, 4)]
    as_cited, _ = llm_schema.resolve(items, lines)  # the summary's citations are taken as they are
    assert (as_cited[0]["start"], as_cited[0]["end"]) == (8, 12)
