"""A real browser over the whole system: headless Debian Chromium, driven by playwright-core from
tests/web/browser_check.js, against pytest-django's live server and a real Celery worker."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from pytest_django.live_server_helper import LiveServer

from tests.conftest import ARTIFACTS, ROOT, WorkerHandle
from tests.web.conftest import CHROMIUM
from uploads.models import StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DRIVER = Path(__file__).with_name("browser_check.js")
SCREENSHOT = ARTIFACTS / "browser-detail.png"


def test_upload_play_and_seek_in_chromium(
    browser_installed: None,
    live_server: LiveServer,
    celery_worker_process: WorkerHandle,
    speech_video: Path,
    tmp_path: Path,
) -> None:
    user = User.objects.create_user(username="viewer", password="viewer-pw-1")
    bad_file = tmp_path / "notes.mp4"
    bad_file.write_text("these are meeting notes, not a video\n" * 20)
    ARTIFACTS.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)

    env = {
        **os.environ,
        "BASE_URL": live_server.url,
        "USERNAME": "viewer",
        "PASSWORD": "viewer-pw-1",
        "VIDEO": str(speech_video),
        "BAD_FILE": str(bad_file),
        "SCREENSHOT": str(SCREENSHOT),
        "CHROMIUM": CHROMIUM,
        "FINISH_TIMEOUT_MS": "240000",
    }
    # The live server runs test settings: media through the ownership check, streamed by Django.
    run = subprocess.run(["node", str(DRIVER)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=480)
    assert run.returncode == 0, f"{run.stderr}\n--- worker log (tail) ---\n{celery_worker_process.log()[-3000:]}"
    print(run.stderr)  # the driver's step log, shown with -s or on failure
    report = json.loads(run.stdout.strip().splitlines()[-1])

    # The upload went through the page as this user, and every stage succeeded on the worker.
    upload = UploadedFile.objects.get(uploader=user)
    assert report["detailUrl"] == f"{live_server.url}/uploads/{upload.pk}/"
    assert [upload.stage_status(s) for s in ("transcription", "analysis", "hls")] == [StageStatus.SUCCEEDED] * 3
    assert set(report["stages"].values()) == {"succeeded"}
    assert "Not an audio or video file" in report["refusal"]  # shown in place, no reload
    assert report["progress"]
    assert report["progress"][-1] == "100%"  # the progress bar ran to the end before the redirect

    # The stream plays, with its subtitle rendition listed, and the poster came from status.json.
    player = report["player"]
    assert player["duration"] > 0
    assert player["playedTo"] > player["playedFrom"]
    assert player["subtitleTracks"] >= 1
    assert player["poster"] == f"/media/{upload.hls_poster}"

    # Clicking the last transcript timestamp seeks the player there.
    last_start = upload.transcript_segments[-1]["start"]
    assert report["seek"]["target"] == pytest.approx(last_start, abs=0.001)
    assert report["seek"]["after"] == pytest.approx(last_start, abs=1.0)

    assert report["problems"] == [], report["problems"]  # no console errors, no failed requests
    assert SCREENSHOT.stat().st_size > 10_000
