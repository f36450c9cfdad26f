"""Fault tests that restart infrastructure: Redis mid-pipeline, and a worker after a cancel. Each
runs its own redis-server and worker processes, so the shared ones are never disturbed; the
operator's side runs as `manage.py` processes against the same stack."""

from __future__ import annotations

import os
import re
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
from tests.processing.test_hls_stop import _alive, _ffmpeg_under
from uploads.models import StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """A private redis-server (append-only, as in production) and the environment to reach it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port = workdir, _free_port()
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
        _wait(lambda: self.cli("ping") == "PONG", 10, "redis to answer")

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
        _wait(lambda: "ready." in _read(handle.log_path), 60, f"{name} to be ready")
        return handle


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _wait(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _stop(worker: WorkerHandle) -> None:
    if worker.process.poll() is None:
        os.killpg(worker.process.pid, signal.SIGTERM)  # the worker, or its supervisor loop too
        try:
            worker.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
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


def _uploaded_id(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"Uploaded #(\d+)", line)
    assert match, line
    return int(match.group(1))


# (b) ------------------------------------------------------------------------------------------
def test_b_a_redis_restart_mid_pipeline_still_completes(stack: Stack, speech_video: Path) -> None:
    # Supervised like the compose worker (restart: unless-stopped): with a task in flight, kombu's
    # Redis transport can crash the worker's main process when the broker goes away.
    worker = stack.worker("restart-redis-worker", supervised=True)
    try:
        client = stack.manage_background("process_file", str(speech_video), "--timeout", "300")
        upload_id = _uploaded_id(client)
        _wait(lambda: UploadedFile.objects.get(pk=upload_id).transcription_status != StageStatus.QUEUED, 60, "start")

        stack.stop_redis()
        time.sleep(3)  # the worker and the client lose the broker for a while
        stack.start_redis()

        # Beat's watchdog, by hand: anything whose message was lost with the restart is re-sent.
        deadline = time.monotonic() + 240
        while not UploadedFile.objects.get(pk=upload_id).is_finished and time.monotonic() < deadline:
            stack.manage("recover_stuck")
            time.sleep(3)
        upload = UploadedFile.objects.get(pk=upload_id)
        assert (upload.transcription_status, upload.analysis_status, upload.hls_status) == (StageStatus.SUCCEEDED,) * 3
        assert client.wait(timeout=60) == 0
    finally:
        _stop(worker)


# (d) ------------------------------------------------------------------------------------------
def test_d_cancel_during_hls_survives_a_worker_restart(stack: Stack, tmp_path: Path) -> None:
    source = tmp_path / "silent.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "60", "-b:v", "800k",
         "-c:v", "libx264", "-preset", "ultrafast", "-an", str(source)],
        check=True,
    )  # fmt: skip
    statedb = str(tmp_path / "worker.state")
    worker = stack.worker("cancel-worker", "--statedb", statedb)
    try:
        client = stack.manage_background("process_file", str(source), "--timeout", "300")
        upload_id = _uploaded_id(client)
        _wait(lambda: UploadedFile.objects.get(pk=upload_id).hls_status == StageStatus.RUNNING, 60, "HLS to start")
        encoders = _wait(lambda: _ffmpeg_under(worker.process.pid), 30, "ffmpeg to start")

        assert f"cancelled #{upload_id}" in stack.manage("cancel", str(upload_id))
        _wait(lambda: not _alive(encoders), 20, "ffmpeg to stop")
        _stop(worker)
        client.kill()

        worker = stack.worker("cancel-worker", "--statedb", statedb)
        time.sleep(5)  # the restarted worker runs its start-up watchdog; nothing may revive the upload
        upload = UploadedFile.objects.get(pk=upload_id)
        assert upload.hls_status == StageStatus.CANCELLED
        assert upload.cancel_requested_at is not None
        assert upload.hls_master == ""
        assert not _ffmpeg_under(worker.process.pid)
    finally:
        _stop(worker)
