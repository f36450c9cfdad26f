"""Orchestration benchmark: the pipeline's 3-stage chain with trivial stage work against a raw
Celery 3-task no-op chain, on the same broker and worker, in one run.

    .venv/bin/python -m bench.orchestration [--uploads 200] [--burst 500]

Latency: uploads submitted one at a time (each waits for the previous), end-to-end from submit to
the last stage's finish time (stamped by the worker), p50/p95; target pipeline p50 <= 2x raw p50.
Throughput: `--burst` uploads submitted at once, uploads/s until the last one finishes.
Uses DATABASE_URL (PostgreSQL recommended; SQLite serialises writers) and Redis database 13.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import redis

from bench.orchestration_app import FINISH_KEY

ROOT = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
TARGET_P50_RATIO = 2.0
# Both finish times are stamped by the worker, so the poll interval does not bias them; polling the
# database every 2 ms took a core from a 2-core machine's worker (Redis polls are cheaper: unfair).
POLL_SECONDS = float(os.environ.get("BENCH_POLL_SECONDS", "0.01"))


def _setup_django(work: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["CELERY_BROKER_URL"] = BROKER
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work}/bench.sqlite3")
    os.environ["DJANGO_MEDIA_ROOT"] = os.path.join(work, "media")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _start_worker(work: str) -> subprocess.Popen[bytes]:
    log = open(os.path.join(work, "worker.log"), "wb")  # noqa: SIM115 - lives as long as the worker
    command = [
        sys.executable, "-m", "celery", "-A", "bench.orchestration_app", "worker",
        "-Q", "transcription,analysis,hls,default", "--concurrency", "2", "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle", "-n", f"bench-{os.getpid()}@%h",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=log, start_new_session=True)


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark worker did not finish in time")
        time.sleep(POLL_SECONDS)


def _poll(finish: Callable[[], float | None], timeout: float = 60) -> float:
    """Poll for a finish time stamped by the worker (the poll interval does not bias it)."""
    deadline = time.monotonic() + timeout
    while (value := finish()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark worker did not finish in time")
        time.sleep(POLL_SECONDS)
    return value


def _new_upload() -> int:
    from uploads.models import MediaKind, UploadedFile

    return UploadedFile.objects.create(
        original_name="bench.mp4", size=1, media_kind=MediaKind.VIDEO, file="uploads/bench.mp4", duration=1.0,
        width=320, height=240, has_audio=True,
    ).pk  # fmt: skip


def _submit_pipeline(upload_id: int) -> None:
    from django.db import transaction

    from processing.pipeline import pipeline_enqueue
    from uploads.models import UploadedFile

    with transaction.atomic():
        pipeline_enqueue(UploadedFile.objects.get(pk=upload_id))


def _pipeline_finish(upload_id: int) -> float | None:
    from processing.models import StageRun

    finished = StageRun.objects.filter(upload_id=upload_id, stage="hls", status="succeeded").values_list(
        "finished_at", flat=True
    )
    return finished[0].timestamp() if finished and finished[0] else None


def _raw_finish(client: redis.Redis, n: int) -> float | None:
    value = client.hget(FINISH_KEY, str(n))
    return float(value) if value else None


def _submit_raw(n: int) -> None:
    from celery import chain

    from bench.orchestration_app import raw_a, raw_b, raw_c

    chain(
        raw_a.si(n).set(queue="transcription"), raw_b.si(n).set(queue="analysis"), raw_c.si(n).set(queue="hls")
    ).apply_async()


def _latencies(count: int, client: redis.Redis) -> tuple[list[float], list[float]]:
    ours, raw = [], []
    for i in range(count):  # alternate, so drift affects both alike
        upload_id = _new_upload()
        start = time.time()
        _submit_pipeline(upload_id)
        ours.append(_poll(partial(_pipeline_finish, upload_id)) - start)
        start = time.time()
        _submit_raw(i)
        raw.append(_poll(partial(_raw_finish, client, i)) - start)
    return ours, raw


def _burst(count: int, client: redis.Redis) -> tuple[float, float]:
    ids = [_new_upload() for _ in range(count)]
    start = time.time()
    for upload_id in ids:
        _submit_pipeline(upload_id)
    _wait(lambda: _all_done(ids), 900)
    ours = max(_pipeline_finish(u) or 0.0 for u in ids) - start
    client.delete(FINISH_KEY)
    start = time.time()
    for n in range(count):
        _submit_raw(n)
    _wait(lambda: client.hlen(FINISH_KEY) >= count, 900)
    raw = max(_raw_finish(client, n) or 0.0 for n in range(count)) - start
    return ours, raw


def _all_done(ids: list[int]) -> bool:
    from processing.models import StageRun

    return StageRun.objects.filter(upload_id__in=ids, stage="hls", status="succeeded").count() == len(ids)


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=200, help="sequential uploads for latency (default 200)")
    parser.add_argument("--burst", type=int, default=500, help="uploads submitted at once for throughput (default 500)")
    args = parser.parse_args(argv)
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    with tempfile.TemporaryDirectory(prefix="bench-orchestration-") as work:
        _setup_django(work)
        from django.conf import settings

        worker = _start_worker(work)
        try:
            time.sleep(4)  # worker start-up
            _latencies(5, client)  # warm-up: imports, connections, first forks
            client.delete(FINISH_KEY)
            ours, raw = _latencies(args.uploads, client)
            burst_ours, burst_raw = _burst(args.burst, client)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
        db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        _report(args, ours, raw, burst_ours, burst_raw, db)
    client.flushdb()
    return 0


def _report(
    args: argparse.Namespace, ours: list[float], raw: list[float], burst_ours: float, burst_raw: float, db: str
) -> None:
    p50_ours, p50_raw = statistics.median(ours), statistics.median(raw)
    ratio = p50_ours / p50_raw
    print(f"machine: {os.cpu_count()} cpus; worker prefork concurrency 2; broker {BROKER}; database {db}")
    print(f"latency over {args.uploads} sequential uploads (submit -> last stage finished):")
    print(f"  pipeline 3-stage chain, trivial work: p50 {p50_ours * 1000:7.1f} ms  p95 {_pct(ours, 95) * 1000:7.1f} ms")
    print(f"  raw Celery 3-task no-op chain:        p50 {p50_raw * 1000:7.1f} ms  p95 {_pct(raw, 95) * 1000:7.1f} ms")
    verdict = "PASS" if ratio <= TARGET_P50_RATIO else "MISS"
    print(f"  ratio pipeline/raw p50: {ratio:.2f}x (target <= {TARGET_P50_RATIO:.1f}x) {verdict}")
    print(f"throughput, {args.burst} submitted at once:")
    print(f"  pipeline: {burst_ours:6.1f} s  {args.burst / burst_ours:6.1f} uploads/s")
    print(f"  raw:      {burst_raw:6.1f} s  {args.burst / burst_raw:6.1f} chains/s")


if __name__ == "__main__":
    raise SystemExit(main())
