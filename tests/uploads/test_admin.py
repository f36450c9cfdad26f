"""Admin: the upload list and page render state and results; adding goes through upload_create."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.stage_state import make_upload
from uploads.models import MediaKind, StageStatus, UploadedFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_upload() -> UploadedFile:
    return make_upload(
        original_name="standup.mp4",
        size=10,
        media_kind=MediaKind.VIDEO,
        file="uploads/x.mp4",
        stages={
            "transcription": {"status": StageStatus.SUCCEEDED, "task_id": "11111111-1111-1111-1111-111111111111"},
            "analysis": {"status": StageStatus.SUCCEEDED},
            "hls": {"status": StageStatus.FAILED, "error": "ffmpeg exited 1: Invalid data found when processing input"},
        },
        transcript_segments=[{"start": 0.0, "end": 2.5, "text": "The build is broken."}],
        transcript_text="The build is broken.",
        summary="The build is broken.",
        issues=[{"text": "The build is broken.", "start": 0.0, "end": 2.5}],
        hls_master="hls/1/abc/master.m3u8",
    )


def test_changelist_shows_a_status_column_per_stage(admin_client: Client, finished_upload: UploadedFile) -> None:
    response = admin_client.get(reverse("admin:uploads_uploadedfile_changelist"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "standup.mp4" in body
    assert body.count(">succeeded</span>") == 2
    assert ">failed</span>" in body


def test_changelist_filters_by_stage_status(admin_client: Client, finished_upload: UploadedFile) -> None:
    url = reverse("admin:uploads_uploadedfile_changelist")
    assert "standup.mp4" in admin_client.get(url, {"hls_status": "failed"}).content.decode()
    assert "standup.mp4" not in admin_client.get(url, {"hls_status": "succeeded"}).content.decode()


def test_change_page_shows_results_errors_and_links(admin_client: Client, finished_upload: UploadedFile) -> None:
    response = admin_client.get(reverse("admin:uploads_uploadedfile_change", args=[finished_upload.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "[0.0 - 2.5] The build is broken." in body
    assert "Invalid data found when processing input" in body
    assert "/media/hls/1/abc/master.m3u8" in body
    results = reverse("admin:django_celery_results_taskresult_changelist")
    assert f"{results}?q=11111111-1111-1111-1111-111111111111" in body


def test_task_results_and_beat_schedules_are_in_admin(admin_client: Client) -> None:
    for name in ("django_celery_results_taskresult", "django_celery_beat_periodictask"):
        assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200


def test_adding_a_non_media_file_in_admin_shows_the_reason(admin_client: Client) -> None:
    upload = SimpleUploadedFile("report.mp4", b"not a video at all\n" * 20, content_type="video/mp4")
    response = admin_client.post(reverse("admin:uploads_uploadedfile_add"), {"file": upload})
    assert response.status_code == 200
    assert "Not an audio or video file" in response.content.decode()
    assert UploadedFile.objects.count() == 0


def test_adding_media_in_admin_creates_a_queued_upload(admin_client: Client, speech_audio: Path) -> None:
    upload = SimpleUploadedFile("talk.m4a", speech_audio.read_bytes(), content_type="audio/mp4")
    response = admin_client.post(reverse("admin:uploads_uploadedfile_add"), {"file": upload})
    created = UploadedFile.objects.get()
    assert response.status_code == 302
    assert created.original_name == "talk.m4a"
    assert created.stage("transcription").status == StageStatus.QUEUED
    assert created.stage("hls").status == StageStatus.SKIPPED


@pytest.mark.parametrize(
    ("fmt", "content_type", "expected"),
    [
        ("vtt", "text/vtt", "WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.500\nThe build is broken.\n"),
        ("srt", "application/x-subrip", "1\n00:00:00,000 --> 00:00:02,500\nThe build is broken.\n"),
        ("txt", "text/plain", "The build is broken.\n"),
    ],
)
def test_transcript_exports_download_from_admin(
    admin_client: Client, finished_upload: UploadedFile, fmt: str, content_type: str, expected: str
) -> None:
    url = reverse("admin:uploads_uploadedfile_subtitles", args=[finished_upload.pk, fmt])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert f'filename="standup.{fmt}"' in response["Content-Disposition"]
    assert response.content.decode().startswith(expected)
    page = admin_client.get(reverse("admin:uploads_uploadedfile_change", args=[finished_upload.pk])).content.decode()
    assert url in page


def test_exports_need_a_staff_login(client: Client, finished_upload: UploadedFile) -> None:
    response = client.get(reverse("admin:uploads_uploadedfile_subtitles", args=[finished_upload.pk, "vtt"]))
    assert response.status_code == 302


def test_admin_actions_per_stage_come_from_the_registry(admin_client: Client, finished_upload: UploadedFile) -> None:
    url = reverse("admin:uploads_uploadedfile_changelist")
    page = admin_client.get(url).content.decode()
    for key, label in (("transcription", "Transcription"), ("analysis", "AI analysis"), ("hls", "HLS")):
        assert f'<option value="reprocess_{key}">Reprocess from {label}</option>' in page
    old_task = finished_upload.stage("hls").task_id
    response = admin_client.post(url, {"action": "reprocess_hls", "_selected_action": [finished_upload.pk]})
    assert response.status_code == 302
    finished_upload.refresh_from_db()
    assert finished_upload.stage("hls").status == StageStatus.QUEUED
    assert finished_upload.stage("hls").task_id not in ("", old_task)
    assert finished_upload.stage("analysis").status == StageStatus.SUCCEEDED  # earlier stages stay

    admin_client.post(url, {"action": "cancel", "_selected_action": [finished_upload.pk]})
    finished_upload.refresh_from_db()
    assert finished_upload.stage("hls").status == StageStatus.CANCELLED
    assert finished_upload.cancel_requested_at is not None
