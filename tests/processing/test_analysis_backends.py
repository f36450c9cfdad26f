"""analyze(): backend dispatch, the extractive backend, and configuration errors caught before any request.

No database and no network: the openai cases here must fail on settings alone.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from processing.analysis.backends import (
    AnalysisConfigError,
    AnalysisError,
    AnalysisOptions,
    AnalysisOutputError,
    AnalysisTransientError,
    analyze,
    transcript_language,
)
from processing.analysis.extractive import Segment, definition_issue, definition_solution, summarize_text


def _seg(start: float, end: float, text: str) -> Segment:
    return {"start": start, "end": end, "text": text}


EN_SEGMENTS = [
    _seg(0.0, 4.0, "Good morning everyone, thanks for joining the weekly sync."),
    _seg(4.0, 9.5, "The mobile release is delayed because the payment"),
    _seg(9.5, 13.0, "integration keeps failing on older devices."),
    _seg(13.0, 18.0, "We should move the payment integration to the new provider."),
    _seg(18.0, 22.5, "The office kitchen was repainted in blue last week."),
]
EN_JOINED = " ".join(seg["text"] for seg in EN_SEGMENTS)
JA_SEGMENTS = [
    _seg(0.0, 3.0, "皆さん、おはようございます。"),
    _seg(3.0, 7.5, "サーバーの容量が不足しているという問題もあります。"),
    _seg(7.5, 12.0, "来月までに新しいサーバーを導入する予定です。"),
]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fail any name lookup or socket connection, and record that it was attempted."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network access attempted in a test that must not use it")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_extractive_backend_returns_transcript_sentences() -> None:
    with override_settings(ANALYSIS_BACKEND="extractive", ANALYSIS_SUMMARY_SENTENCES=2):
        result = analyze(EN_SEGMENTS, language="en")

    assert (result.backend, result.model, result.meta["language"]) == ("extractive", "", "en")
    assert len(result.summary) == 2
    assert all(item["text"] in EN_JOINED for item in result.summary + result.issues + result.solutions)
    delayed = "The mobile release is delayed because the payment integration keeps failing on older devices."
    assert [(i["text"], i["start"], i["end"]) for i in result.issues] == [(delayed, 4.0, 13.0)]
    assert [i["text"] for i in result.solutions] == ["We should move the payment integration to the new provider."]
    # The extractive functions stay the entry points of this backend.
    assert result.summary == summarize_text(EN_SEGMENTS, language="en", max_sentences=2)
    assert result.issues == definition_issue(EN_SEGMENTS, language="en")
    assert result.solutions == definition_solution(EN_SEGMENTS, language="en")


def test_extractive_backend_detects_the_transcript_language() -> None:
    with override_settings(ANALYSIS_BACKEND="extractive"):
        result = analyze(JA_SEGMENTS)

    assert result.meta["language"] == "ja"
    assert [i["text"] for i in result.issues] == ["サーバーの容量が不足しているという問題もあります。"]
    assert [i["text"] for i in result.solutions] == ["来月までに新しいサーバーを導入する予定です。"]


@pytest.mark.parametrize(
    ("segments", "language", "expected"),
    [
        (EN_SEGMENTS, "en-US", "en"),
        (EN_SEGMENTS, "ja_JP", "ja"),
        (EN_SEGMENTS, " FR ", "fr"),
        (JA_SEGMENTS, "", "ja"),
        (EN_SEGMENTS, "auto", "en"),
    ],
)
def test_transcript_language(segments: list[Segment], language: str, expected: str) -> None:
    assert transcript_language(segments, language) == expected


def test_unknown_backend_names_the_setting() -> None:
    with override_settings(ANALYSIS_BACKEND="gpt-magic"), pytest.raises(AnalysisConfigError, match="ANALYSIS_BACKEND"):
        analyze(EN_SEGMENTS, language="en")


def test_openai_without_key_is_refused_before_any_request(no_network: list[Any]) -> None:
    settings = {"ANALYSIS_BACKEND": "openai", "OPENAI_BASE_URL": "https://api.openai.com/v1", "OPENAI_API_KEY": ""}
    with override_settings(**settings), pytest.raises(AnalysisConfigError, match="set OPENAI_API_KEY"):
        analyze(EN_SEGMENTS, language="en")
    assert no_network == []


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"OPENAI_BASE_URL": "https://us.api.openai.com/v1"}, "OPENAI_API_KEY"),
        ({"OPENAI_BASE_URL": "localhost:11434/v1"}, "OPENAI_BASE_URL"),
        ({"OPENAI_BASE_URL": ""}, "OPENAI_BASE_URL"),
        ({"OPENAI_API_KEY": "sk-x", "ANALYSIS_LLM_MODEL": " "}, "ANALYSIS_LLM_MODEL"),
        ({"OPENAI_API_KEY": "sk-x", "ANALYSIS_LLM_CONTEXT_CHARS": 0}, "ANALYSIS_LLM_CONTEXT_CHARS"),
        ({"OPENAI_API_KEY": "sk-x", "ANALYSIS_LLM_MAX_CONCURRENCY": 0}, "ANALYSIS_LLM_MAX_CONCURRENCY"),
        ({"OPENAI_API_KEY": "sk-x", "ANALYSIS_LLM_MAX_RETRIES": -1}, "ANALYSIS_LLM_MAX_RETRIES"),
    ],
)
def test_openai_misconfiguration_names_the_setting(
    no_network: list[Any], overrides: dict[str, Any], setting: str
) -> None:
    settings = {"ANALYSIS_BACKEND": "openai", "OPENAI_API_KEY": "", "ANALYSIS_LLM_MODEL": "gpt-4o-mini", **overrides}
    with override_settings(**settings), pytest.raises(AnalysisConfigError, match=f"set {setting}"):
        analyze(EN_SEGMENTS, language="en")
    assert no_network == []


def test_error_classes_share_one_base() -> None:
    for error in (AnalysisConfigError, AnalysisOutputError, AnalysisTransientError):
        assert issubclass(error, AnalysisError)


def test_a_proposal_that_names_the_problem_is_a_solution_only() -> None:
    """make run's sample: "We propose a new routing system to reduce the delays" matches an issue cue
    (delays) and a solution cue (propose); the extractive backend used to list it under both."""
    from processing.media.samples import SAMPLE_SPEECH

    sentences = [s.strip() + "." for s in SAMPLE_SPEECH.split(".") if s.strip()]
    segments: list[Segment] = [
        {"start": float(i * 3), "end": float(i * 3 + 3), "text": s} for i, s in enumerate(sentences)
    ]
    proposal = "We propose a new routing system to reduce the delays."
    assert proposal in [item["text"] for item in definition_issue(segments)]  # the cue alone matches both

    result = analyze(segments, language="en", options=AnalysisOptions(backend="extractive"))

    assert proposal in [item["text"] for item in result.solutions]
    assert proposal not in [item["text"] for item in result.issues]
    assert "Customers complained because the tracking page was broken for two days." in [
        item["text"] for item in result.issues
    ]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("We should move payments to the new provider.", "Move the payments to the new provider.", True),
        ("Payments keep failing.", "Move payments to the new provider.", False),
        ("北の倉庫への配送が三日遅れています。", "北の倉庫への配送が3日遅れています", True),
        ("北の倉庫への配送が三日遅れています。", "来月までに運転手を二人増やすことを提案します。", False),
        # Whisper's stray spaces inside Japanese do not make it a different sentence.
        ("夜間の職員の体制は どうなりますか", "夜間の職員の体制はどうなりますか。", True),
        ("The 配送 is late.", "The 配送 is late!", True),
    ],
)
def test_same_item_by_word_or_character_pair_overlap(a: str, b: str, same: bool) -> None:
    from processing.analysis.results import same_item

    assert same_item(a, b) is same


def test_auto_is_the_local_model_when_installed_else_extractive_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from processing.analysis import configuration

    with override_settings(ANALYSIS_BACKEND="auto"):
        assert configuration.options_from_settings().backend == "local"  # make test assembles it
        configuration._said.clear()
        with override_settings(WHISPER_MODELS_DIR=str(tmp_path)), caplog.at_level("WARNING"):
            assert configuration.options_from_settings().backend == "extractive"
            assert configuration.options_from_settings().backend == "extractive"
    (line,) = [r.getMessage() for r in caplog.records if "ANALYSIS_BACKEND=auto" in r.getMessage()]  # said once
    assert "using extractive analysis because the local model is not installed" in line
    assert "python -m processing.assets assemble" in line


def test_local_backend_options_point_at_the_model_server() -> None:
    from processing.analysis.configuration import options_from_settings

    with override_settings(ANALYSIS_BACKEND="local", LLM_URL="http://llm:8091/v1", LLM_API_KEY="k", LLM_TIMEOUT=300.0):
        options = options_from_settings()
    assert (options.base_url, options.model, options.api_key, options.timeout) == (
        "http://llm:8091/v1", "qwen2.5-1.5b", "k", 300.0,
    )  # fmt: skip
