"""Fixtures for the browser tests: Debian Chromium and playwright-core, installed when missing."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT

INSTALLER = ROOT / "scripts" / "install_browser.sh"
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
