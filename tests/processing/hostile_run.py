"""Running a hostile file through `manage.py process_file --sync` as an operator would, measuring it,
and recording the bad-input matrix (test-artifacts/hostile-matrix.md). Used by test_hostile_*.py."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from tests.conftest import ARTIFACTS, ROOT, worker_env

REPORT = ARTIFACTS / "hostile-matrix.md"
# Runs a command and reports the largest RSS among it and its descendants, and its wall time.
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.monotonic(); code = subprocess.call(sys.argv[1:])\n"
    "print(f'MEASURED peak_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} "
    "wall_s={time.monotonic() - t:.2f}', file=sys.stderr); sys.exit(code)\n"
)
MiB = 1024


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    wall_s: float
    peak_mb: float

    @property
    def last_line(self) -> str:
        lines = [line for line in self.output.splitlines() if line.strip() and not line.startswith("[")]
        return lines[-1] if lines else ""


def process_file(path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "manage.py", "process_file", str(path), "--sync", *args],
        cwd=ROOT, env=worker_env(**(env or {})), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    measured = re.search(r"MEASURED peak_kb=(\d+) wall_s=([\d.]+)", done.stderr)
    assert measured is not None, done.stderr[-2000:]
    output = done.stdout + done.stderr.replace(measured.group(0), "")
    return Run(done.returncode, output, float(measured.group(2)), int(measured.group(1)) / MiB)


def report(row: str, run: Run, outcome: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if not REPORT.exists():
        REPORT.write_text("| Row | Outcome | Wall s | Peak RSS MB |\n|---|---|---|---|\n")
    with REPORT.open("a") as fh:
        fh.write(f"| {row} | {outcome.replace('|', '/')} | {run.wall_s:.1f} | {run.peak_mb:.0f} |\n")


def media_files() -> set[str]:
    return {str(p.relative_to(settings.MEDIA_ROOT)) for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}
