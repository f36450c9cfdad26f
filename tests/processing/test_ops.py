"""Operations without a worker: cancel, delete, the watchdog, schedules and the ops commands."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from processing.models import TaskAttempt
from processing.pipeline import pipeline_cancel
from processing.recovery import cleanup_scratch, recover_stuck
from processing.state import stage_claim
from tests.stage_state import set_stage
from uploads.models import StageStatus, UploadedFile
from uploads.services import upload_create, upload_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(speech_video: Path, django_capture_on_commit_callbacks: Callable[..., Any]) -> UploadedFile:
    # The chain is not sent (callbacks captured, not run): these tests are about database state.
    with django_capture_on_commit_callbacks(execute=False), speech_video.open("rb") as fh:
        return upload_create(file=File(fh, name="v.mp4"), original_name="v.mp4")


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_cancel_marks_open_stages_and_blocks_every_later_claim(video: UploadedFile) -> None:
    revoked = pipeline_cancel(video)
    video.refresh_from_db()
    stages = ("transcription", "speakers", "analysis", "hls")
    assert sorted(revoked) == sorted(video.stage(stage).task_id for stage in stages)
    assert video.cancel_requested_at is not None
    assert {video.stage(stage).status for stage in stages} == {StageStatus.CANCELLED}
    assert not stage_claim(video.pk, "transcription")
    assert pipeline_cancel(video) == []  # idempotent: nothing open is left to revoke


def test_reprocess_clears_cancel_and_queues_from_the_chosen_stage(video: UploadedFile) -> None:
    pipeline_cancel(video)
    out = _run("reprocess", str(video.pk), "--from-stage", "analysis")
    video.refresh_from_db()
    assert f"queued #{video.pk} from analysis" in out
    assert video.cancel_requested_at is None
    assert video.stage("transcription").status == StageStatus.CANCELLED
    assert (video.stage("analysis").status, video.stage("hls").status) == (StageStatus.QUEUED, StageStatus.QUEUED)


def test_delete_removes_the_row_and_its_files_after_commit(
    video: UploadedFile, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    source = str(video.file.name)
    hls = default_storage.save(f"hls/{video.pk}/abc/master.m3u8", io.BytesIO(b"#EXTM3U\n"))
    with django_capture_on_commit_callbacks(execute=True):
        upload_delete(upload=video)
    assert not UploadedFile.objects.filter(pk=video.pk).exists()
    assert not default_storage.exists(source)
    assert not default_storage.exists(hls)


def _stale(upload: UploadedFile, stage: str, *, attempts: int) -> None:
    set_stage(
        upload,
        stage,
        status=StageStatus.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
        owner="lost-host:1:1",
        attempts=attempts,
    )


def test_watchdog_requeues_a_stage_whose_worker_is_gone(
    video: UploadedFile, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    _stale(video, "transcription", attempts=1)
    old_task = video.stage("transcription").task_id

    dry = recover_stuck(dry_run=True)
    video.refresh_from_db()
    assert dry.requeued == [(video.pk, "transcription", "no heartbeat for over 120 s (worker lost)")]
    assert video.stage("transcription").status == StageStatus.RUNNING  # a dry run changes nothing

    with django_capture_on_commit_callbacks(execute=False) as sent:
        report = recover_stuck()
    video.refresh_from_db()
    assert [r[:2] for r in report.requeued] == [(video.pk, "transcription")]
    assert video.stage("transcription").status == StageStatus.QUEUED
    assert video.stage("transcription").task_id != old_task
    assert video.stage("transcription").attempts == 1  # bounded: the count survives the re-queue
    assert len(sent) == 1


@override_settings(PIPELINE_MAX_ATTEMPTS=2)
def test_watchdog_fails_a_stage_after_its_attempts_are_used_up(video: UploadedFile) -> None:
    _stale(video, "hls", attempts=2)
    for stage in ("transcription", "speakers", "analysis"):
        set_stage(video, stage, status=StageStatus.SUCCEEDED)
    report = recover_stuck()
    video.refresh_from_db()
    assert report.failed
    assert video.stage("hls").status == StageStatus.FAILED
    assert "gave up after 2 attempts" in video.stage("hls").error


@override_settings(PIPELINE_QUEUED_STALE_SECONDS=0)
def test_watchdog_resends_a_queued_stage_whose_message_was_lost(
    video: UploadedFile, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # The chain for this upload was never sent (captured above), so no queue holds its message.
    with django_capture_on_commit_callbacks(execute=False) as sent:
        report = recover_stuck()
    assert [r[:2] for r in report.requeued] == [(video.pk, "transcription")]
    assert "lost by the broker" in report.requeued[0][2]
    assert len(sent) == 1


def test_scratch_cleanup_removes_only_old_hls_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "hls-7-abc").mkdir()
    (tmp_path / "other").mkdir()
    assert cleanup_scratch(max_age=3600) == []
    assert cleanup_scratch(max_age=-1) == [str(tmp_path / "hls-7-abc")]
    assert not (tmp_path / "hls-7-abc").exists()
    assert (tmp_path / "other").exists()


def test_periodic_tasks_are_registered_once_and_admin_edits_survive() -> None:
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"processing.tasks.recover_stuck_async", "celery.backend_cleanup"} <= names
    PeriodicTask.objects.filter(task="celery.backend_cleanup").update(enabled=False)  # an operator's edit
    out = _run("setup_periodic_tasks")
    assert "exists" in out
    assert not PeriodicTask.objects.get(task="celery.backend_cleanup").enabled
    assert PeriodicTask.objects.filter(task="processing.tasks.recover_stuck_async").count() == 1


def test_pipeline_status_lists_and_explains(video: UploadedFile) -> None:
    TaskAttempt.objects.create(
        upload=video, task_id=video.stage("transcription").task_id,
        task_name="processing.tasks.transcribe_and_save_async", stage="transcription", event="started",
        hostname="w@h",
    )  # fmt: skip
    listing = _run("pipeline_status")
    assert f"#{video.pk}" in listing
    assert "transcription=queued" in listing
    detail = json.loads(_run("pipeline_status", str(video.pk), "--json"))
    assert detail["stages"]["transcription"]["task_id"] == video.stage("transcription").task_id
    assert detail["events"][0]["event"] == "started"
    assert "no uploads with a failed stage" in _run("pipeline_status", "--failed")
    text = _run("pipeline_status", str(video.pk))
    assert "events:" in text
    assert "w@h" in text


def test_ops_commands_answer(video: UploadedFile) -> None:
    assert "nothing stuck" in _run("recover_stuck", "--dry-run")
    stats = _run("queue_stats", "--timeout", "0.5")
    for queue in ("transcription", "analysis", "hls", "default", "unacked", "workers"):
        assert queue in stats
    probe = _run("probe_encoders")
    assert "libx264                  works" in probe
    assert "h264_nvenc" in probe
    out = _run("cancel", str(video.pk))
    assert f"cancelled #{video.pk}" in out
