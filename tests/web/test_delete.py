"""Delete from the pages, on a real worker: a user deletes their own upload while it is being
processed; its tasks are revoked, the running stage is stopped, the row and every file go, and
nobody else can delete it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.test import Client

from tests.conftest import WorkerHandle
from tests.stack import wait_for
from uploads.models import StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _scratch_processes(upload_id: int) -> list[str]:
    """Command lines of ffmpeg processes working in this upload's scratch folder."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ffmpeg" in cmdline and f"hls-{upload_id}-" in cmdline:
            found.append(cmdline)
    return found


def test_an_owner_deletes_a_running_upload_from_the_pages(
    celery_worker_process: WorkerHandle, speech_video: Path
) -> None:
    alice = User.objects.create_user("alice", password="x")
    bob = User.objects.create_user("bob", password="x")
    owner, other = _client(alice), _client(bob)
    with speech_video.open("rb") as fh:
        created = owner.post("/upload/", {"file": fh}, HTTP_ACCEPT="application/json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    upload = wait_for(
        lambda: UploadedFile.objects.filter(
            pk=pk, stage_runs__stage="hls", stage_runs__status=StageStatus.RUNNING
        ).first(),
        240,
        "HLS to run",
    )
    wait_for(lambda: _scratch_processes(pk), 30, "ffmpeg to start")
    source = str(upload.file.name)

    page = owner.get(f"/uploads/{pk}/delete/")
    assert page.status_code == 200
    assert "Its processing is still running and will be stopped." in page.content.decode()
    assert other.get(f"/uploads/{pk}/delete/").status_code == 404
    assert other.post(f"/uploads/{pk}/delete/").status_code == 404
    assert UploadedFile.objects.filter(pk=pk).exists()  # someone else's POST changed nothing
    assert f'href="/uploads/{pk}/delete/"' in owner.get(f"/uploads/{pk}/").content.decode()

    response = owner.post(f"/uploads/{pk}/delete/", follow=True)

    assert response.redirect_chain == [("/", 302)]
    assert "its processing was stopped and its files removed" in response.content.decode()
    assert not UploadedFile.objects.filter(pk=pk).exists()
    assert not default_storage.exists(source)
    wait_for(lambda: not _scratch_processes(pk), 60, "ffmpeg to stop")
    gone = f"uploaded_file_id: {pk} no longer exists; skipping"
    wait_for(lambda: gone in celery_worker_process.log(), 60, "the stopped stage to find its row gone")
    time.sleep(2)  # a stage that published after the delete would show up here
    assert not default_storage.exists(f"hls/{pk}")
    assert owner.get(f"/uploads/{pk}/").status_code == 404
