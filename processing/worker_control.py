"""`soft_stop`, a remote-control command the project's workers answer:

    celery -A config control soft_stop <task_id>

It sends SIGUSR1 to the pool process running the task, which raises the soft-time-limit exception
there: the stage ends with its reason, ffmpeg stops, scratch files go. Celery's own
`control terminate SIGUSR1` does the same through billiard's terminate_job, which also marks the
pool process as terminated for good although it survives SIGUSR1; when that process later dies in
the middle of another task, that task is taken as revoked and not delivered again. This command
signals the process directly and leaves the pool's bookkeeping alone.

Imported by config.celery, so workers and the `celery control` command line both know it. It uses
no Django model.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from celery.worker import state as worker_state
from celery.worker.control import control_command


@control_command(args=[("task_id", str)], signature="<task_id>")
def soft_stop(state: Any, task_id: str) -> dict[str, str]:
    """Raise the soft time limit in running task <task_id> (SIGUSR1 to its pool process)."""
    for request in list(worker_state.active_requests):
        if request.id == task_id and request.worker_pid:
            os.kill(request.worker_pid, signal.SIGUSR1)
            return {"ok": f"soft stop sent to pid {request.worker_pid}"}
    return {"ok": f"task {task_id} is not running here"}
