"""Claims and takeovers: a dead owner's stage can be taken over, a live one's cannot."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from processing.state import stage_claim, stage_queue
from tests.stage_state import set_stage
from uploads.models import MediaKind, StageStatus, UploadedFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload() -> UploadedFile:
    row = UploadedFile.objects.create(original_name="a.mp4", size=1, media_kind=MediaKind.VIDEO, file="uploads/a.mp4")
    stage_queue(row.pk, "transcription", task_id="t-1")
    return row


def _set_owner(upload: UploadedFile, owner: str, beat_age: float) -> None:
    set_stage(
        upload,
        "transcription",
        status=StageStatus.RUNNING,
        owner=owner,
        heartbeat_at=timezone.now() - timedelta(seconds=beat_age),
        attempts=1,
    )


def test_first_claim_records_owner_heartbeat_and_attempt(upload: UploadedFile) -> None:
    assert stage_claim(upload.pk, "transcription")
    upload.refresh_from_db()
    assert upload.stage("transcription").owner == f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    assert upload.stage("transcription").heartbeat_at is not None
    assert upload.stage("transcription").attempts == 1


def test_a_live_owner_keeps_its_stage(upload: UploadedFile) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        _set_owner(upload, f"{socket.gethostname()}:{sleeper.pid}", beat_age=1)
        assert not stage_claim(upload.pk, "transcription")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_dead_owner_on_this_host_is_taken_over_at_once(upload: UploadedFile) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    _set_owner(upload, f"{socket.gethostname()}:{gone.pid}", beat_age=1)
    assert stage_claim(upload.pk, "transcription")
    upload.refresh_from_db()
    assert upload.stage("transcription").attempts == 2


def test_an_owner_on_another_host_is_taken_over_only_when_its_heartbeat_is_stale(upload: UploadedFile) -> None:
    _set_owner(upload, "other-host:123", beat_age=5)
    assert not stage_claim(upload.pk, "transcription")
    _set_owner(upload, "other-host:123", beat_age=10_000)
    assert stage_claim(upload.pk, "transcription")


def test_a_cancelled_upload_is_never_claimed(upload: UploadedFile) -> None:
    UploadedFile.objects.filter(pk=upload.pk).update(cancel_requested_at=timezone.now())
    assert not stage_claim(upload.pk, "transcription")


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_claims_give_one_owner(upload: UploadedFile) -> None:
    results: list[bool] = []
    start, done = threading.Barrier(2), threading.Barrier(2)

    def claim() -> None:
        start.wait()
        try:
            results.append(stage_claim(upload.pk, "transcription"))
            done.wait()  # both deliveries are still "running" when the other one tries
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
