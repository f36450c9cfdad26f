"""The Celery app a benchmark worker runs: the project's app, with the three stage services made
trivial (so only orchestration is measured: claims, heartbeats, lifecycle records, chain hand-offs)
and a raw three-task no-op chain beside it. Used by bench.orchestration only, never by the project.

    celery -A bench.orchestration_app worker -Q transcription,analysis,hls,default
"""

from __future__ import annotations

import os
import time
from typing import Any

import redis

from config.celery import app

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

FINISH_KEY = "bench:raw-finished"


def _trivial(upload: Any) -> dict[str, Any]:
    return {"trivial": True}


def _patch_services(**_: Any) -> None:
    from processing import services

    services.transcription_run = _trivial
    services.analysis_run = _trivial
    services.hls_run = _trivial


from celery import signals  # noqa: E402

signals.worker_process_init.connect(_patch_services, weak=False)
signals.worker_init.connect(_patch_services, weak=False)


@app.task(name="bench.raw_a")
def raw_a(n: int) -> int:
    return n


@app.task(name="bench.raw_b")
def raw_b(n: int) -> int:
    return n


@app.task(name="bench.raw_c")
def raw_c(n: int) -> int:
    # The end of a raw chain, stamped where it happens (same clock as the pipeline's finished_at).
    redis.Redis.from_url(app.conf.broker_url).hset(FINISH_KEY, str(n), repr(time.time()))
    return n
