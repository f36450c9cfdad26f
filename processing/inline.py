"""`process_file --sync`: the stages in this process, one after another, without a broker, bounded
by the same soft and hard time limits a worker applies.

Celery's eager mode is not used for the chain: eager chains re-raise the first failure as a
traceback and apply no time limits. Here each stage task runs through `Task.apply` (the same
`run_stage` code a worker runs). At the soft limit SIGALRM raises SoftTimeLimitExceeded in the
stage (ffmpeg is killed, scratch files go, the stage fails with the limit named); if the stage is
still running at the hard limit, a timer thread marks it failed, as the worker's watchdog would,
and ends the process (ffmpeg children die with it: they have a parent-death signal).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection

from processing.state import stage_finish, stages_skip_after
from uploads.models import StageStatus, UploadedFile

from .pipeline import stage_tasks
from .registry import spec

HARD_LIMIT_EXIT = 3


@dataclass
class InlineRun:
    """Collects the chain `upload_create` would send, then runs it here."""

    soft_time_limit: float | None = None  # overrides of the tasks' own limits (seconds)
    time_limit: float | None = None
    sent: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def __call__(self, upload_id: int, task_ids: dict[str, str]) -> None:
        self.sent.append((upload_id, task_ids))

    def run(self) -> None:
        tasks = stage_tasks()
        for upload_id, task_ids in self.sent:
            for stage, task_id in task_ids.items():
                task = tasks[stage]
                soft = self.soft_time_limit or task.soft_time_limit
                hard = self.time_limit or task.time_limit
                with _limited(task, upload_id, stage, soft=soft, hard=hard):
                    task.apply(args=(upload_id,), task_id=task_id, throw=False)
                upload = UploadedFile.objects.get(pk=upload_id)
                if upload.stage_status(stage) not in (StageStatus.SUCCEEDED, StageStatus.SKIPPED):
                    break  # as on a worker: a failed, cancelled or superseded stage ends the chain


@contextlib.contextmanager
def _limited(task: Any, upload_id: int, stage: str, *, soft: float | None, hard: float | None) -> Iterator[None]:
    saved = (task.soft_time_limit, task.time_limit)
    task.soft_time_limit, task.time_limit = soft, hard  # what run_stage names in its message
    previous = signal.getsignal(signal.SIGALRM)

    def soft_limit(signum: int, frame: FrameType | None) -> None:
        raise SoftTimeLimitExceeded(f"soft time limit ({soft} s) exceeded")

    timer = threading.Timer(hard, _hard_limit, args=(upload_id, stage, hard)) if hard else None
    if soft:
        signal.signal(signal.SIGALRM, soft_limit)
        signal.setitimer(signal.ITIMER_REAL, soft)
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if timer is not None:
            timer.cancel()
        task.soft_time_limit, task.time_limit = saved


def _hard_limit(upload_id: int, stage: str, hard: float) -> None:
    message = f"stopped: the hard time limit of {hard:g} s was reached"
    try:
        stage_finish(upload_id, stage, status=StageStatus.FAILED, error=message)
        stages_skip_after(upload_id, stage, reason=f"not run: {spec(stage).phrase} failed")
    finally:
        connection.close()
        sys.stdout.flush()
        sys.stderr.write(f"{spec(stage).phrase} failed: {message}\n")
        sys.stderr.flush()
        os._exit(HARD_LIMIT_EXIT)
