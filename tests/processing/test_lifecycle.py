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
from processing.lifecycle import relaxed_durability
from processing.models import TaskAttempt

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
def test_outside_a_worker_a_record_is_written_at_once() -> None:
    lifecycle.record(task_id="t-0", task_name=TRANSCRIBE, event="queued", args=(7,))
    row = TaskAttempt.objects.get(task_id="t-0")
    assert (row.event, row.stage, row.upload_id) == ("queued", "transcription", 7)


@pytest.mark.django_db
def test_in_a_worker_records_are_written_behind_in_one_batch_with_their_own_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = lifecycle.WriteBehind(flush_seconds=3600)  # its thread waits: this test flushes
    writer.enabled = True
    monkeypatch.setattr(lifecycle, "WRITE_BEHIND", writer)
    lifecycle.record(task_id="t-1", task_name=TRANSCRIBE, event="started", args=(7,))
    time.sleep(0.01)
    lifecycle.record(task_id="t-1", task_name=TRANSCRIBE, event="succeeded", args=(7,), duration=0.5)
    assert not TaskAttempt.objects.filter(task_id="t-1").exists()  # not on the task's path

    signals.worker_process_shutdown.send(sender=None, pid=0, exitcode=0)  # a stopping process writes all
    started, succeeded = TaskAttempt.objects.filter(task_id="t-1").order_by("created_at", "id")
    assert (started.event, succeeded.event) == ("started", "succeeded")
    assert started.created_at < succeeded.created_at  # the event's time, not the write's
    assert succeeded.duration == 0.5
    writer.flush()  # nothing left: no second copy
    assert TaskAttempt.objects.filter(task_id="t-1").count() == 2


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


@pytest.mark.django_db
def test_queued_keeps_the_time_before_the_message_left_so_a_fast_start_comes_after_it() -> None:
    headers = {"id": "t-3", "retries": 0}
    signals.before_task_publish.send(sender=TRANSCRIBE, headers=headers, body=((9,), {}, {}))
    time.sleep(0.01)
    # A worker starts the task before after_task_publish runs in the publishing process.
    lifecycle.record(task_id="t-3", task_name=TRANSCRIBE, event="started", args=(9,))
    signals.after_task_publish.send(sender=TRANSCRIBE, headers=headers, body=((9,), {}, {}))
    rows = TaskAttempt.objects.filter(task_id="t-3").order_by("created_at", "id")
    assert list(rows.values_list("event", flat=True)) == ["queued", "started"]
