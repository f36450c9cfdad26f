"""The local language model server for real: `manage.py llm_server` on the assembled Qwen2.5 GGUF
(llama.cpp through xllamacpp), its /health, a JSON-schema-constrained chat completion, the analysis
stage's existing openai backend pointed at it, and a clean stop on SIGTERM. One server for the module:
loading the model costs seconds and ~1.9 GB."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command

from processing.analysis.backends import analyze
from processing.analysis.results import AnalysisOptions
from tests.llm import ModelServer

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


def test_the_analysis_backend_works_against_it(server: ModelServer) -> None:
    options = AnalysisOptions(backend="openai", base_url=f"{server.url}/v1", model="qwen2.5-1.5b", timeout=120)
    started = time.monotonic()
    result = analyze(SEGMENTS, language="en", options=options)  # type: ignore[arg-type]
    print(f"analysis by the local model in {time.monotonic() - started:.1f} s: {result}")
    assert result.backend == "openai"
    assert result.summary
    for item in (*result.summary, *result.issues, *result.solutions):
        assert item["text"].strip()
        assert 0.0 <= item["start"] <= item["end"] <= 14.0


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
