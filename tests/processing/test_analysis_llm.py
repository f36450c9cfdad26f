"""The "openai" analysis backend against a loopback server that speaks the chat-completions API.

Nothing in our code or the SDK is patched: the fake is the server, scripted per test. Only the retry sleep
is swapped (llm._sleep) so that backoff is recorded instead of waited out. No database is used.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import override_settings

from processing.analysis import llm, llm_schema
from processing.analysis.backends import (
    AnalysisConfigError,
    AnalysisOutputError,
    AnalysisResult,
    analyze,
)
from tests.processing.fake_llm import (
    EN_SEGMENTS,
    GOOD,
    ISSUES,
    JA_SEGMENTS,
    SOLUTIONS,
    SUMMARY,
    FakeLLM,
    Reply,
    _content,
    _item,
    _seg,
)

pytestmark = pytest.mark.usefixtures("delays")  # backoff recorded, not waited


# --- success and the request we send -----------------------------------------------------------------------


def test_success_parses_items_and_records_meta(server: FakeLLM) -> None:
    server.script(GOOD)

    result = analyze(EN_SEGMENTS, language="en")

    assert result == AnalysisResult(SUMMARY, ISSUES, SOLUTIONS, backend="openai", model="test-model", meta=result.meta)
    meta = result.meta
    assert meta["usage"] == {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    assert meta["prompt_version"] == llm.PROMPT_VERSION
    assert meta["latency_ms"] > 0
    assert (meta["requests"], meta["chunks"], meta["repairs"], meta["language"]) == (1, 1, 0, "en")
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "test-model"
    # The reply's JSON schema is the response format: a server that constrains output cannot break it.
    response_format = request.body["response_format"]
    assert (response_format["type"], response_format["json_schema"]["strict"]) == ("json_schema", True)
    schema = response_format["json_schema"]["schema"]
    assert schema["required"] == ["summary", "issues", "solutions"]
    assert schema["properties"]["issues"]["items"]["required"] == ["text", "start", "end"]
    assert meta["uncited"] == 0
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    assert "English" in request.system
    for key in ('"summary"', '"issues"', '"solutions"'):
        assert key in request.system
    assert request.user.splitlines()[1] == "[4.0-9.5] The mobile release is delayed because payments keep failing."
    # Local servers need no key; the SDK refuses an empty one, so a placeholder is sent.
    assert request.headers["authorization"] == "Bearer unused"


def test_json_object_is_the_format_for_servers_without_schemas(server: FakeLLM) -> None:
    server.script(GOOD)
    with override_settings(ANALYSIS_LLM_RESPONSE_FORMAT="json_object"):
        analyze(EN_SEGMENTS, language="en")
    assert server.requests[0].body["response_format"] == {"type": "json_object"}


def test_an_unknown_response_format_is_a_configuration_error(server: FakeLLM) -> None:
    with (
        override_settings(ANALYSIS_LLM_RESPONSE_FORMAT="grammar"),
        pytest.raises(AnalysisConfigError, match="ANALYSIS_LLM_RESPONSE_FORMAT='grammar' is not one of"),
    ):
        analyze(EN_SEGMENTS, language="en")
    assert server.requests == []


def test_items_citing_no_segment_are_dropped(server: FakeLLM) -> None:
    # 15.0-20.0 holds a segment; 20.5-20.9 lies in the second of slack after the last one: a time
    # parse_reply accepts, but no segment is there.
    nowhere = _item("A point nobody made.", 20.6, 20.9)
    server.script(Reply(content=_content(summary=[*SUMMARY, nowhere], issues=[nowhere, *ISSUES])))

    result = analyze(EN_SEGMENTS, language="en")

    assert result.summary == SUMMARY
    assert result.issues == ISSUES
    assert result.meta["uncited"] == 2


def test_an_item_is_never_both_an_issue_and_a_solution(server: FakeLLM) -> None:
    both = _item("We should move payments to the new provider.", 9.5, 15.0)
    reworded = _item("Move the payments to the new provider.", 9.5, 15.0)
    server.script(Reply(content=_content(issues=[*ISSUES, both], solutions=[reworded])))

    result = analyze(EN_SEGMENTS, language="en")

    assert result.issues == ISSUES  # the proposal is a solution only
    assert result.solutions == [reworded]


def test_configured_api_key_is_sent(server: FakeLLM) -> None:
    server.script(GOOD)
    with override_settings(OPENAI_API_KEY="sk-test-123"):
        analyze(EN_SEGMENTS, language="en")
    assert server.requests[0].headers["authorization"] == "Bearer sk-test-123"


def test_transcript_without_words_sends_nothing(server: FakeLLM) -> None:
    result = analyze([_seg(0.0, 2.0, "  ")], language="en")
    assert (result.summary, result.issues, result.solutions) == ([], [], [])
    assert (result.meta["requests"], result.meta["chunks"]) == (0, 0)
    assert server.requests == []


@pytest.mark.parametrize("language", ["", "auto", "ja", "ja-JP"])
def test_japanese_transcript_is_analysed_in_japanese(server: FakeLLM, language: str) -> None:
    server.script(Reply(content=_content([_item("リリースが遅れている。", 3.0, 7.5)], [], [])))

    result = analyze(JA_SEGMENTS, language=language)

    assert result.meta["language"] == "ja"
    assert result.summary[0]["text"] == "リリースが遅れている。"
    assert "Japanese" in server.requests[0].system
    assert "[3.0-7.5] 新機能のリリースが二週間遅れています。" in server.requests[0].user


# --- invalid output and the single repair ------------------------------------------------------------------


def test_malformed_json_is_repaired_once(server: FakeLLM) -> None:
    bad = 'Here you go: {"summary": ['
    server.script(Reply(content=bad), GOOD)

    result = analyze(EN_SEGMENTS, language="en")

    assert result.summary == SUMMARY
    assert (result.meta["requests"], result.meta["repairs"]) == (2, 1)
    assert result.meta["usage"]["total_tokens"] == 240
    repair = server.requests[1].body["messages"]
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert repair[2]["content"] == bad
    assert "not valid JSON" in repair[3]["content"]


def test_output_still_invalid_after_repair_raises_output_error(server: FakeLLM) -> None:
    out_of_range = [_item("Something from minute five.", 300.0, 310.0)]
    server.script(Reply(content="not json at all"), Reply(content=_content(issues=out_of_range)))

    with pytest.raises(AnalysisOutputError) as caught:
        analyze(EN_SEGMENTS, language="en")

    message = str(caught.value)
    assert "after one repair attempt" in message
    assert "issues[0].start 300 is outside the transcript (0-21 s)" in message
    assert len(server.requests) == 2


# --- long transcripts --------------------------------------------------------------------------------------


def test_long_transcript_is_chunked_and_merged(server: FakeLLM) -> None:
    # Each rendered line ("[a-b] text" and a newline) is about 52 characters: two fit in 120, six make three chunks.
    texts = [f"Topic {n}: item {n} was discussed at length." for n in range(6)]
    segments = [_seg(10.0 * n, 10.0 * n + 9.0, text) for n, text in enumerate(texts)]
    shared = _item("Payments keep failing.", 10.0, 19.0)
    server.script(
        Reply(content=_content([_item("Part one.", 0.0, 19.0)], [_item("Budget is short.", 0.0, 9.0), shared], [])),
        Reply(content=_content([_item("Part two.", 20.0, 39.0)], [shared], [_item("Hire help.", 30.0, 39.0)])),
        Reply(content=_content([_item("Part three.", 40.0, 59.0)], [_item("Hiring is slow.", 40.0, 49.0)], [])),
        Reply(content=json.dumps({"summary": [_item("The whole meeting.", 0.0, 59.0)]})),
    )

    with override_settings(ANALYSIS_LLM_CONTEXT_CHARS=120):
        result = analyze(segments, language="en")

    assert (result.meta["chunks"], result.meta["requests"]) == (3, 4)
    chunk_requests, merge_request = server.requests[:3], server.requests[3]
    for n, request in enumerate(chunk_requests):
        assert len(request.user) <= 120
        assert request.user.splitlines() == [f"[{10 * i}.0-{10 * i + 9}.0] {texts[i]}" for i in (2 * n, 2 * n + 1)]
        assert f"part {n + 1} of 3" in request.system
    assert "partial summaries" in merge_request.system
    assert merge_request.user.splitlines() == [
        "[0.0-19.0] Part one.",
        "[20.0-39.0] Part two.",
        "[40.0-59.0] Part three.",
    ]
    assert result.summary == [_item("The whole meeting.", 0.0, 59.0)]
    assert [i["text"] for i in result.issues] == ["Budget is short.", "Payments keep failing.", "Hiring is slow."]
    assert [i["text"] for i in result.solutions] == ["Hire help."]
    assert result.meta["usage"]["total_tokens"] == 4 * 120


# --- concurrency -------------------------------------------------------------------------------------------


def _three_analyses_at_once(server: FakeLLM, cap: int) -> int:
    """Run three analyses in parallel threads; return the most requests the server had in flight at once."""
    server.default = Reply(content=_content(), delay=0.3)
    with override_settings(ANALYSIS_LLM_MAX_CONCURRENCY=cap), ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: analyze(EN_SEGMENTS, language="en"), range(3)))
    assert [r.summary for r in results] == [SUMMARY] * 3
    assert len(server.requests) == 3
    return server.max_in_flight


def test_concurrency_cap_of_one_serialises_requests(server: FakeLLM) -> None:
    assert _three_analyses_at_once(server, cap=1) == 1


def test_without_a_tight_cap_requests_overlap(server: FakeLLM) -> None:
    # The control for the test above: the server does see overlap when the cap allows it.
    assert 1 < _three_analyses_at_once(server, cap=3) <= 3


# --- the reply contract on its own -------------------------------------------------------------------------

_LIMIT = 21.0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "empty"),
        ("[]", "must be a JSON object"),
        ('{"summary": [], "issues": [], "solutions": []}', '"summary" must not be empty'),
        ('{"summary": [{"text": "a", "start": 0, "end": 1}], "issues": []}', '"solutions" is missing'),
        ('{"summary": {}, "issues": [], "solutions": []}', '"summary" must be a list'),
        ('{"summary": ["a"], "issues": [], "solutions": []}', "summary[0] must be an object"),
        ('{"summary": [{"text": " ", "start": 0, "end": 1}], "issues": [], "solutions": []}', "summary[0].text"),
        ('{"summary": [{"text": "a", "start": true, "end": 1}], "issues": [], "solutions": []}', "summary[0].start"),
        ('{"summary": [{"text": "a", "start": "3", "end": 4}], "issues": [], "solutions": []}', "summary[0].start"),
        ('{"summary": [{"text": "a", "start": 5, "end": 4}], "issues": [], "solutions": []}', "start 5 is after end 4"),
        ('{"summary": [{"text": "a", "start": -1, "end": 4}], "issues": [], "solutions": []}', "outside"),
        ('{"summary": [{"text": "a", "start": 1, "end": 22}], "issues": [], "solutions": []}', "summary[0].end 22"),
    ],
)
def test_parse_reply_rejects(content: str | None, problem: str) -> None:
    with pytest.raises(llm_schema.ReplyInvalid, match=problem.replace("[", r"\[").replace("]", r"\]")):
        llm_schema.parse_reply(content, keys=llm_schema.ANALYSIS_KEYS, time_limit=_LIMIT)


def test_parse_reply_accepts_fenced_json_and_normalises_items() -> None:
    content = '```json\n{"summary": [{"text": " ok ", "start": 1, "end": 21}], "issues": [], "solutions": []}\n```'
    parsed = llm_schema.parse_reply(content, keys=llm_schema.ANALYSIS_KEYS, time_limit=_LIMIT)
    assert parsed == {"summary": [_item("ok", 1.0, 21.0)], "issues": [], "solutions": []}


def test_chunking_keeps_an_oversized_segment_whole_and_skips_silence() -> None:
    segments = [_seg(0, 1, "short"), _seg(1, 2, "x" * 500), _seg(2, 3, ""), _seg(3, 4, "tail")]
    chunks = llm_schema.chunk_segments(segments, 100)
    assert [[s["text"][:5] for s in chunk] for chunk in chunks] == [["short"], ["xxxxx"], ["tail"]]
