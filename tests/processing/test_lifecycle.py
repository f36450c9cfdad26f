"""Lifecycle bookkeeping on the hot path: held records, relaxed durability, and the worker's
database connection kept between tasks."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from celery import signals
from django.conf import settings
from django.db import connection, transaction

from processing import lifecycle
from processing.models import TaskAttempt
from uploads.models import MediaKind, UploadedFile
from uploads.state import relaxed_durability, stage_claim, stage_queue

TRANSCRIBE = "processing.tasks.transcribe_and_save_async"


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="PostgreSQL setting")
def test_relaxed_durability_applies_only_to_the_transaction_it_opens() -> None:
    with relaxed_durability():
        assert _synchronous_commit() == "off"
    assert _synchronous_commit() == "on"
    # A durable transaction that joins relaxed writes stays durable.
    with transaction.atomic(), relaxed_durability():
        assert _synchronous_commit() == "on"


@pytest.mark.django_db
def test_a_held_record_is_written_with_the_next_one_and_keeps_its_own_time() -> None:
    lifecycle.record(task_id="t-1", task_name=TRANSCRIBE, event="started", args=(7,), hold=True)
    assert not TaskAttempt.objects.filter(task_id="t-1").exists()
    time.sleep(0.01)
    lifecycle.record(task_id="t-1", task_name=TRANSCRIBE, event="succeeded", args=(7,), duration=0.5)
    started, succeeded = TaskAttempt.objects.filter(task_id="t-1").order_by("created_at", "id")
    assert (started.event, succeeded.event) == ("started", "succeeded")
    assert started.created_at < succeeded.created_at
    assert started.stage == succeeded.stage == "transcription"
    assert started.upload_id == 7


@pytest.mark.django_db
def test_a_held_started_record_is_written_in_the_claims_transaction() -> None:
    upload = UploadedFile.objects.create(original_name="a.mp4", size=1, media_kind=MediaKind.VIDEO, file="u/a.mp4")
    stage_queue(upload.pk, "transcription", task_id="t-2")
    lifecycle.record(task_id="t-2", task_name=TRANSCRIBE, event="started", args=(upload.pk,), hold=True)
    with relaxed_durability():  # what run_stage does
        lifecycle.flush()
        assert stage_claim(upload.pk, "transcription")
    assert list(TaskAttempt.objects.filter(task_id="t-2").values_list("event", flat=True)) == ["started"]
    lifecycle.flush()  # nothing held any more: no second row
    assert TaskAttempt.objects.filter(task_id="t-2").count() == 1


class _Task:
    name = "tests.other"

    def __init__(self, eager: bool) -> None:
        self.request = SimpleNamespace(is_eager=eager)


def _prerun(eager: bool) -> None:
    task = _Task(eager)
    signals.task_prerun.send(sender=task, task_id="x", task=task, args=(), kwargs={})


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_connection_between_tasks_until_it_is_too_old() -> None:
    assert settings.CELERY_DB_REUSE_MAX  # else Celery's Django fixup closes it around every task
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    connection.ensure_connection()
    kept = connection.connection
    _prerun(eager=False)
    assert connection.connection is kept
    connection.close_at = time.monotonic() - 1  # past CONN_MAX_AGE
    _prerun(eager=True)  # an eager run shares its caller's connection: untouched
    assert connection.connection is kept
    _prerun(eager=False)
    assert connection.connection is None  # closed; the task's first query opens a new one
