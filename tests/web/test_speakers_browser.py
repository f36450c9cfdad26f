"""Speakers in Chromium: make run's two-voice sample through the real stages, then the detail page's
filter by speaker, a rename through its form, and the new name in the transcript, the analysis and
the player's subtitle cues."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from processing.media.dialogue import dialogue_video
from tests.conftest import ROOT
from tests.web.conftest import CHROMIUM, processed_for
from uploads.models import StageStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DRIVER = Path(__file__).with_name("speakers_check.js")


def test_filter_rename_and_the_renamed_voice_in_the_player(
    browser_installed: None, live_server: LiveServer, tmp_path: Path
) -> None:
    video = tmp_path / "meeting.mp4"
    spoken = dialogue_video(str(video))  # make run's sample: two voices, four turns
    upload = processed_for(video, "clerk", "clerk-pw-1")
    assert [upload.stage_status(s) for s in ("transcription", "speakers", "analysis", "hls")] == [
        StageStatus.SUCCEEDED
    ] * 4
    assert [t.voice for t in spoken] == ["ben", "ann", "ben", "ann"]

    env = {
        **os.environ, "BASE_URL": live_server.url, "USERNAME": "clerk", "PASSWORD": "clerk-pw-1",
        "DETAIL_PATH": f"/uploads/{upload.pk}/", "CHROMIUM": CHROMIUM, "LABEL": "S2", "NAME": "Tanaka",
    }  # fmt: skip
    run = subprocess.run(["node", str(DRIVER)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    print(run.stderr)
    assert run.returncode == 0, run.stderr
    report: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])

    # Before: both voices, in the order they spoke.
    speakers = [line["speaker"] for line in report["before"]]
    assert set(speakers) == {"S1", "S2"}, report["before"]
    assert speakers[0] == "S1"
    # The filter shows only the chosen speaker's lines.
    assert {line["speaker"] for line in report["filtered"] if line["visible"]} == {"S2"}, report["filtered"]
    assert any(not line["visible"] for line in report["filtered"])
    # After the rename: the transcript, the speakers card, the analysis and the subtitle cues say Tanaka.
    assert {line["name"] for line in report["after"] if line["speaker"] == "S2"} == {"Tanaka"}, report["after"]
    assert {line["name"] for line in report["after"] if line["speaker"] == "S1"} == {"Speaker 1"}
    assert "Tanaka" in report["speakers"]
    assert "Tanaka" in report["analysis"], report["analysis"]  # the second voice raised or proposed something
    cues = report["cues"]
    assert cues, report
    assert any(cue.startswith("<v Tanaka>") for cue in cues), cues
    assert any(cue.startswith("<v Speaker 1>") for cue in cues), cues
    assert report["problems"] == [], report["problems"]
