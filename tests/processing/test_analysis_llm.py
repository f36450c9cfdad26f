"""The LLM analysis backends against a loopback server that speaks the chat-completions API.

Nothing in our code or the SDK is patched: the fake is the server, scripted per test. Only the retry sleep
is swapped (llm._sleep) so that backoff is recorded instead of waited out. No database is used.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import override_settings

from processing.analysis import llm
from processing.analysis.backends import AnalysisConfigError, AnalysisOutputError, AnalysisResult, analyze
from processing.analysis.llm_config import LOCAL_DECODING
from processing.messages import operator_detail
from tests.processing.fake_llm import (
    CITED_ISSUES,
    CITED_SUMMARY,
    EN_SEGMENTS,
    GOOD,
    ISSUES,
    JA_SEGMENTS,
    SOLUTIONS,
    SUMMARY,
    FakeLLM,
    Reply,
    _cite,
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
    assert (meta["requests"], meta["chunks"], meta["repairs"], meta["splits"], meta["language"]) == (1, 1, 0, 0, "en")
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "test-model"
    # The reply's JSON schema is the response format: a server that constrains output cannot break it.
    response_format = request.body["response_format"]
    assert (response_format["type"], response_format["json_schema"]["strict"]) == ("json_schema", True)
    schema = response_format["json_schema"]["schema"]
    assert schema["required"] == ["summary", "issues", "solutions"]
    item = schema["properties"]["issues"]["items"]
    assert item["required"] == ["text", "segments"]
    assert item["properties"]["segments"] == {"type": "array", "items": {"type": "integer"}, "maxItems": 8}
    assert meta["uncited"] == 0
    # The instructions, one worked example, then the transcript as numbered lines.
    assert [m["role"] for m in request.body["messages"]] == ["system", "user", "assistant", "user"]
    json.loads(request.body["messages"][2]["content"])  # the example reply is itself valid
    assert "English" in request.system
    for key in ('"summary"', '"issues"', '"solutions"'):
        assert key in request.system
    assert '"summary": at most 3 short items that together summarise what was said' in request.system
    assert request.user.splitlines()[1] == "[2] The mobile release is delayed because payments keep failing."
    # Local servers need no key; the SDK refuses an empty one, so a placeholder is sent.
    assert request.headers["authorization"] == "Bearer unused"
    # A hosted endpoint gets only the API's own sampling fields.
    assert (request.body["temperature"], request.body["max_tokens"]) == (0.0, 2048)
    assert "repeat_penalty" not in request.body


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
    # EN_SEGMENTS has lines 1-4: 0 and 9 name none; a citation with one good number keeps only that one.
    nowhere = _cite("A point nobody made.", 9)
    server.script(
        Reply(
            content=_content(
                [*CITED_SUMMARY, nowhere], [_cite("Also from nowhere.", 0), *CITED_ISSUES, _cite("Late.", 2, 7)]
            )
        )
    )

    result = analyze(EN_SEGMENTS, language="en")

    assert result.summary == SUMMARY
    assert result.issues == [*ISSUES, _item("Late.", 4.0, 9.5)]
    assert result.meta["uncited"] == 2


def test_an_item_citing_several_lines_spans_them(server: FakeLLM) -> None:
    server.script(Reply(content=_content([_cite("The whole meeting.", 4, 1, 2)], [], [])))
    assert analyze(EN_SEGMENTS, language="en").summary == [_item("The whole meeting.", 0.0, 20.0)]


def test_an_item_is_never_both_an_issue_and_a_solution(server: FakeLLM) -> None:
    both = _cite("We should move payments to the new provider.", 3)
    reworded = _cite("Move the payments to the new provider.", 3)
    server.script(Reply(content=_content(issues=[*CITED_ISSUES, both], solutions=[reworded])))

    result = analyze(EN_SEGMENTS, language="en")

    assert result.issues == ISSUES  # the proposal is a solution only
    assert result.solutions == [_item("Move the payments to the new provider.", 9.5, 15.0)]


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
    server.script(Reply(content=_content([_cite("リリースが遅れている。", 2)], [], [])))

    result = analyze(JA_SEGMENTS, language=language)

    assert result.meta["language"] == "ja"
    assert result.summary == [_item("リリースが遅れている。", 3.0, 7.5)]
    assert 'Write every "text" in Japanese' in server.requests[0].system
    assert "[2] 新機能のリリースが二週間遅れています。" in server.requests[0].user


def test_analysis_language_setting_overrides_the_transcripts(server: FakeLLM) -> None:
    server.script(Reply(content=_content([_cite("The release is two weeks late.", 2)], [], [])))

    with override_settings(ANALYSIS_LANGUAGE="en"):
        result = analyze(JA_SEGMENTS, language="ja")

    assert (result.meta["language"], result.meta["transcript_language"]) == ("en", "ja")
    assert 'Write every "text" in English' in server.requests[0].system


# --- decoding per language ---------------------------------------------------------------------------------


def _decoding_sent(server: FakeLLM, segments: list[Any], language: str, **settings: Any) -> dict[str, Any]:
    server.script(Reply(content=_content([_cite("x", 1)], [], [])))
    with override_settings(**settings):
        analyze(segments, language=language)
    body = server.requests[-1].body
    return {k: body[k] for k in ("temperature", "max_tokens", "repeat_penalty", "frequency_penalty") if k in body}


def test_the_local_backend_sends_llama_cpps_repeat_penalty_and_hosted_ones_never(server: FakeLLM) -> None:
    local = {"ANALYSIS_BACKEND": "local", "LLM_URL": server.base_url, "LLM_MODEL": "qwen2.5-1.5b", "LLM_API_KEY": ""}
    for segments, language in ((EN_SEGMENTS, "en"), (JA_SEGMENTS, "ja")):
        expected = {**LOCAL_DECODING["*"], **LOCAL_DECODING.get(language, {})}
        assert _decoding_sent(server, segments, language, **local) == expected
        assert "repeat_penalty" in expected
        assert _decoding_sent(server, segments, language) == {"temperature": 0.0, "max_tokens": 2048}
    assert server.requests[0].body["model"] == "qwen2.5-1.5b"


def test_decoding_setting_is_per_language_and_passes_server_fields_through(server: FakeLLM) -> None:
    decoding = {"*": {"temperature": 0.2}, "ja": {"frequency_penalty": 0.3, "repetition_penalty": 1.2}}
    assert _decoding_sent(server, EN_SEGMENTS, "en", ANALYSIS_LLM_DECODING=decoding) == {"temperature": 0.2}
    ja = _decoding_sent(server, JA_SEGMENTS, "ja", ANALYSIS_LLM_DECODING=decoding)
    assert ja == {"temperature": 0.2, "frequency_penalty": 0.3}
    assert server.requests[-1].body["repetition_penalty"] == 1.2  # vLLM's name, in the body as given


def test_a_malformed_decoding_setting_names_it(server: FakeLLM) -> None:
    with (
        override_settings(ANALYSIS_LLM_DECODING={"ja": 1.15}),
        pytest.raises(AnalysisConfigError, match="set ANALYSIS_LLM_DECODING"),
    ):
        analyze(EN_SEGMENTS, language="en")
    assert server.requests == []


# --- invalid output and the single repair ------------------------------------------------------------------


def test_malformed_json_is_repaired_once(server: FakeLLM) -> None:
    bad = 'Here you go: {"summary": ['
    server.script(Reply(content=bad), GOOD)

    result = analyze(EN_SEGMENTS, language="en")

    assert result.summary == SUMMARY
    assert (result.meta["requests"], result.meta["repairs"]) == (2, 1)
    assert result.meta["usage"]["total_tokens"] == 240
    repair = server.requests[1].body["messages"]
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert repair[4]["content"] == bad
    assert "not valid JSON" in repair[5]["content"]


def test_output_still_invalid_after_repair_raises_output_error_keeping_the_reply(server: FakeLLM) -> None:
    last = json.dumps({"summary": [{"text": "From minute five.", "segments": "5"}], "issues": [], "solutions": []})
    server.script(Reply(content="not json at all"), Reply(content=last))

    with pytest.raises(AnalysisOutputError) as caught:
        analyze(EN_SEGMENTS, language="en")

    message = str(caught.value)
    assert "after one repair attempt" in message
    assert "summary[0].segments must be a list of segment numbers, got '5'" in message
    assert len(server.requests) == 2
    # The operator sees the model's last reply in admin (stage detail); the uploader sees the message only.
    assert caught.value.tail == last
    assert operator_detail(caught.value).endswith(f"the model's last reply:\n{last}")


# --- long transcripts --------------------------------------------------------------------------------------


def test_long_transcript_is_chunked_merged_and_reports_progress(server: FakeLLM) -> None:
    texts = [f"Topic {n}: item {n} was discussed at length." for n in range(6)]
    segments = [_seg(10.0 * n, 10.0 * n + 9.0, text) for n, text in enumerate(texts)]
    server.script(
        Reply(
            content=_content(
                [_cite("Part one.", 1, 2)], [_cite("Budget is short.", 1), _cite("Payments keep failing.", 2)], []
            )
        ),
        Reply(
            content=_content([_cite("Part two.", 1, 2)], [_cite("Payments keep failing!", 1)], [_cite("Hire help.", 2)])
        ),
        Reply(content=_content([_cite("Part three.", 1, 2)], [_cite("Hiring is slow.", 1)], [])),
        Reply(content=json.dumps({"summary": [_cite("The whole meeting.", 1, 3)]})),
    )
    progress: list[tuple[str, float]] = []

    with override_settings(ANALYSIS_LLM_CHUNK_SEGMENTS=2):
        result = analyze(segments, language="en", on_progress=lambda note, done: progress.append((note, done)))

    assert (result.meta["chunks"], result.meta["requests"]) == (3, 4)
    chunk_requests, merge_request = server.requests[:3], server.requests[3]
    for n, request in enumerate(chunk_requests):
        assert request.user.splitlines() == [f"[1] {texts[2 * n]}", f"[2] {texts[2 * n + 1]}"]
    # The instructions and example are the same for every chunk: a server's prompt cache reads them once.
    assert len({json.dumps(r.body["messages"][:3]) for r in chunk_requests}) == 1
    assert "partial summaries" in merge_request.system
    assert "At most 3 short items" in merge_request.system
    assert merge_request.user.splitlines() == ["[1] Part one.", "[2] Part two.", "[3] Part three."]
    assert result.summary == [_item("The whole meeting.", 0.0, 59.0)]
    # Each chunk's line numbers become that chunk's times; the reworded repeat is merged away.
    assert result.issues == [
        _item("Budget is short.", 0.0, 9.0),
        _item("Payments keep failing.", 10.0, 19.0),
        _item("Hiring is slow.", 40.0, 49.0),
    ]
    assert result.solutions == [_item("Hire help.", 30.0, 39.0)]
    assert result.meta["usage"]["total_tokens"] == 4 * 120
    assert progress == [
        ("chunk 1 of 3", 0.0),
        ("chunk 2 of 3", 0.25),
        ("chunk 3 of 3", 0.5),
        ("merging the summaries of 3 chunks", 0.75),
    ]


def test_a_chunk_over_the_models_context_is_halved_and_sent_again(server: FakeLLM) -> None:
    # llama.cpp's own answer to a prompt over its context (a 400 without an OpenAI error code).
    too_long = Reply(
        400,
        body={"error": {"code": 400, "type": "exceed_context_size_error",
                        "message": "the request exceeds the available context size, try increasing it"}},
    )  # fmt: skip
    server.script(
        too_long,
        Reply(content=_content([_cite("First half.", 1)], [_cite("Payments keep failing.", 2)], [])),
        Reply(content=_content([_cite("Second half.", 1)], [], [_cite("Maria profiles checkout.", 2)])),
        Reply(content=json.dumps({"summary": [_cite("Both halves.", 1, 2)]})),
    )

    result = analyze(EN_SEGMENTS, language="en")

    assert (result.meta["splits"], result.meta["chunks"], result.meta["requests"]) == (1, 2, 4)
    assert len(server.requests[0].user.splitlines()) == 4
    assert [len(r.user.splitlines()) for r in server.requests[1:3]] == [2, 2]
    assert result.issues == ISSUES
    assert result.solutions == [_item("Maria profiles checkout.", 15.0, 20.0)]
    assert result.summary == [_item("Both halves.", 0.0, 15.0)]  # "First half." (line 1) to "Second half." (line 3)


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
