"""The pages over uploads: who sees what, status.json, the upload form's refusals, CSRF and escaping
(media: tests/uploads/test_media.py). Database only: no worker runs (the pipeline's on_commit hook is captured)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test import Client, override_settings
from django.urls import reverse

from tests.stage_state import make_upload, set_stage
from uploads.models import StageStatus, UploadedFile

pytestmark = pytest.mark.django_db


def _user(username: str, *, staff: bool = False) -> User:
    return User.objects.create_user(username=username, password="pw-" + username, is_staff=staff)


def _upload(
    owner: User | None, name: str = "meeting.mp4", *, stages: dict[str, dict[str, Any]] | None = None, **fields: Any
) -> UploadedFile:
    return make_upload(
        file=f"uploads/{name}",
        original_name=name,
        size=1000,
        media_kind="video",
        uploader=owner,
        stages=stages,
        **fields,
    )


def _client(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def alice() -> User:
    return _user("alice")


@pytest.fixture
def bob() -> User:
    return _user("bob")


@pytest.mark.parametrize(
    "url",
    ["/", "/upload/", "/uploads/1/", "/uploads/1/status.json"],
)
def test_pages_need_a_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_login_page_logs_in_and_lands_on_the_list(client: Client, alice: User) -> None:
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_list_shows_only_own_uploads_newest_first(alice: User, bob: User) -> None:
    older = _upload(alice, "older-alice.mp4")
    newer = _upload(alice, "newer-alice.mp4", stages={"transcription": {"status": StageStatus.RUNNING, "progress": 42}})
    _upload(bob, "bobs.mp4")

    page = _client(alice).get("/").content.decode()

    assert "bobs.mp4" not in page
    assert page.index("newer-alice.mp4") < page.index("older-alice.mp4")
    assert reverse("upload_detail", args=[older.pk]) in page
    assert reverse("upload_detail", args=[newer.pk]) in page
    assert "running 42%" in page  # a running stage's badge shows its progress


def test_staff_see_every_upload(alice: User, bob: User) -> None:
    _upload(alice, "alices.mp4")
    _upload(bob, "bobs.mp4")
    page = _client(_user("root", staff=True)).get("/").content.decode()
    assert "alices.mp4" in page
    assert "bobs.mp4" in page


def test_detail_and_status_of_another_users_upload_are_404(alice: User, bob: User) -> None:
    upload = _upload(bob, "bobs.mp4")
    client = _client(alice)
    assert client.get(f"/uploads/{upload.pk}/").status_code == 404
    assert client.get(f"/uploads/{upload.pk}/status.json").status_code == 404
    staff = _client(_user("root", staff=True))
    assert staff.get(f"/uploads/{upload.pk}/").status_code == 200


def test_status_json_shape(alice: User) -> None:
    upload = _upload(
        alice,
        stages={
            "transcription": {"status": StageStatus.SUCCEEDED, "progress": 100},
            "speakers": {"status": StageStatus.SUCCEEDED, "progress": 100},
            "analysis": {"status": StageStatus.FAILED, "error": "LLM timed out"},
            "hls": {"status": StageStatus.RUNNING, "progress": 37.5},
        },
        hls_master="hls/1/abc/master.m3u8",
        hls_poster="hls/1/abc/poster.jpg",
    )
    client = _client(alice)

    data = client.get(f"/uploads/{upload.pk}/status.json").json()
    assert data["stages"] == {
        "transcription": {"status": "succeeded", "progress": 100.0, "note": "", "error": ""},
        "speakers": {"status": "succeeded", "progress": 100.0, "note": "", "error": ""},
        "analysis": {"status": "failed", "progress": 0.0, "note": "", "error": "LLM timed out"},
        "hls": {"status": "running", "progress": 37.5, "note": "", "error": ""},
    }
    assert data["finished"] is False
    assert data["hls_master_url"] is None  # no player before the HLS stage has succeeded
    assert data["poster_url"] == "/media/hls/1/abc/poster.jpg"

    # Where a running analysis is: in the JSON the page polls, and in the badge the page starts with.
    set_stage(upload, "analysis", status=StageStatus.RUNNING, progress=40, progress_note="chunk 3 of 5", error="")
    assert client.get(f"/uploads/{upload.pk}/status.json").json()["stages"]["analysis"]["note"] == "chunk 3 of 5"
    assert "running 40% (chunk 3 of 5)" in client.get(f"/uploads/{upload.pk}/").content.decode()

    set_stage(upload, "hls", status=StageStatus.SUCCEEDED, progress=100)
    response = client.get(f"/uploads/{upload.pk}/status.json")
    assert "no-cache" in response["Cache-Control"]
    assert response.json()["finished"] is False  # the analysis is still running
    set_stage(upload, "analysis", status=StageStatus.FAILED)
    response = client.get(f"/uploads/{upload.pk}/status.json")
    assert response.json()["finished"] is True
    assert response.json()["hls_master_url"] == "/media/hls/1/abc/master.m3u8"


def test_detail_shows_results_with_clickable_timestamps(alice: User) -> None:
    upload = _upload(
        alice,
        stages={
            "transcription": {"status": StageStatus.SUCCEEDED},
            "analysis": {"status": StageStatus.SUCCEEDED},
            "hls": {"status": StageStatus.SUCCEEDED},
        },
        hls_master="hls/1/abc/master.m3u8",
        transcript_segments=[
            {"start": 0.0, "end": 2.5, "text": "Welcome."},
            {"start": 65.25, "end": 70, "text": "Bye."},
        ],
        summary_items=[{"text": "A summary line.", "start": 0.0, "end": 2.5}],
        issues=[{"text": "Deliveries are late.", "start": 3.0, "end": 5.0}],
        solutions=[{"text": "Hire two drivers.", "start": 6.0, "end": 8.0}],
    )
    page = _client(alice).get(f"/uploads/{upload.pk}/").content.decode()
    assert 'data-seek="65.250"' in page
    assert ">01:05<" in page
    for text in ["Welcome.", "A summary line.", "Deliveries are late.", "Hire two drivers."]:
        assert text in page
    assert "vendor/hls.min.js" in page
    assert '"hls_master_url": "/media/hls/1/abc/master.m3u8"' in page  # json_script for detail.js


def test_only_a_failed_stage_shows_its_message_as_an_error(alice: User) -> None:
    upload = _upload(
        alice,
        stages={
            "transcription": {"status": "succeeded", "error": "no speech found"},
            "speakers": {"status": "succeeded", "error": "no speech found: no speakers"},
            "analysis": {"status": "skipped", "error": "no speech found"},
            "hls": {
                "status": "failed",
                "error": "the file is an HLS playlist, which is not an accepted audio or video container",
            },
        },
    )  # fmt: skip
    page = _client(alice).get(f"/uploads/{upload.pk}/").content.decode()
    cells = dict(re.findall(r'<tr data-stage="(\w+)">.*?<td class="([^"]*)" data-role="error">', page, flags=re.S))
    assert cells == {"transcription": "message", "speakers": "message", "analysis": "message", "hls": "message error"}
    assert page.count("no speech found") >= 2


def test_user_supplied_names_render_escaped(alice: User) -> None:
    name = "../<script>alert(1)</script> réunion ü.mp4"
    upload = _upload(alice, "x.mp4", transcript_segments=[{"start": 1, "end": 2, "text": "<img src=x onerror=1>"}])
    UploadedFile.objects.filter(pk=upload.pk).update(original_name=name, file="uploads/../../etc/passwd")
    client = _client(alice)
    for url in ["/", f"/uploads/{upload.pk}/"]:
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "../&lt;script&gt;alert(1)&lt;/script&gt; réunion ü.mp4" in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=1&gt;" in page


def test_non_media_file_is_refused_with_json_and_no_row(alice: User) -> None:
    notes = SimpleUploadedFile("notes.mp4", b"just some notes, not media\n" * 40, content_type="video/mp4")
    response = _client(alice).post("/upload/", {"file": notes}, headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "Not an audio or video file" in response.json()["error"]
    assert UploadedFile.objects.count() == 0


def test_non_media_file_without_js_renders_the_error_in_the_page(alice: User) -> None:
    notes = SimpleUploadedFile("notes.mp4", b"just some notes, not media\n" * 40)
    response = _client(alice).post("/upload/", {"file": notes})
    assert response.status_code == 400
    assert "Not an audio or video file" in response.content.decode()
    assert 'id="upload-form"' in response.content.decode()
    assert UploadedFile.objects.count() == 0


@override_settings(UPLOAD_MAX_BYTES=1024)
def test_oversize_body_is_refused_by_content_length_before_reading(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse(*args: object) -> None:
        raise AssertionError("the body was parsed (request.FILES touched) before the size check")

    monkeypatch.setattr(MultiPartParser, "parse", parse)
    big = SimpleUploadedFile("big.mp4", b"\0" * (200 * 1024))
    response = _client(alice).post("/upload/", {"file": big}, headers={"Accept": "application/json"})
    assert response.status_code == 413
    assert "the limit is 0.0 MB (UPLOAD_MAX_BYTES)" in response.json()["error"]
    assert UploadedFile.objects.count() == 0


def test_upload_page_tells_js_the_limit(alice: User) -> None:
    page = _client(alice).get("/upload/").content.decode()
    assert f'data-max-bytes="{settings.UPLOAD_MAX_BYTES}"' in page
    assert "csrfmiddlewaretoken" in page
    assert "uploads/upload.js" in page


def test_csrf_is_enforced_on_upload(alice: User) -> None:
    client = _client(alice, enforce_csrf_checks=True)
    notes = SimpleUploadedFile("notes.mp4", b"not media" * 10)
    assert client.post("/upload/", {"file": notes}).status_code == 403

    # With the token from the page the same request reaches the media check.
    client.get("/upload/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    notes = SimpleUploadedFile("notes.mp4", b"not media" * 10)
    response = client.post("/upload/", {"file": notes}, headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert response.status_code == 400
    assert "Not an audio or video file" in response.json()["error"]


def test_video_upload_without_js_redirects_to_its_detail_page(
    alice: User, speech_video: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client = _client(alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks, speech_video.open("rb") as fh:
        response = client.post("/upload/", {"file": fh})
    upload = UploadedFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/uploads/{upload.pk}/"
    assert upload.uploader == alice
    assert upload.original_name == "meeting.mp4"
    assert len(callbacks) == 1  # the pipeline is sent after commit; no worker runs here


def test_video_upload_with_js_answers_json(
    alice: User, speech_video: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False), speech_video.open("rb") as fh:
        response = _client(alice).post("/upload/", {"file": fh}, headers={"X-Requested-With": "XMLHttpRequest"})
    upload = UploadedFile.objects.get()
    assert response.status_code == 201
    assert response.json() == {"id": upload.pk, "url": f"/uploads/{upload.pk}/"}


def test_detail_names_the_transcripts_language_and_marks_its_text(alice: User) -> None:
    upload = _upload(
        alice, "kaigi.mp4", language="ja", stages={"transcription": {"status": StageStatus.SUCCEEDED}},
        transcript_segments=[{"start": 0.0, "end": 2.0, "text": "本日の会議を始めます。"}],
    )  # fmt: skip
    page = _client(alice).get(f"/uploads/{upload.pk}/").content.decode()
    assert '<section id="transcript" class="card" lang="ja">' in page
    assert "(Japanese, ja)" in page
    assert "本日の会議を始めます。" in page


def test_detail_marks_segments_in_another_language_and_shows_the_translation(alice: User) -> None:
    upload = _upload(
        alice, "kaigi.mp4", language="ja", stages={"transcription": {"status": StageStatus.SUCCEEDED}},
        transcript_segments=[
            {"start": 0.0, "end": 2.0, "text": "Good morning.", "language": "en"},
            {"start": 2.0, "end": 4.0, "text": "本日の会議を始めます。"},
        ],
        translation_segments=[{"start": 2.0, "end": 4.0, "text": "We begin today's meeting."}],
    )  # fmt: skip
    page = _client(alice).get(f"/uploads/{upload.pk}/").content.decode()
    assert '<li lang="en"><button type="button" class="ts" data-seek="0.000"' in page
    assert '<li><button type="button" class="ts" data-seek="2.000"' in page  # the recording's own language
    translation = page[page.index('<section id="translation" class="card" lang="en">') :]
    assert "English translation" in translation
    assert "We begin today&#x27;s meeting." in translation.split("</section>")[0]


def test_detail_has_no_translation_section_without_one(alice: User) -> None:
    upload = _upload(alice, "meeting.mp4", language="en", stages={"transcription": {"status": StageStatus.SUCCEEDED}})
    assert 'id="translation"' not in _client(alice).get(f"/uploads/{upload.pk}/").content.decode()


def test_favicon_answers_without_a_login(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Content-Type"]) == (200, "image/svg+xml")
    assert response.content.startswith(b"<svg")
