"""Stopping HLS on a real worker: whatever stops the task (revoke with SIGTERM, SIGKILL or SIGUSR1,
i.e. the soft time limit's signal), no ffmpeg is left running."""

from __future__ import annotations

import glob
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.files import File

from config.celery import app
from tests.conftest import WorkerHandle
from uploads.models import StageStatus, UploadedFile
from uploads.services import upload_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def long_silent_video(media_dir: Path) -> Path:
    # No audio: transcription and analysis skip at once, so HLS starts within a second or two.
    path = media_dir / "long-silent.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "60", "-b:v", "800k",
         "-c:v", "libx264", "-preset", "ultrafast", "-an", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command name), read from /proc."""
    table = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue  # exited while we looked
        name = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        table[int(stat.split("/")[2])] = (int(ppid), state, name)
    return table


def _ffmpeg_under(root_pid: int) -> set[int]:
    table = _process_table()

    def descends(pid: int) -> bool:
        while pid > 1:
            if pid == root_pid:
                return True
            pid = table.get(pid, (0, "", ""))[0]
        return False

    return {pid for pid, (_, _, name) in table.items() if name == "ffmpeg" and descends(pid)}


def _alive(pids: set[int]) -> set[int]:
    table = _process_table()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL", "SIGUSR1"])
def test_revoking_a_running_hls_task_leaves_no_ffmpeg(
    signal_name: str, celery_worker_process: WorkerHandle, long_silent_video: Path
) -> None:
    with long_silent_video.open("rb") as fh:
        upload = upload_create(file=File(fh, name="long.mp4"), original_name="long.mp4")
    scratch = f"{tempfile.gettempdir()}/hls-{upload.pk}-*"
    earlier_runs = set(glob.glob(scratch))  # ids repeat across test sessions; SIGKILL leaves scratch
    worker_pid = celery_worker_process.process.pid
    _wait_for(
        lambda: UploadedFile.objects.get(pk=upload.pk).stage("hls").status == StageStatus.RUNNING, 60, "HLS to start"
    )
    _wait_for(lambda: _ffmpeg_under(worker_pid), 30, "the HLS ffmpeg to start")
    encoders = _ffmpeg_under(worker_pid)

    app.control.revoke(upload.stage("hls").task_id, terminate=True, signal=signal_name)

    # The very processes that ran are gone: not merely re-parented away from the worker.
    _wait_for(lambda: not _alive(encoders), 15, f"ffmpeg to exit after {signal_name}")
    assert app.control.ping(destination=[celery_worker_process.nodename], timeout=5)
    if signal_name == "SIGUSR1":
        # SIGUSR1 raises SoftTimeLimitExceeded in the task: the stage fails with why, scratch files go.
        _wait_for(
            lambda: UploadedFile.objects.get(pk=upload.pk).stage("hls").status == StageStatus.FAILED,
            15,
            "the stage to fail",
        )
        assert "soft time limit" in UploadedFile.objects.get(pk=upload.pk).stage("hls").error
        assert set(glob.glob(scratch)) - earlier_runs == set()
