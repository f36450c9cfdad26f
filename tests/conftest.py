"""Shared fixtures: generated media, and a real Celery worker process on the real test Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from processing.media import samples
from uploads.models import UploadedFile

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speech_video(media_dir: Path) -> Path:
    path = media_dir / "meeting.mp4"
    samples.speech_video(str(path))
    return path


@pytest.fixture(scope="session")
def speech_audio(media_dir: Path) -> Path:
    path = media_dir / "meeting.m4a"
    samples.speech_audio(str(path))
    return path


@dataclass
class WorkerHandle:
    process: subprocess.Popen[bytes]
    nodename: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_for_ping(nodename: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    from config.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode} before answering ping")
        if app.control.ping(destination=[nodename], timeout=1.0):
            return
    raise RuntimeError(f"celery worker {nodename} did not answer ping within {timeout:.0f} s")


def worker_env(**overrides: str) -> dict[str, str]:
    """The environment of a process that must share the test database and media with this one."""
    from django.db import connection

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
        **overrides,
    }


def start_worker(name: str, env: dict[str, str], *extra: str, supervised: bool = False) -> WorkerHandle:
    """A worker process; `supervised` restarts it whenever it exits, as compose's restart policy does."""
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"{name}.log"
    nodename = f"{name}-{os.getpid()}@{socket.gethostname()}"
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(settings.CELERY_QUEUE_TABLE),
        "--concurrency", "2", "--loglevel", "INFO", "-n", nodename, "--without-gossip", "--without-mingle",
        "--logfile", str(log_path), *extra,
    ]  # fmt: skip
    if supervised:
        command = ["bash", "-c", 'while :; do "$@"; sleep 1; done', "supervise", *command]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    return WorkerHandle(process=process, nodename=nodename, log_path=log_path)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None, django_db_blocker: object) -> Iterator[WorkerHandle]:
    """`celery -A config worker` on every queue, on the test database pytest-django created."""
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # the test broker database only
    (ARTIFACTS / "celery-worker.log").unlink(missing_ok=True)
    worker = start_worker("celery-worker", worker_env())
    try:
        _wait_for_ping(worker.nodename, worker.process)
        yield worker
    finally:
        stop_group(worker.process)


def stop_group(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """SIGTERM to the process's group, SIGKILL if it is still there after `timeout` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_finished(upload_id: int, timeout: float = 240) -> UploadedFile:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = UploadedFile.objects.get(pk=upload_id)
        if upload.is_finished:
            return upload
        time.sleep(0.5)
    raise AssertionError(
        f"upload {upload_id} did not finish in {timeout:.0f} s: {UploadedFile.objects.filter(pk=upload_id).values()}"
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[object]:
    """A private redis-server plus helpers to run workers and manage.py against it (tests.stack)."""
    from tests.stack import stack_fixture

    yield from stack_fixture(tmp_path)


S3_BUCKET = "media"
S3_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, with the bucket S3_BUCKET."""
    import boto3

    from tests.stack import free_port

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, **S3_CREDENTIALS)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.create_bucket(Bucket=S3_BUCKET)
            break
        except Exception:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.2)
    try:
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)
