"""Fault tests that restart infrastructure: Redis mid-pipeline, and a worker after a cancel. Each
runs its own redis-server and worker processes, so the shared ones are never disturbed; the
operator's side runs as `manage.py` processes against the same stack."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from processing.media.samples import SAMPLE_SPEECH, speech_video
from tests.processing.test_hls_stop import _alive, _ffmpeg_under
from tests.stack import Stack, stop_worker, wait_for
from uploads.models import StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _uploaded_id(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"Uploaded #(\d+)", line)
    assert match, line
    return int(match.group(1))


# (b) ------------------------------------------------------------------------------------------
def test_b_a_redis_restart_mid_pipeline_still_completes(stack: Stack, speech_video: Path) -> None:
    # Supervised like the compose worker (restart: unless-stopped): with a task in flight, kombu's
    # Redis transport can crash the worker's main process when the broker goes away.
    worker = stack.worker("restart-redis-worker", supervised=True)
    try:
        client = stack.manage_background("process_file", str(speech_video), "--timeout", "300")
        upload_id = _uploaded_id(client)
        wait_for(
            lambda: UploadedFile.objects.get(pk=upload_id).stage("transcription").status != StageStatus.QUEUED,
            60,
            "start",
        )

        stack.stop_redis()
        time.sleep(3)  # the worker and the client lose the broker for a while
        stack.start_redis()

        # Beat's watchdog, by hand: anything whose message was lost with the restart is re-sent.
        deadline = time.monotonic() + 240
        while not UploadedFile.objects.get(pk=upload_id).is_finished and time.monotonic() < deadline:
            stack.manage("recover_stuck")
            time.sleep(3)
        upload = UploadedFile.objects.get(pk=upload_id)
        assert (
            tuple(upload.stage(s).status for s in ("transcription", "analysis", "hls")) == (StageStatus.SUCCEEDED,) * 3
        )
        assert client.wait(timeout=60) == 0
    finally:
        stop_worker(worker)


# (d) ------------------------------------------------------------------------------------------
def test_d_cancel_during_hls_survives_a_worker_restart(stack: Stack, tmp_path: Path) -> None:
    source = tmp_path / "silent.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "60", "-b:v", "800k",
         "-c:v", "libx264", "-preset", "ultrafast", "-an", str(source)],
        check=True,
    )  # fmt: skip
    statedb = str(tmp_path / "worker.state")
    worker = stack.worker("cancel-worker", "--statedb", statedb)
    try:
        client = stack.manage_background("process_file", str(source), "--timeout", "300")
        upload_id = _uploaded_id(client)
        wait_for(
            lambda: UploadedFile.objects.get(pk=upload_id).stage("hls").status == StageStatus.RUNNING,
            60,
            "HLS to start",
        )
        encoders = wait_for(lambda: _ffmpeg_under(worker.process.pid), 30, "ffmpeg to start")

        assert f"cancelled #{upload_id}" in stack.manage("cancel", str(upload_id))
        wait_for(lambda: not _alive(encoders), 20, "ffmpeg to stop")
        stop_worker(worker)
        client.kill()

        worker = stack.worker("cancel-worker", "--statedb", statedb)
        time.sleep(5)  # the restarted worker runs its start-up watchdog; nothing may revive the upload
        upload = UploadedFile.objects.get(pk=upload_id)
        assert upload.stage("hls").status == StageStatus.CANCELLED
        assert upload.cancel_requested_at is not None
        assert upload.hls_master == ""
        assert not _ffmpeg_under(worker.process.pid)
    finally:
        stop_worker(worker)


# A cancel must not leave the pool process it stopped unable to lose a task later --------------
def test_after_a_cancel_the_same_pool_process_dying_mid_task_is_still_redelivered(stack: Stack, tmp_path: Path) -> None:
    # Celery's `revoke(terminate=True, signal=SIGUSR1)` would mark the process terminated for good in
    # billiard: its next task, lost with it, would be taken as revoked and never delivered again.
    silent, speech = tmp_path / "silent.mp4", tmp_path / "speech.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "60", "-b:v", "800k",
         "-c:v", "libx264", "-preset", "ultrafast", "-an", str(silent)],
        check=True,
    )  # fmt: skip
    speech_video(str(speech), " ".join([SAMPLE_SPEECH] * 3), size="320x240")  # about 60 s
    worker = stack.worker("soft-stop-worker", "--concurrency", "1")  # one pool process runs both tasks
    try:
        client = stack.manage_background("process_file", str(silent), "--timeout", "300")
        first = _uploaded_id(client)
        wait_for(
            lambda: UploadedFile.objects.get(pk=first).stage("hls").status == StageStatus.RUNNING, 60, "HLS to start"
        )
        encoders = wait_for(lambda: _ffmpeg_under(worker.process.pid), 30, "ffmpeg to start")
        pool_pid = _owner_pid(UploadedFile.objects.get(pk=first).stage("hls").owner)

        stack.manage("cancel", str(first))
        wait_for(lambda: not _alive(encoders), 20, "ffmpeg to stop")
        assert UploadedFile.objects.get(pk=first).stage("hls").status == StageStatus.CANCELLED
        client.kill()

        client = stack.manage_background("process_file", str(speech), "--timeout", "300")
        second = _uploaded_id(client)
        wait_for(
            lambda: UploadedFile.objects.get(pk=second).stage("transcription").status == StageStatus.RUNNING,
            60,
            "transcription",
        )
        assert _owner_pid(UploadedFile.objects.get(pk=second).stage("transcription").owner) == pool_pid  # it lived on
        os.kill(pool_pid, signal.SIGKILL)

        # Delivered again (no watchdog runs here: that is redelivery of the lost message).
        wait_for(lambda: UploadedFile.objects.get(pk=second).is_finished, 180, "the second upload to finish")
        done = UploadedFile.objects.get(pk=second)
        assert tuple(done.stage(s).status for s in ("transcription", "analysis", "hls")) == (StageStatus.SUCCEEDED,) * 3
        assert done.stage("transcription").attempts == 2
        client.kill()
    finally:
        stop_worker(worker)


def _owner_pid(owner: str) -> int:
    return int(owner.split(":")[1])  # host:pid:thread
