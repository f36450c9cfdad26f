"""The "openai" analysis backend against a loopback server that speaks the chat-completions API.

Nothing in our code or the SDK is patched: the fake is the server, scripted per test. Only the retry sleep
is swapped (llm._sleep) so that backoff is recorded instead of waited out. No database is used.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings

from processing.analysis import llm, llm_schema
from processing.analysis.backends import (
    AnalysisConfigError,
    AnalysisOutputError,
    AnalysisResult,
    AnalysisTransientError,
    analyze,
)
from processing.analysis.extractive import Item, Segment

# --- the fake chat-completions server ----------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer: a chat completion carrying `content`, or an error `status` with `body`."""

    status: int = 200
    content: str | None = None
    body: Any = None  # replaces the chat.completion envelope (JSON-encoded unless bytes)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering, to provoke client timeouts or overlap
    usage: tuple[int, int] = (100, 20)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def system(self) -> str:
        return str(self.body["messages"][0]["content"])

    @property
    def user(self) -> str:
        return str(self.body["messages"][1]["content"])


class FakeLLM:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.default: Reply | None = None  # answered once the script runs out
        self.requests: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.base_url = ""

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def take(self, received: Received) -> Reply:
        with self.lock:
            self.requests.append(received)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.replies:
                return self.replies.popleft()
            return self.default or Reply(418, body={"error": {"message": "the fake LLM has no scripted reply"}})

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1


class _Server(ThreadingHTTPServer):
    fake: FakeLLM


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        fake = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        reply = fake.take(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw)))
        try:
            time.sleep(reply.delay)
        finally:
            # Counted out before answering: the client can only send its next request after this answer,
            # so a request seen while another is counted really overlapped it.
            fake.done()
        data, content_type = _encode(reply, model=json.loads(raw).get("model", ""))
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and hung up; that is what timeout tests want

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean


def _encode(reply: Reply, *, model: str) -> tuple[bytes, str]:
    if isinstance(reply.body, bytes):
        return reply.body, "text/html"
    if reply.body is not None:
        return json.dumps(reply.body).encode(), "application/json"
    if reply.status != 200:
        return json.dumps(
            {"error": {"message": f"scripted {reply.status}", "type": "test"}}
        ).encode(), "application/json"
    prompt, completion = reply.usage
    payload = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }
    return json.dumps(payload).encode(), "application/json"


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_port}/v1"  # the SDK appends /chat/completions
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


LLM_SETTINGS: dict[str, Any] = {
    "ANALYSIS_BACKEND": "openai",
    "OPENAI_API_KEY": "",
    "ANALYSIS_LLM_MODEL": "test-model",
    "ANALYSIS_LLM_TIMEOUT": 5.0,
    "ANALYSIS_LLM_MAX_RETRIES": 2,
    "ANALYSIS_LLM_MAX_CONCURRENCY": 2,
    "ANALYSIS_LLM_CONTEXT_CHARS": 24000,
    "ANALYSIS_SUMMARY_SENTENCES": 3,
}


@pytest.fixture
def server(fake_llm: FakeLLM) -> Iterator[FakeLLM]:
    """The fake server, with settings pointing the openai backend at it."""
    with override_settings(**LLM_SETTINGS, OPENAI_BASE_URL=fake_llm.base_url):
        yield fake_llm


@pytest.fixture(autouse=True)
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(llm, "_sleep", recorded.append)
    return recorded


# --- transcripts and replies -------------------------------------------------------------------------------


def _seg(start: float, end: float, text: str) -> Segment:
    return {"start": start, "end": end, "text": text}


def _item(text: str, start: float, end: float) -> Item:
    return {"text": text, "start": start, "end": end}


EN_SEGMENTS = [
    _seg(0.0, 4.0, "Good morning, thanks for joining."),
    _seg(4.0, 9.5, "The mobile release is delayed because payments keep failing."),
    _seg(9.5, 15.0, "We should move payments to the new provider."),
    _seg(15.0, 20.0, "Maria will profile the checkout flow next week."),
]
JA_SEGMENTS = [
    _seg(0.0, 3.0, "皆さん、おはようございます。"),
    _seg(3.0, 7.5, "新機能のリリースが二週間遅れています。"),
    _seg(7.5, 12.0, "来月までに新しいサーバーを導入する予定です。"),
]
SUMMARY = [_item("The release slipped because payments fail.", 4.0, 9.5)]
ISSUES = [_item("Payments keep failing.", 4.0, 9.5)]
SOLUTIONS = [_item("Move payments to the new provider.", 9.5, 15.0)]


def _content(summary: list[Item] = SUMMARY, issues: list[Item] = ISSUES, solutions: list[Item] = SOLUTIONS) -> str:
    return json.dumps({"summary": summary, "issues": issues, "solutions": solutions})


GOOD = Reply(content=_content())


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


# --- retries -----------------------------------------------------------------------------------------------


def test_rate_limit_is_retried_honouring_capped_retry_after(server: FakeLLM, delays: list[float]) -> None:
    server.script(
        Reply(429, headers={"Retry-After": "3600"}),
        Reply(429, headers={"Retry-After": "2"}),
        Reply(429, headers={"retry-after-ms": "1500"}),
        GOOD,
    )

    with override_settings(ANALYSIS_LLM_MAX_RETRIES=3):
        result = analyze(EN_SEGMENTS, language="en")

    assert result.summary == SUMMARY
    assert delays == [llm.RETRY_AFTER_CAP, 2.0, 1.5]
    assert result.meta["requests"] == len(server.requests) == 4


def test_server_errors_exhaust_retries_into_transient_error(server: FakeLLM, delays: list[float]) -> None:
    server.script(*[Reply(500)] * 3)

    with pytest.raises(AnalysisTransientError, match="HTTP 500"):
        analyze(EN_SEGMENTS, language="en")

    assert len(server.requests) == 3  # ANALYSIS_LLM_MAX_RETRIES=2 retries after the first attempt
    # Full jitter: anywhere between 0 and the doubling, capped, bound.
    assert len(delays) == 2
    assert all(0 <= delay <= min(llm.BACKOFF_CAP, llm.BACKOFF_BASE * 2**i) for i, delay in enumerate(delays))


def test_slow_answer_times_out_and_a_fast_retry_succeeds(server: FakeLLM, delays: list[float]) -> None:
    server.script(Reply(content=_content(), delay=1.5), GOOD)

    with override_settings(ANALYSIS_LLM_TIMEOUT=0.5):
        result = analyze(EN_SEGMENTS, language="en")

    assert result.summary == SUMMARY
    assert len(server.requests) == 2
    assert len(delays) == 1


def test_timeouts_on_every_attempt_raise_transient_error(server: FakeLLM) -> None:
    server.script(Reply(content=_content(), delay=1.0), Reply(content=_content(), delay=1.0))

    with (
        override_settings(ANALYSIS_LLM_TIMEOUT=0.3, ANALYSIS_LLM_MAX_RETRIES=1),
        pytest.raises(AnalysisTransientError, match="APITimeoutError"),
    ):
        analyze(EN_SEGMENTS, language="en")

    assert len(server.requests) == 2


def test_unreachable_endpoint_raises_transient_error(delays: list[float]) -> None:
    with socket.socket() as probe:  # a port that was just free: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with (
        override_settings(**LLM_SETTINGS, OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1"),
        pytest.raises(AnalysisTransientError, match="3 attempt"),
    ):
        analyze(EN_SEGMENTS, language="en")

    assert len(delays) == 2


@pytest.mark.parametrize(
    ("status", "names"),
    [
        (401, "refused the API key (401): set OPENAI_API_KEY"),
        (403, "OPENAI_API_KEY"),
        (404, "not found (404): set ANALYSIS_LLM_MODEL"),
        (400, "bad request (400)"),
        (422, "OPENAI_BASE_URL"),
    ],
)
def test_refusals_are_config_errors_without_retry(
    server: FakeLLM, delays: list[float], status: int, names: str
) -> None:
    server.script(Reply(status, body={"error": {"message": "told you so", "type": "invalid_request_error"}}))

    with pytest.raises(AnalysisConfigError) as caught:
        analyze(EN_SEGMENTS, language="en")

    assert names in str(caught.value)
    assert "told you so" in str(caught.value)  # the server's own explanation is kept
    assert len(server.requests) == 1
    assert delays == []


def test_context_length_error_points_at_context_setting(server: FakeLLM) -> None:
    server.script(Reply(400, body={"error": {"message": "too long", "code": "context_length_exceeded"}}))
    with pytest.raises(AnalysisConfigError, match="ANALYSIS_LLM_CONTEXT_CHARS"):
        analyze(EN_SEGMENTS, language="en")


def test_llama_cpps_context_error_points_at_context_setting(server: FakeLLM) -> None:
    # What manage.py llm_server answered in bench.analysis for a 10-minute transcript.
    message = "request (4159 tokens) exceeds the available context size (4096 tokens), try increasing it"
    server.script(Reply(400, body={"error": {"code": 400, "message": message, "type": "exceed_context_size_error"}}))
    with pytest.raises(AnalysisConfigError, match=r"too long for the model.*ANALYSIS_LLM_CONTEXT_CHARS"):
        analyze(EN_SEGMENTS, language="en")


def test_endpoint_that_is_not_a_chat_api_is_a_config_error(server: FakeLLM) -> None:
    server.script(Reply(body=b"<html>Welcome to nginx</html>"))
    with pytest.raises(AnalysisConfigError, match="OPENAI_BASE_URL"):
        analyze(EN_SEGMENTS, language="en")
    assert len(server.requests) == 1


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
