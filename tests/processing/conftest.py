"""Fixtures of the bad-input matrix (test_hostile_*.py): a folder for the generated files, a marker file
no upload may read, a loopback HTTP server that records requests, and a bystander upload on the real
worker that must end whole."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django.test import override_settings

from processing.analysis import llm
from tests.conftest import wait_until_finished
from tests.processing import hostile_samples as samples
from tests.processing.fake_llm import LLM_SETTINGS, FakeHandler, FakeLLM, FakeServer
from tests.processing.hostile_run import REPORT
from uploads.models import StageStatus, UploadedFile
from uploads.services import upload_create


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    REPORT.unlink(missing_ok=True)  # a fresh matrix per session
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="session")
def marker(made: Path) -> Path:
    """A file on the worker's disk that no upload may read: solid magenta frames."""
    return samples.marker_video(made)


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records every request: a playlist must never reach it."""
    requests: list[str] = []
    handler = type("Recorder", (_Recorder,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/secret.mp4", requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def bystander(celery_worker_process: object, speech_audio: Path) -> Iterator[UploadedFile]:
    """Another user's upload, processed by the real worker while the row runs; it must end whole."""
    with speech_audio.open("rb") as fh:
        upload = upload_create(file=File(fh, name="bystander.m4a"), original_name="bystander.m4a")
    yield upload
    done = wait_until_finished(upload.pk)
    assert (done.stage("transcription").status, done.stage("analysis").status) == (
        StageStatus.SUCCEEDED,
        StageStatus.SUCCEEDED,
    )
    assert "warehouse" in done.transcript_text.lower()
    assert default_storage.exists(str(done.file.name))


# --- the openai backend's fake chat-completions server (fake_llm.py) -----------------------------------


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    server = FakeServer(("127.0.0.1", 0), FakeHandler)
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_port}/v1"  # the SDK appends /chat/completions
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def server(fake_llm: FakeLLM) -> Iterator[FakeLLM]:
    """The fake server, with settings pointing the openai backend at it."""
    with override_settings(**LLM_SETTINGS, OPENAI_BASE_URL=fake_llm.base_url):
        yield fake_llm


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """llm._sleep records the backoff instead of waiting it out (the llm test modules use it throughout)."""
    recorded: list[float] = []
    monkeypatch.setattr(llm, "_sleep", recorded.append)
    return recorded
