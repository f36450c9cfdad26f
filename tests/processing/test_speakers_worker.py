"""The speakers stage on a real worker: cancelled mid-stage, and SIGKILLed mid-stage then taken over."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from config.celery import app
from processing.media.dialogue import SpokenTurn, Turn, dialogue_wav
from processing.pipeline import pipeline_cancel, pipeline_resume
from tests.conftest import WorkerHandle
from tests.speech.speakers import SENTENCES
from tests.stack import wait_for
from tests.stage_state import transcribed_upload
from uploads.models import Speaker, StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def long_dialogue(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SpokenTurn]]:
    """About six minutes of three voices: the stage runs for several seconds."""
    path = tmp_path_factory.mktemp("speakers") / "long-dialogue.wav"
    voices = ("ben", "ann", "kate")
    turns = [Turn(voices[k % 3], " ".join(SENTENCES[(k * 3) % 14 : (k * 3) % 14 + 3]), gap=0.7) for k in range(36)]
    return path, dialogue_wav(turns, str(path))


def _running_speakers(long_dialogue: tuple[Path, list[SpokenTurn]], capture: Any) -> UploadedFile:
    """The long dialogue's speakers stage queued on the worker and under way (progress written)."""
    path, spoken = long_dialogue
    upload = transcribed_upload(path, spoken, capture)
    pipeline_resume(upload, from_stage="speakers")
    wait_for(lambda: UploadedFile.objects.get(pk=upload.pk).stage("speakers").progress > 0, 60, "speakers to run")
    return upload


def test_cancel_mid_stage_stops_it_and_writes_no_speakers(
    celery_worker_process: WorkerHandle,
    long_dialogue: tuple[Path, list[SpokenTurn]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    upload = _running_speakers(long_dialogue, django_capture_on_commit_callbacks)
    pipeline_cancel(UploadedFile.objects.get(pk=upload.pk))
    stopped = f"Speaker diarization cancelled uploaded_file_id: {upload.pk}"
    wait_for(lambda: stopped in celery_worker_process.log(), 30, "the stage to stop")
    done = UploadedFile.objects.get(pk=upload.pk)
    assert done.stage("speakers").status == StageStatus.CANCELLED
    assert done.stage("analysis").status == StageStatus.CANCELLED
    assert not Speaker.objects.filter(upload=upload).exists()
    assert all("speaker" not in s for s in done.transcript_segments)


def test_sigkill_mid_stage_is_taken_over_and_ends_with_one_set_of_speakers(
    celery_worker_process: WorkerHandle,
    long_dialogue: tuple[Path, list[SpokenTurn]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    spoken = long_dialogue[1]
    upload = _running_speakers(long_dialogue, django_capture_on_commit_callbacks)
    task_id = UploadedFile.objects.get(pk=upload.pk).stage("speakers").task_id
    active = wait_for(
        lambda: [
            t for tasks_ in (app.control.inspect(destination=[celery_worker_process.nodename]).active() or {}).values()
            for t in tasks_ if t["id"] == task_id
        ],
        10, "the task in `inspect active`",
    )  # fmt: skip
    os.kill(active[0]["worker_pid"], signal.SIGKILL)

    wait_for(lambda: UploadedFile.objects.get(pk=upload.pk).is_finished, 180, "the pipeline to finish")
    done = UploadedFile.objects.get(pk=upload.pk)
    assert done.stage("speakers").status == StageStatus.SUCCEEDED
    assert done.stage("speakers").attempts == 2  # the redelivery took the dead owner's stage over
    assert [s.label for s in done.speakers.all()] == ["S1", "S2", "S3"]
    truth = {"ben": set(), "ann": set(), "kate": set()}  # type: dict[str, set[str]]
    for segment, turn in zip(done.transcript_segments, spoken, strict=True):
        truth[turn.voice].add(segment["speaker"])
    assert all(len(labels) == 1 for labels in truth.values()), truth  # each voice one label
    assert len({next(iter(v)) for v in truth.values()}) == 3
