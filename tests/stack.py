"""A private stack for tests that restart or shut down infrastructure: its own redis-server
(append-only, as in production), worker processes and `manage.py` runs against them, sharing the
test database and media with the test process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, WorkerHandle, start_worker, worker_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """A private redis-server (append-only, as in production) and the environment to reach it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port = workdir, free_port()
        self.env = worker_env(
            CELERY_BROKER_URL=f"redis://127.0.0.1:{self.port}/0",
            PIPELINE_QUEUED_STALE_SECONDS="5",
            PIPELINE_STALE_SECONDS="20",
        )
        self.redis: subprocess.Popen[bytes] | None = None

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")],
        )  # fmt: skip
        wait_for(lambda: self.cli("ping") == "PONG", 10, "redis to answer")

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.cli("shutdown")  # writes the append-only file, like `docker restart` of the compose redis
        self.redis.wait(timeout=10)

    def cli(self, *args: str) -> str:
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, check=False)
        return out.stdout.strip()

    def manage(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=True,
        )  # fmt: skip
        return done.stdout

    def manage_background(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True
        )

    def worker(self, name: str, *extra: str, supervised: bool = False) -> WorkerHandle:
        handle = start_worker(name, self.env, *extra, supervised=supervised)
        wait_for(lambda: "ready." in _read(handle.log_path), 60, f"{name} to be ready")
        return handle


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop_worker(worker: WorkerHandle) -> None:
    if worker.process.poll() is None:
        os.killpg(worker.process.pid, signal.SIGTERM)  # the worker, or its supervisor loop too
        try:
            worker.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait()


def stack_fixture(tmp_path: Path) -> Iterator[Stack]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (make test installs it)")
    s = Stack(tmp_path)
    s.start_redis()
    try:
        yield s
    finally:
        if s.redis is not None and s.redis.poll() is None:
            s.redis.terminate()
            s.redis.wait()
