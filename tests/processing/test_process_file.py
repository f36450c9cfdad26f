"""`manage.py process_file`: the quickest way to see the pipeline work."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from uploads.models import StageStatus, UploadedFile


@pytest.mark.django_db(transaction=True)
def test_process_file_sync_runs_every_stage_in_process(speech_audio: Path) -> None:
    out = io.StringIO()
    try:
        call_command("process_file", str(speech_audio), "--sync", stdout=out)
    finally:
        from config.celery import app

        app.conf.task_always_eager = False
    text = out.getvalue()
    upload = UploadedFile.objects.get()
    assert upload.stage("transcription").status == StageStatus.SUCCEEDED
    assert upload.stage("analysis").status == StageStatus.SUCCEEDED
    assert "Transcription  succeeded" in text
    assert "AI analysis    succeeded" in text
    assert "HLS            skipped: audio upload" in text
    assert "Transcript (en):" in text
    assert "Summary:" in text


def test_process_file_refuses_a_missing_path() -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("process_file", "/nonexistent/clip.mp4")


@pytest.mark.django_db
def test_process_file_reports_why_a_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match=r"empty \(0 bytes\)"):
        call_command("process_file", str(empty))
