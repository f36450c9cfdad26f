"""A Japanese meeting video, as a council's minute-taker would upload it, seen in Chromium: the
transcript in Japanese (marked lang="ja"), Japanese subtitles shown in the player, and a Japanese
extractive analysis. The stages run for real (base model, ffmpeg) through `process_file --sync`; the
page is the live server's. Then the player with an English translation track beside the Japanese
one: the HLS stage runs again on the upload with a fixed English translation, because Whisper base's
own translations differ from run to run (tests/processing/test_languages.py covers those)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from processing.services import hls_run
from tests.conftest import ARTIFACTS, ROOT
from tests.speech.japanese import MEETING_JA, speak
from tests.web.conftest import CHROMIUM, processed_for
from uploads.models import StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DRIVER = Path(__file__).with_name("play_check.js")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _japanese_video(path: Path) -> Path:
    wav = speak(MEETING_JA, path.with_suffix(".wav"))
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-i", str(wav),
         "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_a_japanese_upload_reads_japanese_on_the_page_and_in_the_player(
    browser_installed: None, live_server: LiveServer, tmp_path: Path
) -> None:
    video = _japanese_video(tmp_path / "kaigi.mp4")
    upload = processed_for(video, "clerk", "clerk-pw-1")
    assert [upload.stage_status(s) for s in ("transcription", "analysis", "hls")] == [StageStatus.SUCCEEDED] * 3
    assert upload.language == "ja"
    assert upload.translation_segments == []  # WHISPER_TRANSLATE is off by default

    report = _watch(live_server, upload, "japanese.png")
    content = report["content"]
    # The page: the transcript is Japanese and says so, and so is the analysis; no translation.
    assert content["transcript"]["lang"] == "ja"
    assert "(Japanese, ja)" in content["transcript"]["text"]
    assert JAPANESE.search(content["transcript"]["text"])
    assert content["analysis"]["lang"] == "ja"
    assert JAPANESE.search(content["analysis"]["text"].split("Issues raised")[1])  # issues found, in Japanese
    assert content["translation"] is None
    # The player: one subtitle track, Japanese, shown, with Japanese cues of at most 18 characters a line.
    assert report["player"]["subtitleNames"] == ["Japanese"]
    assert content["shown"]["language"] == "ja"
    assert JAPANESE.search(content["shown"]["firstCue"])
    cue = content["shown"]["firstCue"]
    assert cue.startswith("<v Speaker 1>"), cue  # the voice span: who speaks (one voice here)
    assert all(len(line) <= 18 for line in re.sub(r"<[^>]*>", "", cue).splitlines())
    assert report["problems"] == []

    # With a translation (as WHISPER_TRANSLATE stores it), the HLS stage adds the English track.
    english = "Today we discuss the delivery delays."
    UploadedFile.objects.filter(pk=upload.pk).update(translation_segments=[{"start": 0.0, "end": 4.0, "text": english}])
    hls_run(UploadedFile.objects.get(pk=upload.pk))
    report = _watch(live_server, upload, "japanese-translated.png")
    content = report["content"]
    assert report["player"]["subtitleNames"] == ["Japanese", "English (translated)"]
    assert content["subtitleLanguages"] == ["ja", "en"]
    assert content["shown"]["language"] == "ja"  # the recording's own language stays the default
    assert content["translation"]["lang"] == "en"
    assert english in content["translation"]["text"]
    assert report["problems"] == []


def _watch(live_server: LiveServer, upload: UploadedFile, screenshot: str) -> dict[str, Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    env = {
        **os.environ, "BASE_URL": live_server.url, "USERNAME": "clerk", "PASSWORD": "clerk-pw-1",
        "DETAIL_PATH": f"/uploads/{upload.pk}/", "CHROMIUM": CHROMIUM, "SCREENSHOT": str(ARTIFACTS / screenshot),
    }  # fmt: skip
    run = subprocess.run(["node", str(DRIVER)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    print(run.stderr)
    assert run.returncode == 0, run.stderr
    report: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return report
