"""Analysis quality and cost: the extractive backend against the local language model (manage.py
llm_server + the openai backend), side by side in one run on the labelled set in tests/analysis_eval/.

    .venv/bin/python -m bench.analysis [--only extractive|llm] [--files en_01,ja_02]

Each transcript there labels the segments that state an issue and those that propose a solution.
Matching rule (stated, and the same for both backends): an item matches a labelled segment when the
item's cited span [start, end] covers the segment's midpoint and is at most MAX_SPAN seconds long,
or when its text overlaps the segment's text by at least TEXT_MATCH (word or, for Japanese,
character-pair Jaccard: processing.analysis.results). Precision = items matching a label of their
kind / items; recall = labelled segments matched by an item of their kind; F1 from the two, over the
whole set. Summary support = the share of summary items whose span covers at least one segment and
whose text overlaps a covered segment's by at least SUPPORT_MATCH. Also wall time per transcript (and
for the longest), peak RSS of this process and of the model server. Targets on this 2-core machine
(issue #15): F1 >= 0.8 for issues and for solutions, ahead of extractive on both, and <= 60 s for a
10-minute transcript. Always exits 0: a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT / "tests" / "analysis_eval"
MAX_SPAN = 30.0
TEXT_MATCH = 0.5
SUPPORT_MATCH = 0.3
TARGET_F1, TARGET_SECONDS = 0.8, 60.0


@dataclass
class Score:
    items: int = 0
    matching_items: int = 0
    labels: int = 0
    found_labels: int = 0

    @property
    def precision(self) -> float:
        return self.matching_items / self.items if self.items else 0.0

    @property
    def recall(self) -> float:
        return self.found_labels / self.labels if self.labels else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Totals:
    issues: Score = field(default_factory=Score)
    solutions: Score = field(default_factory=Score)
    summary_items: int = 0
    supported: int = 0
    walls: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _matches(item: dict[str, Any], segment: dict[str, Any]) -> bool:
    from processing.analysis.results import tokens

    middle = (segment["start"] + segment["end"]) / 2
    if item["end"] - item["start"] <= MAX_SPAN and item["start"] - 0.5 <= middle <= item["end"] + 0.5:
        return True
    a, b = tokens(item["text"]), tokens(segment["text"])
    return bool(a and b) and len(a & b) / len(a | b) >= TEXT_MATCH


def _supported(item: dict[str, Any], segments: list[dict[str, Any]]) -> bool:
    from processing.analysis.results import tokens

    covered = [s for s in segments if item["start"] - 0.5 <= (s["start"] + s["end"]) / 2 <= item["end"] + 0.5]
    words = tokens(item["text"])
    return any(words and len(words & tokens(s["text"])) / len(words) >= SUPPORT_MATCH for s in covered)


def score(totals: Totals, case: dict[str, Any], result: Any) -> None:
    segments = case["segments"]
    for kind in ("issues", "solutions"):
        items, labelled = getattr(result, kind), [segments[i] for i in case[kind]]
        tally: Score = getattr(totals, kind)
        tally.items += len(items)
        tally.matching_items += sum(1 for item in items if any(_matches(item, s) for s in labelled))
        tally.labels += len(labelled)
        tally.found_labels += sum(1 for s in labelled if any(_matches(item, s) for item in items))
    totals.summary_items += len(result.summary)
    totals.supported += sum(1 for item in result.summary if _supported(item, segments))


def _cases(only: list[str] | None) -> list[dict[str, Any]]:
    paths = sorted(EVAL_DIR.glob("*.json"))
    cases = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    return [case for case in cases if not only or case["id"] in only]


def _run(variant: str, cases: list[dict[str, Any]], options: Any) -> Totals:
    from processing.analysis.backends import analyze
    from processing.analysis.results import AnalysisError

    totals = Totals()
    for case in cases:
        started = time.perf_counter()
        try:
            result = analyze(case["segments"], language=case["language"], options=options)
        except AnalysisError as exc:
            totals.failures.append(f"{case['id']}: {exc}")
            continue
        finally:
            totals.walls[case["id"]] = time.perf_counter() - started
        score(totals, case, result)
    return totals


def _print(variant: str, totals: Totals, cases: list[dict[str, Any]], rss: str) -> None:
    longest = max(cases, key=lambda c: c["segments"][-1]["end"])
    minutes = longest["segments"][-1]["end"] / 60
    for kind in ("issues", "solutions"):
        s: Score = getattr(totals, kind)
        print(f"{variant:<11} {kind:<9} P {s.precision:.2f} R {s.recall:.2f} F1 {s.f1:.2f} "
              f"({s.matching_items}/{s.items} items, {s.found_labels}/{s.labels} labels)")  # fmt: skip
    support = totals.supported / totals.summary_items if totals.summary_items else 0.0
    wall = sum(totals.walls.values())
    print(f"{variant:<11} summary   {totals.supported}/{totals.summary_items} items supported ({support:.2f}); "
          f"wall {wall:.1f} s for {len(cases)} transcripts, {totals.walls.get(longest['id'], 0):.1f} s for "
          f"{longest['id']} ({minutes:.1f} min); peak RSS {rss}")  # fmt: skip
    long = [c for c in cases if c["segments"][-1]["end"] >= 9 * 60]  # the "10-minute transcript" target
    if long:
        walls = ", ".join(
            f"{c['id']} ({c['segments'][-1]['end'] / 60:.1f} min) {totals.walls.get(c['id'], 0):.1f} s" for c in long
        )
        print(f"{variant:<11} 10-minute transcripts: {walls} (target <= {TARGET_SECONDS:.0f} s)")
    for failure in totals.failures:
        print(f"{variant:<11} FAILED {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("extractive", "llm"))
    parser.add_argument("--files", help="comma-separated transcript ids (default: all)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench-analysis.sqlite3")
    import django

    django.setup()
    from processing.analysis.results import AnalysisOptions

    cases = _cases(args.files.split(",") if args.files else None)
    minutes = sum(c["segments"][-1]["end"] for c in cases) / 60
    print(f"machine: {os.cpu_count()} cpus; {len(cases)} labelled transcripts ({minutes:.0f} min) in {EVAL_DIR}")
    results: dict[str, Totals] = {}
    if args.only in (None, "extractive"):
        results["extractive"] = _run("extractive", cases, AnalysisOptions(backend="extractive"))
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        _print("extractive", results["extractive"], cases, f"{own:.0f} MB (this process)")
    if args.only in (None, "llm"):
        from tests.llm import ModelServer

        server = ModelServer()
        try:
            options = AnalysisOptions(backend="local", base_url=server.base_url, model="qwen2.5-1.5b", timeout=300)
            results["llm"] = _run("llm", cases, options)
            served = f"{server.peak_rss_mb():.0f} MB (llm_server)"
        finally:
            server.stop()
        _print("llm", results["llm"], cases, served)
    if len(results) == 2:
        ext, llm = results["extractive"], results["llm"]
        for kind in ("issues", "solutions"):
            a, b = getattr(llm, kind).f1, getattr(ext, kind).f1
            verdict = "PASS" if a >= TARGET_F1 and a > b else "MISS"
            print(f"{kind}: llm F1 {a:.2f} vs extractive {b:.2f} (target >= {TARGET_F1} and ahead) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
