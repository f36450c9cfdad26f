"""Fixtures for the browser tests: Debian Chromium and playwright-core, installed when missing."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT

INSTALLER = ROOT / "scripts" / "install_browser.sh"
if TYPE_CHECKING:
    from uploads.models import UploadedFile

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_installed() -> None:
    """Chromium and playwright-core, installed once by scripts/install_browser.sh. `make test` installs
    what it needs, so an install that fails is a failure, never a skip."""
    try:
        result = subprocess.run([str(INSTALLER)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"Chromium cannot be installed: {exc}")
    if result.returncode != 0:
        reason = result.stderr.strip()[-800:]
        pytest.fail(f"Chromium cannot be installed ({INSTALLER.name} exited {result.returncode}): {reason}")


def processed_for(path: Path, username: str, password: str) -> UploadedFile:
    """`process_file PATH --sync` (the real stages in this process), then the upload given to a new
    user who logs in with `password`."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from config.celery import app
    from uploads.models import UploadedFile

    try:
        call_command("process_file", str(path), "--sync", stdout=io.StringIO())
    finally:
        app.conf.task_always_eager = False  # process_file --sync turns eager mode on for this process
    owner = User.objects.create_user(username, password=password)
    UploadedFile.objects.update(uploader=owner)
    return UploadedFile.objects.get()
