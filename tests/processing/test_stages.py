"""Stage outcomes: settings invariants, backoff, and a permanent failure stopping the chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files import File
from django.test import override_settings

from processing import tasks
from processing.stages import StageFailed, retry_countdown
from uploads.models import StageStatus, UploadedFile
from uploads.services import upload_create


def test_every_queue_has_soft_below_hard_below_visibility_timeout() -> None:
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["visibility_timeout"] == visibility
    for queue, limits in settings.CELERY_QUEUE_TABLE.items():
        assert limits["soft_time_limit"] < limits["time_limit"] < visibility, queue
        # The longest retry wait plus a full run must fit inside the visibility timeout too.
        assert limits["time_limit"] + settings.CELERY_RETRY_BACKOFF_MAX < visibility, queue


def test_every_task_is_routed_to_a_declared_queue_with_its_limits() -> None:
    declared = {q.name for q in settings.CELERY_TASK_QUEUES}
    assert declared == set(settings.CELERY_QUEUE_TABLE)
    for task, queue in [
        (tasks.transcribe_and_save_async, "transcription"),
        (tasks.generate_ai_analysis_async, "analysis"),
        (tasks.generate_hls_async, "hls"),
    ]:
        assert settings.CELERY_TASK_ROUTES[task.name]["queue"] == queue
        assert task.time_limit == settings.CELERY_QUEUE_TABLE[queue]["time_limit"]
        assert task.soft_time_limit == settings.CELERY_QUEUE_TABLE[queue]["soft_time_limit"]
        assert task.max_retries == settings.CELERY_QUEUE_TABLE[queue]["max_retries"]


@pytest.mark.parametrize("retries", range(8))
def test_retry_countdown_backs_off_with_jitter_and_stays_capped(retries: int) -> None:
    waits = {retry_countdown(retries) for _ in range(20)}
    cap = min(settings.CELERY_RETRY_BACKOFF_MAX, 10 * 2**retries)
    assert all(cap / 2 <= w <= cap for w in waits)
    assert len(waits) > 1  # jitter


@pytest.mark.django_db
def test_configuration_error_fails_the_stage_once_and_skips_the_rest(speech_audio: Path) -> None:
    # Given an upload whose worker is configured with a model that does not exist,
    with speech_audio.open("rb") as fh:
        upload = upload_create(file=File(fh, name="a.m4a"), original_name="a.m4a")
    # when its transcription stage runs (in this process: this is about the stage's outcome),
    with override_settings(WHISPER_MODEL="/nonexistent/model"):
        result = tasks.transcribe_and_save_async.apply(args=(upload.pk,), task_id=upload.stage("transcription").task_id)

    # then it fails at once, naming the setting, and the later stage is marked as not run.
    assert isinstance(result.result, StageFailed)
    upload = UploadedFile.objects.get(pk=upload.pk)
    assert upload.stage("transcription").status == StageStatus.FAILED
    assert "WHISPER_MODEL" in upload.stage("transcription").error
    assert upload.stage("analysis").status == StageStatus.SKIPPED
    assert upload.stage("analysis").error == "not run: Transcription failed"


@pytest.mark.django_db
def test_a_task_for_a_deleted_upload_ends_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    result = tasks.generate_ai_analysis_async.apply(args=(987654,))
    assert result.successful()
    assert result.result == {"uploaded_file_id": 987654, "outcome": "missing"}
    assert "uploaded_file_id: 987654 no longer exists; skipping" in caplog.text


def test_a_soft_limit_re_raised_as_another_error_is_still_the_soft_limit() -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    from processing.stages import _soft_limit_behind

    def vad() -> None:  # faster-whisper's shape: the limit fires during `import onnxruntime`
        try:
            raise SoftTimeLimitExceeded()
        except Exception as exc:
            raise RuntimeError("Applying the VAD filter requires the onnxruntime package") from exc

    with pytest.raises(RuntimeError) as caught:
        vad()
    assert _soft_limit_behind(caught.value)
    assert not _soft_limit_behind(RuntimeError("a real crash"))
