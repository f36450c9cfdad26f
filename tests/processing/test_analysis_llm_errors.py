"""The "openai" analysis backend when the endpoint fails: retries with backoff, timeouts, refusals that
name the setting to change (tests/processing/fake_llm.py is the server)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.test import override_settings

from processing.analysis import llm, llm_errors
from processing.analysis.backends import (
    AnalysisConfigError,
    AnalysisTransientError,
    analyze,
)
from tests.processing.fake_llm import (
    EN_SEGMENTS,
    GOOD,
    LLM_SETTINGS,
    SUMMARY,
    FakeLLM,
    Reply,
    _content,
)

pytestmark = pytest.mark.usefixtures("delays")  # backoff recorded, not waited


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
    assert delays == [llm_errors.RETRY_AFTER_CAP, 2.0, 1.5]
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


LLAMA_CPP_CONTEXT_ERROR = "request (4159 tokens) exceeds the available context size (4096 tokens), try increasing it"


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "too long", "code": "context_length_exceeded"}},  # OpenAI
        # What manage.py llm_server answered in bench.analysis for a 10-minute transcript in one request.
        {"error": {"code": 400, "type": "exceed_context_size_error", "message": LLAMA_CPP_CONTEXT_ERROR}},
    ],
)  # fmt: skip
def test_context_errors_split_down_to_one_segment_then_name_the_context_setting(
    server: FakeLLM, body: dict[str, Any], delays: list[float]
) -> None:
    server.default = Reply(400, body=body)
    with pytest.raises(
        AnalysisConfigError, match="one transcript segment alone is longer than the model's context"
    ) as caught:
        analyze(EN_SEGMENTS, language="en")
    assert "LLM_CONTEXT" in str(caught.value)
    assert body["error"]["message"] in str(caught.value)  # the server's own words
    assert [len(r.user.splitlines()) for r in server.requests] == [4, 2, 1]  # halved, never retried as is
    assert delays == []


def test_endpoint_that_is_not_a_chat_api_is_a_config_error(server: FakeLLM) -> None:
    server.script(Reply(body=b"<html>Welcome to nginx</html>"))
    with pytest.raises(AnalysisConfigError, match="OPENAI_BASE_URL"):
        analyze(EN_SEGMENTS, language="en")
    assert len(server.requests) == 1
