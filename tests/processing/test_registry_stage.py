"""A new stage is one StageSpec and one service: tests/throwaway_stage registers "word_count" after
analysis, from outside processing, and a real worker runs it in the chain, with everything that is
derived from the registry (claim, lifecycle records, log phrases, results, process_file and
pipeline_status) working for it unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django_celery_results.models import TaskResult

from processing.models import TaskAttempt
from tests.stack import Stack, stop_worker
from uploads.models import StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_stage_registered_by_another_app_runs_in_the_chain_on_a_real_worker(stack: Stack, speech_audio: Path) -> None:
    stack.env["TEST_EXTRA_APPS"] = "tests.throwaway_stage"  # the worker and the commands load the app
    worker = stack.worker("throwaway-stage-worker")
    try:
        out = stack.manage("process_file", str(speech_audio), "--timeout", "300", timeout=360)
    finally:
        stop_worker(worker)
    upload_id = int(re.search(r"Uploaded #(\d+)", out).group(1))  # type: ignore[union-attr]
    assert re.search(r"Word count +succeeded", out), out  # process_file reports the new stage by its label

    upload = UploadedFile.objects.get(pk=upload_id)
    runs = {run.stage: run for run in upload.runs()}
    assert list(runs) == [
        "transcription",
        "speakers",
        "analysis",
        "word_count",
        "hls",
    ]  # one per registered stage, in chain order
    count = runs["word_count"]
    assert count.status == StageStatus.SUCCEEDED, count.error
    assert (runs["transcription"].status, runs["analysis"].status) == (StageStatus.SUCCEEDED,) * 2
    assert runs["hls"].status == StageStatus.SKIPPED  # an audio upload
    # Its place in the chain: after analysis.
    assert runs["analysis"].finished_at is not None
    assert count.started_at is not None
    assert count.started_at >= runs["analysis"].finished_at
    assert (count.attempts, count.progress, count.owner.count(":")) == (1, 100.0, 2)

    words = len(upload.transcript_text.split())
    result = TaskResult.objects.get(task_id=count.task_id)
    assert result.task_name == "tests.throwaway_stage.tasks.count_words_async"
    assert result.status == "SUCCESS"
    assert json.loads(result.result)["words"] == words > 0
    with default_storage.open(f"hls/{upload_id}/word-count.txt") as fh:
        assert fh.read().decode().strip() == str(words)
    events = TaskAttempt.objects.filter(task_id=count.task_id).values_list("stage", "event")
    assert ("word_count", "started") in events
    assert ("word_count", "succeeded") in events
    assert f"Word count completed successfully uploaded_file_id: {upload_id} words={words}" in worker.log()

    status = json.loads(stack.manage("pipeline_status", str(upload_id), "--json"))
    assert status["stages"]["word_count"]["status"] == "succeeded"
    assert status["stages"]["word_count"]["task_id"] == count.task_id
