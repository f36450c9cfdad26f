"""Every command docs/worker_ops.md gives for the local stack runs against this project and
succeeds. Docker lines need a Docker engine and are checked by their local equivalents."""

from __future__ import annotations

import re
import shlex
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.stack import Stack, stop_worker, wait_for
from uploads.models import UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RUNBOOK = ROOT / "docs" / "worker_ops.md"
# Long-running by design (they start a worker or watch files); the tests start workers themselves.
LONG_RUNNING = ("-A config worker", "watchfiles")


def runbook_commands() -> list[str]:
    """Lines of the runbook's bash blocks that run on the local stack."""
    blocks = re.findall(r"```bash\n(.*?)```", RUNBOOK.read_text(), flags=re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("  #")[0].strip()  # drop trailing comments
            one_line_loop = line.startswith("for q in") and line.endswith("done") and "docker" not in line
            if line.startswith((".venv/bin/", "redis-cli")) or one_line_loop:
                commands.append(line)
    return commands


def test_the_runbook_has_local_commands_for_every_operation() -> None:
    text = " ".join(runbook_commands())
    for operation in (
        "inspect active", "inspect reserved", "inspect stats", "purge -Q transcription,analysis,hls,default",
        "control revoke", "control terminate", "control shutdown", "LLEN", "pipeline_status", "reprocess",
        "cancel", "recover_stuck", "queue_stats", "probe_encoders", "setup_periodic_tasks", "watchfiles",
    ):  # fmt: skip
        assert operation in text, operation


def test_every_local_runbook_command_succeeds(stack: Stack, speech_video: Path) -> None:
    worker = stack.worker("runbook-worker")
    ran, shutdown = [], []
    try:
        out = stack.manage("process_file", str(speech_video), "--timeout", "240", timeout=300)
        upload_id = int(re.search(r"Uploaded #(\d+)", out).group(1))  # type: ignore[union-attr]
        assert UploadedFile.objects.get(pk=upload_id).is_finished
        values = {"<task_id>": str(uuid.uuid4()), "<id>": str(upload_id), "path/to/video.mp4": str(speech_video)}
        for command in runbook_commands():
            if any(marker in command for marker in LONG_RUNNING):
                continue
            if "control shutdown" in command:
                shutdown.append(command)  # last: it stops the worker the others talk to
                continue
            for placeholder, value in values.items():
                command = command.replace(placeholder, value)
            command = command.replace("redis-cli", f"redis-cli -p {stack.port}")
            done = subprocess.run(
                ["bash", "-c", command], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            ran.append(command)
        assert shutdown
        subprocess.run(["bash", "-c", shutdown[0]], cwd=ROOT, env=stack.env, capture_output=True, timeout=60)
        # `control shutdown` may print "No nodes replied" (the worker exits before it answers): what
        # counts is that the worker really stops, gracefully.
        wait_for(lambda: worker.process.poll() is not None, 60, "the worker to shut down")
        assert worker.process.returncode == 0
    finally:
        stop_worker(worker)
    assert len(ran) >= 20
    assert shlex.split(ran[0])[0].startswith(".venv/bin/")
