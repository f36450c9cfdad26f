"""The local language model server for real: `manage.py llm_server` on the assembled Qwen2.5 GGUF
(llama.cpp through xllamacpp), its /health, a JSON-schema-constrained chat completion, the analysis
stage's local backend against it (alone, and in the pipeline on a real worker), a server killed in
the middle of a request, a transcript over the model's real context, and a clean stop on SIGTERM.
One server for most of the module: loading the model costs seconds and ~1.9 GB."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command

from processing.analysis.backends import analyze
from processing.analysis.results import AnalysisOptions, AnalysisResult
from tests.llm import ModelServer
from tests.stack import Stack, free_port, stop_worker
from uploads.models import StageStatus, UploadedFile

JAPANESE = "本日の会議では、配送の遅れについて話し合います。来月までに運転手を二人増やすことを提案します。"
SEGMENTS = [
    {"start": 0.0, "end": 4.0, "text": "Welcome to the weekly operations meeting."},
    {
        "start": 4.0,
        "end": 9.5,
        "text": "The main problem this week is that deliveries to the northern warehouse are late.",
    },
    {"start": 9.5, "end": 14.0, "text": "We should hire two more drivers before the holiday season."},
]


@pytest.fixture(scope="module")
def server() -> Iterator[ModelServer]:
    served = ModelServer(timeout=180, DJANGO_SETTINGS_MODULE="config.settings.test", LLM_CONTEXT="2048")
    try:
        yield served
    finally:
        served.kill()


def test_it_serves_health_and_says_where(server: ModelServer) -> None:
    print(f"llm_server: serving after {server.load_seconds:.1f} s, peak RSS {server.peak_rss_mb():.0f} MB")
    assert requests.get(f"{server.url}/health", timeout=5).json() == {"status": "ok"}
    assert f"llm: serving qwen2.5-1.5b at {server.url}/v1" in server.lines


def test_a_json_schema_constrains_the_reply(server: ModelServer) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"issues": {"type": "array", "items": {"type": "string"}, "maxItems": 3}},
        "required": ["issues"],
        "additionalProperties": False,
    }
    started = time.monotonic()
    reply = requests.post(
        f"{server.url}/v1/chat/completions",
        json={
            "messages": [
                {"role": "system", "content": "List the problems raised in the meeting, in Japanese."},
                {"role": "user", "content": JAPANESE},
            ],
            "response_format": {"type": "json_schema", "json_schema": {"name": "issues", "schema": schema}},
            "max_tokens": 120, "temperature": 0.2, "repeat_penalty": 1.15,
        },
        timeout=120,
    ).json()  # fmt: skip
    content = reply["choices"][0]["message"]["content"]
    usage = reply["usage"]
    print(f"json_schema reply in {time.monotonic() - started:.1f} s ({usage}): {content}")
    parsed = json.loads(content)
    assert set(parsed) == {"issues"}
    assert 1 <= len(parsed["issues"]) <= 3
    assert all(isinstance(item, str) and item for item in parsed["issues"])


def _local(server: ModelServer, **overrides: Any) -> AnalysisOptions:
    return AnalysisOptions(
        backend="local", base_url=server.base_url, model="qwen2.5-1.5b", timeout=120, **overrides
    )  # fmt: skip


def _assert_cites_real_segments(result: AnalysisResult, segments: list[dict[str, Any]]) -> None:
    assert result.summary
    for item in (*result.summary, *result.issues, *result.solutions):
        assert item["text"].strip()
        # The times are those of the segments cited: each start is a segment's start, each end one's end.
        assert item["start"] in {s["start"] for s in segments}, item
        assert item["end"] in {s["end"] for s in segments}, item


def test_the_analysis_backend_works_against_it(server: ModelServer) -> None:
    started = time.monotonic()
    result = analyze(SEGMENTS, language="en", options=_local(server))  # type: ignore[arg-type]
    print(f"analysis by the local model in {time.monotonic() - started:.1f} s: {result}")
    assert result.backend == "local"
    _assert_cites_real_segments(result, SEGMENTS)
    assert result.meta["decoding"]["repeat_penalty"] > 1.0  # llama.cpp's own field reached it


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_pipeline_analyses_with_the_local_model(server: ModelServer, stack: Stack, speech_audio: Path) -> None:
    """The whole pipeline on a real worker, the analysis by the real model: non-empty, in the
    transcript's language, schema-valid (stored items have text and times only) and citing real segments."""
    stack.env.update(ANALYSIS_BACKEND="local", LLM_URL=server.base_url)
    worker = stack.worker("llm-pipeline-worker")
    try:
        out = stack.manage("process_file", str(speech_audio), "--timeout", "300", timeout=360)
    finally:
        stop_worker(worker)
    print(out)
    upload = UploadedFile.objects.latest("pk")
    assert upload.stage("analysis").status == StageStatus.SUCCEEDED, upload.stage("analysis").error
    assert (upload.analysis_backend, upload.analysis_model) == ("local", "qwen2.5-1.5b")
    assert upload.analysis_meta["language"] == upload.language == "en"
    assert upload.summary.strip()
    print({"summary": upload.summary_items, "issues": upload.issues, "solutions": upload.solutions})
    for item in upload.summary_items:
        assert set(item) == {"text", "start", "end"}  # a summary item speaks for the meeting
    for item in (*upload.summary_items, *upload.issues, *upload.solutions):
        assert item["text"].isascii(), item  # English, as spoken
    for item in (*upload.issues, *upload.solutions):
        assert set(item) == {"text", "start", "end", "speaker"}
        assert item["speaker"] == "S1", item  # who said it: one voice speaks in the sample
    result = AnalysisResult(upload.summary_items, upload.issues, upload.solutions, "local", "", {})
    _assert_cites_real_segments(result, upload.transcript_segments)


def test_a_server_killed_mid_request_is_retried_until_it_is_back() -> None:
    port = free_port()
    first = ModelServer(timeout=180, port=port, DJANGO_SETTINGS_MODULE="config.settings.test", LLM_CONTEXT="2048")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            # Enough retries that the full-jitter backoff outlasts the restart (load ~5 s) by a wide margin.
            outcome["result"] = analyze(SEGMENTS, language="en", options=_local(first, max_retries=12))  # type: ignore[arg-type]
        except Exception as exc:  # reported below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    second: ModelServer | None = None
    try:
        time.sleep(1.5)  # the request is in flight: reading the prompt alone takes longer
        assert thread.is_alive(), outcome
        first.kill()  # SIGKILL: the connection drops mid-request
        second = ModelServer(timeout=180, port=port, DJANGO_SETTINGS_MODULE="config.settings.test", LLM_CONTEXT="2048")
        thread.join(timeout=300)
    finally:
        first.kill()
        if second is not None:
            second.kill()
    assert "error" not in outcome, outcome
    result = outcome["result"]
    assert result.meta["requests"] >= 2  # the dropped one and at least one retry
    _assert_cites_real_segments(result, SEGMENTS)


LONG = [
    {
        "start": 10.0 * n,
        "end": 10.0 * n + 9.0,
        "text": (
            f"On point {n + 1}, the team reported that the delivery vans of the northern route were late again, "
            "because the depot opens late and the loading takes far longer than planned, so the drivers start "
            "their rounds behind schedule and the customers complain about missed time windows every week. "
            "The dispatcher added that two of the older vans broke down this month and had to be towed, which "
            "left the route without spare vehicles and made the overtime bill for the drivers much higher."
        ),
    }
    for n in range(8)
]


def test_a_transcript_over_the_models_real_context_is_chunked() -> None:
    # 1,200 tokens of context: the instructions and example (~460 tokens) with all 8 lines (~110 each) do
    # not fit; with half of them, and room for the reply, they do.
    small = ModelServer(timeout=180, DJANGO_SETTINGS_MODULE="config.settings.test", LLM_CONTEXT="1200")
    try:
        result = analyze(LONG, language="en", options=_local(small, chunk_segments=100))  # type: ignore[arg-type]
    finally:
        small.kill()
    print(f"over the context: {result.meta}")
    assert result.meta["splits"] >= 1
    assert result.meta["chunks"] >= 2
    _assert_cites_real_segments(result, LONG)


def test_sigterm_stops_it(server: ModelServer) -> None:
    assert server.stop() == 0
    time.sleep(0.5)  # the reader thread takes the last line
    assert server.lines[-1] == "llm: stopped"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/health", timeout=2)


def test_a_model_that_is_not_there_is_named(settings: object) -> None:
    settings.LLM_MODEL = "/nowhere/model.gguf"  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match=r"LLM_MODEL='/nowhere/model.gguf' is neither a model this project"):
        call_command("llm_server")
