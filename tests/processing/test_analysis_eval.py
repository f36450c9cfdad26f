"""The labelled evaluation set that bench.analysis scores (tests/analysis_eval/): its shape holds,
and the bench's matching rule does what its docstring says."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.analysis import EVAL_DIR, Totals, _matches, score

CASES = sorted(EVAL_DIR.glob("*.json"))


def test_the_set_has_at_least_twelve_transcripts_in_english_and_japanese() -> None:
    languages = [json.loads(path.read_text(encoding="utf-8"))["language"] for path in CASES]
    assert len(CASES) >= 12
    assert languages.count("en") >= 6
    assert languages.count("ja") >= 6


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_each_transcript_is_labelled_consistently(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    segments = case["segments"]
    assert case["id"] == path.stem
    assert 50 <= segments[-1]["end"] <= 11 * 60  # 1-10 minutes
    assert all(s["start"] < s["end"] and s["text"].strip() for s in segments)
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(segments))
    issues, solutions = set(case["issues"]), set(case["solutions"])
    assert issues
    assert solutions
    assert not issues & solutions  # never both
    assert all(0 <= index < len(segments) for index in issues | solutions)


def test_the_matching_rule() -> None:
    segment = {"start": 10.0, "end": 14.0, "text": "The northern route still takes four days."}
    assert _matches({"start": 9.0, "end": 15.0, "text": "Deliveries are slow."}, segment)  # cites it
    assert not _matches({"start": 0.0, "end": 60.0, "text": "Everything."}, segment)  # a span too wide
    assert _matches({"start": 0.0, "end": 60.0, "text": "The northern route still takes four days"}, segment)
    assert not _matches({"start": 20.0, "end": 24.0, "text": "Hire two drivers."}, segment)

    case = {"segments": [segment, {"start": 20.0, "end": 24.0, "text": "We should hire two drivers."}],
            "issues": [0], "solutions": [1]}  # fmt: skip
    result = SimpleNamespace(
        summary=[{"start": 10.0, "end": 14.0, "text": "The northern route takes four days."}],
        issues=[{"start": 10.0, "end": 14.0, "text": "Slow route."}, {"start": 20.0, "end": 24.0, "text": "x"}],
        solutions=[],
    )
    totals = Totals()
    score(totals, case, result)
    assert (totals.issues.precision, totals.issues.recall) == (0.5, 1.0)
    assert (totals.solutions.items, totals.solutions.recall) == (0, 0.0)
    assert (totals.supported, totals.summary_items) == (1, 1)
