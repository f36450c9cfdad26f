"""Fault tests on real worker processes and real Redis: lost workers, a Redis restart, duplicate
deliveries, cancel across a worker restart, the soft time limit, rollback, and a burst of uploads."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from celery import signals
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from config.celery import app
from processing import tasks
from processing.media.samples import SAMPLE_SPEECH, speech_video
from processing.models import StageRun, TaskAttempt
from tests.conftest import WorkerHandle, wait_until_finished
from tests.stack import wait_for
from tests.stage_state import set_stage
from uploads.models import StageStatus, UploadedFile
from uploads.services import upload_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _upload(path: Path, name: str | None = None) -> UploadedFile:
    with path.open("rb") as fh:
        return upload_create(file=File(fh, name=path.name), original_name=name or path.name)


def _status(upload_id: int, stage: str) -> str:
    return UploadedFile.objects.get(pk=upload_id).stage_status(stage)


def _hls_sets(upload_id: int) -> list[str]:
    root = f"hls/{upload_id}"
    return default_storage.listdir(root)[0] if default_storage.exists(root) else []


@pytest.fixture(scope="session")
def long_speech_video(media_dir: Path) -> Path:
    path = media_dir / "long-speech.mp4"
    speech_video(str(path), " ".join([SAMPLE_SPEECH] * 3), size="320x240")
    return path


@pytest.fixture(scope="session")
def silent_video(media_dir: Path) -> Path:
    path = media_dir / "silent-60s.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "60",
         "-b:v", "800k", "-c:v", "libx264", "-preset", "ultrafast", "-an", str(path)],
        check=True,
    )  # fmt: skip
    return path


# (a) ------------------------------------------------------------------------------------------
def test_a_sigkill_of_the_pool_child_mid_transcription_still_ends_succeeded_once(
    celery_worker_process: WorkerHandle, long_speech_video: Path
) -> None:
    upload = _upload(long_speech_video)
    wait_for(lambda: _status(upload.pk, "transcription") == StageStatus.RUNNING, 60, "transcription to start")
    active = wait_for(
        lambda: [
            t for tasks_ in (app.control.inspect(destination=[celery_worker_process.nodename]).active() or {}).values()
            for t in tasks_ if t["id"] == upload.stage("transcription").task_id
        ],
        10, "the task in `inspect active`",
    )  # fmt: skip
    os.kill(active[0]["worker_pid"], signal.SIGKILL)

    done = wait_until_finished(upload.pk, timeout=240)

    assert tuple(done.stage(s).status for s in ("transcription", "analysis", "hls")) == (StageStatus.SUCCEEDED,) * 3
    assert done.stage("transcription").attempts == 2  # the redelivery took the dead owner's stage over
    # One transcript, not two appended: times only go forward and the speech appears once.
    starts = [s["start"] for s in done.transcript_segments]
    assert starts == sorted(starts)
    assert done.transcript_text.lower().count("welcome") <= 3
    assert len(_hls_sets(upload.pk)) == 1


# (c) ------------------------------------------------------------------------------------------
def test_c_the_same_stage_delivered_twice_at_once_gives_one_output(
    celery_worker_process: WorkerHandle, silent_video: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        upload = _upload(silent_video)
    set_stage(upload, "transcription", status=StageStatus.SKIPPED)
    set_stage(upload, "analysis", status=StageStatus.SKIPPED)
    for _ in range(2):  # two deliveries of one message, as Redis does after a visibility timeout
        tasks.generate_hls_async.apply_async(args=(upload.pk,), task_id=upload.stage("hls").task_id)

    wait_for(lambda: _status(upload.pk, "hls") == StageStatus.SUCCEEDED, 180, "HLS to finish")
    wait_for(
        lambda: (
            {"ignored", "succeeded"}
            <= set(TaskAttempt.objects.filter(task_id=upload.stage("hls").task_id).values_list("event", flat=True))
        ),
        30,
        "the twin's and the winner's records",
    )

    events = list(TaskAttempt.objects.filter(task_id=upload.stage("hls").task_id).values_list("event", flat=True))
    assert events.count("succeeded") == 1
    assert events.count("ignored") == 1
    assert len(_hls_sets(upload.pk)) == 1
    assert UploadedFile.objects.get(pk=upload.pk).stage("hls").attempts == 1


# (e) ------------------------------------------------------------------------------------------
def test_e_the_soft_time_limit_in_hls_fails_the_stage_and_removes_scratch(
    celery_worker_process: WorkerHandle, silent_video: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        upload = _upload(silent_video)
    scratch = f"{tempfile.gettempdir()}/hls-{upload.pk}-*"
    earlier_runs = set(glob.glob(scratch))  # ids repeat across test sessions; SIGKILL tests leave scratch
    set_stage(upload, "transcription", status=StageStatus.SKIPPED)
    set_stage(upload, "analysis", status=StageStatus.SKIPPED)
    tasks.generate_hls_async.apply_async(
        args=(upload.pk,), task_id=upload.stage("hls").task_id, soft_time_limit=3, time_limit=60
    )

    wait_for(lambda: _status(upload.pk, "hls") == StageStatus.FAILED, 60, "the soft time limit")

    done = UploadedFile.objects.get(pk=upload.pk)
    assert "soft time limit of 3 s" in done.stage("hls").error
    assert done.hls_master == ""
    wait_for(lambda: not set(glob.glob(scratch)) - earlier_runs, 10, "scratch removal")


# (f) ------------------------------------------------------------------------------------------
@transaction.atomic
def _create_then_fail(path: Path) -> None:
    _upload(path)
    raise RuntimeError("the request failed after the upload was created")


def test_f_a_rolled_back_upload_sends_no_task(speech_video: Path) -> None:
    published: list[str] = []

    def seen(sender: str | None = None, **_: Any) -> None:
        published.append(str(sender))

    signals.after_task_publish.connect(seen, weak=False)
    try:
        with pytest.raises(RuntimeError, match="after the upload"):
            _create_then_fail(speech_video)
    finally:
        signals.after_task_publish.disconnect(seen)
    assert published == []
    assert UploadedFile.objects.count() == 0


# (g) ------------------------------------------------------------------------------------------
def test_g_two_hundred_uploads_at_once_all_reach_a_terminal_state(
    celery_worker_process: WorkerHandle, tmp_path: Path
) -> None:
    clip = tmp_path / "beep.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=660:duration=0.5", str(clip)], check=True
    )
    ids = [_upload(clip, f"beep {n}.m4a").pk for n in range(200)]

    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        open_ = (
            StageRun.objects.filter(upload_id__in=ids, stage__in=["transcription", "analysis"])
            .exclude(status__in=["succeeded", "failed", "skipped", "cancelled"])
            .count()
        )
        if open_ == 0:
            break
        time.sleep(1)
    rows = UploadedFile.objects.filter(pk__in=ids)
    assert rows.count() == 200
    assert all(u.is_finished for u in rows), [u.pk for u in rows if not u.is_finished][:10]
    assert not rows.filter(stage_runs__stage="transcription", stage_runs__status=StageStatus.FAILED).exists()
