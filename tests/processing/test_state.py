"""The stage state machine: conditional moves, so duplicate deliveries cannot claim twice."""

from __future__ import annotations

import pytest

from processing.state import stage_claim, stage_finish, stage_queue, stage_retry, stages_skip_after
from uploads.models import MediaKind, StageStatus, UploadedFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload() -> UploadedFile:
    row = UploadedFile.objects.create(original_name="a.mp4", size=1, media_kind=MediaKind.VIDEO, file="uploads/a.mp4")
    for stage in ("transcription", "analysis", "hls"):
        stage_queue(row.pk, stage, task_id=f"task-{stage}")
    return row


def test_a_stage_is_claimed_once(upload: UploadedFile) -> None:
    assert stage_claim(upload.pk, "transcription") is True
    assert stage_claim(upload.pk, "transcription") is False
    upload.refresh_from_db()
    assert upload.stage("transcription").status == StageStatus.RUNNING
    assert upload.stage("transcription").started_at is not None


def test_a_finished_stage_cannot_be_claimed_again(upload: UploadedFile) -> None:
    stage_claim(upload.pk, "analysis")
    assert stage_finish(upload.pk, "analysis", status=StageStatus.SUCCEEDED) is True
    assert stage_claim(upload.pk, "analysis") is False
    assert stage_finish(upload.pk, "analysis", status=StageStatus.FAILED, error="late") is False
    upload.refresh_from_db()
    assert upload.stage("analysis").status == StageStatus.SUCCEEDED
    assert upload.stage("analysis").error == ""


def test_retry_returns_a_running_stage_to_queued_with_its_reason(upload: UploadedFile) -> None:
    stage_claim(upload.pk, "hls")
    assert stage_retry(upload.pk, "hls", reason="OperationalError: db gone") is True
    assert stage_claim(upload.pk, "hls") is True
    upload.refresh_from_db()
    assert upload.stage("hls").error == "retrying: OperationalError: db gone"


def test_skip_after_marks_only_the_later_stages(upload: UploadedFile) -> None:
    stage_claim(upload.pk, "transcription")
    stage_finish(upload.pk, "transcription", status=StageStatus.FAILED, error="bad audio")
    stages_skip_after(upload.pk, "transcription", reason="not run: Transcription failed")
    upload.refresh_from_db()
    assert upload.stage("transcription").status == StageStatus.FAILED
    assert (upload.stage("analysis").status, upload.stage("hls").status) == (StageStatus.SKIPPED, StageStatus.SKIPPED)
    assert upload.stage("analysis").error == "not run: Transcription failed"
    assert upload.is_finished
