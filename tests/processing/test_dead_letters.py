"""The analysis stage on the OpenAI-compatible backend (a loopback server that speaks the API):
success stores the backend's metadata; an endpoint that keeps failing retries up to the queue's
max, then fails the stage and writes a dead letter that admin can re-run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from processing import tasks
from processing.models import DeadLetter, TaskAttempt
from processing.stages import StageFailed
from processing.state import stage_queue
from tests.processing.fake_llm import LLM_SETTINGS, FakeLLM, Reply
from tests.stage_state import make_upload
from uploads.models import MediaKind, StageStatus, UploadedFile

pytestmark = pytest.mark.django_db

SEGMENTS: list[dict[str, Any]] = [
    {"start": 0.0, "end": 4.0, "text": "Deliveries to the north are late every week."},
    {"start": 4.0, "end": 8.0, "text": "We should hire two more drivers."},
]


@pytest.fixture
def transcribed() -> UploadedFile:
    upload = make_upload(
        original_name="m.m4a", size=1, media_kind=MediaKind.AUDIO, file="uploads/m.m4a", language="en",
        transcript_segments=SEGMENTS, transcript_text=" ".join(s["text"] for s in SEGMENTS),
        stages={"transcription": {"status": StageStatus.SUCCEEDED}, "hls": {"status": StageStatus.SKIPPED}},
    )  # fmt: skip
    stage_queue(upload.pk, "analysis", task_id="analysis-task-1")
    return upload


@pytest.fixture
def llm(fake_llm: FakeLLM) -> Iterator[FakeLLM]:
    with override_settings(**{**LLM_SETTINGS, "ANALYSIS_LLM_MAX_RETRIES": 0}, OPENAI_BASE_URL=fake_llm.base_url):
        yield fake_llm


def _answer() -> str:
    item: dict[str, Any] = {"text": "Deliveries to the north are late every week.", "segments": [1]}
    fix = {"text": "We should hire two more drivers.", "segments": [2]}
    return json.dumps({"summary": [item], "issues": [item], "solutions": [fix]})


def test_the_llm_backend_result_and_its_metadata_are_stored(llm: FakeLLM, transcribed: UploadedFile) -> None:
    llm.script(Reply(content=_answer(), usage=(120, 30)))
    result = tasks.generate_ai_analysis_async.apply(args=(transcribed.pk,), task_id="analysis-task-1")
    assert result.successful(), result.result
    upload = UploadedFile.objects.get(pk=transcribed.pk)
    assert upload.stage("analysis").status == StageStatus.SUCCEEDED
    assert (upload.analysis_backend, upload.analysis_model) == ("openai", "test-model")
    assert upload.analysis_meta["usage"]["total_tokens"] == 150
    assert upload.analysis_meta["prompt_version"]
    assert upload.solutions == [{"text": "We should hire two more drivers.", "start": 4.0, "end": 8.0}]
    assert upload.summary_items[0]["start"] == 0.0
    assert upload.stage("analysis").progress_note == "chunk 1 of 1"  # where it was while it ran


def test_a_model_that_keeps_answering_garbage_fails_the_stage_and_admin_shows_its_reply(
    llm: FakeLLM, transcribed: UploadedFile, admin_client: Client
) -> None:
    llm.script(Reply(content="Sure! Here are the minutes: ..."), Reply(content='{"summary": "the meeting"}'))

    result = tasks.generate_ai_analysis_async.apply(args=(transcribed.pk,), task_id="analysis-task-1")

    assert isinstance(result.result, StageFailed)
    run = UploadedFile.objects.get(pk=transcribed.pk).stage("analysis")
    assert run.status == StageStatus.FAILED
    assert run.error == (
        "the LLM (test-model) reply for a chunk of 2 segments was still invalid after one repair attempt: "
        '"summary" must be a list, got str'
    )
    assert len(llm.requests) == 2  # one answer and one repair: an output error is not retried
    assert run.detail.endswith('the model\'s last reply:\n{"summary": "the meeting"}')
    page = admin_client.get(reverse("admin:uploads_uploadedfile_change", args=[transcribed.pk])).content.decode()
    assert "the model&#x27;s last reply" in page


def test_exhausted_retries_fail_the_stage_and_write_a_dead_letter(
    llm: FakeLLM, transcribed: UploadedFile, admin_client: Client
) -> None:
    llm.default = Reply(503, body={"error": {"message": "overloaded"}})

    # Eager apply runs the retries inline (their countdown is not waited for).
    result = tasks.generate_ai_analysis_async.apply(args=(transcribed.pk,), task_id="analysis-task-1")

    assert isinstance(result.result, StageFailed)
    upload = UploadedFile.objects.get(pk=transcribed.pk)
    assert upload.stage("analysis").status == StageStatus.FAILED
    # The uploader reads what happened; the exception class is for operators (admin, dead letter).
    assert (
        upload.stage("analysis").error
        == "gave up after 3 retries: the LLM endpoint still failed after 1 attempt(s): HTTP 503: overloaded"
    )
    assert upload.stage("analysis").detail.startswith("AnalysisTransientError: the LLM endpoint")
    assert len(llm.requests) == 4  # the first try and the analysis queue's max_retries=3
    letter = DeadLetter.objects.get()
    assert (letter.upload_id, letter.stage, letter.task_id) == (upload.pk, "analysis", "analysis-task-1")
    assert letter.task_name == "processing.tasks.generate_ai_analysis_async"
    assert letter.args == [upload.pk]
    assert "AnalysisTransientError" in letter.traceback_tail
    assert letter.exception.startswith("AnalysisTransientError: ")
    assert TaskAttempt.objects.filter(task_id="analysis-task-1", event="retried").count() == 3

    # Admin lists it and re-runs it: the stage is queued again under a new task id.
    assert "overloaded" in admin_client.get(reverse("admin:processing_deadletter_changelist")).content.decode()
    response = admin_client.post(
        reverse("admin:processing_deadletter_changelist"),
        {"action": "rerun", "_selected_action": [letter.pk]},
    )
    assert response.status_code == 302
    upload.refresh_from_db()
    assert upload.stage("analysis").status == StageStatus.QUEUED
    assert upload.stage("analysis").task_id != "analysis-task-1"
    assert DeadLetter.objects.get().rerun_at is not None
