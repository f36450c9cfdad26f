"""A worker refuses to start with a configuration that cannot work, saying why (not garbage later)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, worker_env

pytestmark = pytest.mark.django_db


def test_an_english_only_model_with_another_language_stops_the_worker_at_start() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "transcription", "-n", "misconfigured@%h"],
        cwd=ROOT, env=worker_env(WHISPER_MODEL="tiny.en", WHISPER_LANGUAGE="ja"), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "configuration error: WHISPER_LANGUAGE=ja needs a multilingual model" in done.stderr
    assert "Set WHISPER_MODEL" in done.stderr
