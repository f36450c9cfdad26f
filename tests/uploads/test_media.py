"""/media/ (uploads.media): every stored file of an upload reaches only whoever may see the upload,
on each delivery: streamed with ranges (django), handed to nginx (x-accel). Presigned delivery on a
real S3 server is tested in tests/web/test_s3_playback.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from tests.stage_state import set_stage
from uploads.models import UploadedFile

pytestmark = pytest.mark.django_db

SEGMENT = bytes(range(256)) * 4  # 1024 bytes, each offset recognisable
FILES = {
    "master.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8\n",
    "v0/seg_00000.m4s": SEGMENT,
    "v0/init.mp4": b"mp4",
    "subs/subtitles.vtt": b"WEBVTT\n",
    "poster.jpg": b"\xff\xd8\xff jpeg",
}


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Alice's upload with an original and an HLS set on disk; Bob; a staff member."""
    alice = User.objects.create_user("alice", password="x")
    bob = User.objects.create_user("bob", password="x")
    staff = User.objects.create_user("root", password="x", is_staff=True)
    upload = UploadedFile.objects.create(
        file="uploads/0123abcd.mp4", original_name="<b>council</b>.mp4", size=3, media_kind="video", uploader=alice
    )
    prefix = tmp_path / "hls" / str(upload.pk) / "abc"
    for name, body in FILES.items():
        (prefix / name).parent.mkdir(parents=True, exist_ok=True)
        (prefix / name).write_bytes(body)
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "0123abcd.mp4").write_bytes(b"<html><script>alert(1)</script>")
    (tmp_path.parent / "secret.txt").write_text("outside MEDIA_ROOT")
    with override_settings(MEDIA_ROOT=str(tmp_path), MEDIA_DELIVERY="django"):
        yield {"alice": alice, "bob": bob, "staff": staff, "hls": f"/media/hls/{upload.pk}/abc", "upload": upload}


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("master.m3u8", "application/vnd.apple.mpegurl"),
        ("v0/seg_00000.m4s", "video/iso.segment"),
        ("subs/subtitles.vtt", "text/vtt"),
        ("v0/init.mp4", "video/mp4"),
        ("poster.jpg", "image/jpeg"),
    ],
)
def test_the_owner_and_staff_get_each_file_with_its_content_type(
    world: dict[str, Any], name: str, content_type: str
) -> None:
    for user in (world["alice"], world["staff"]):
        response = _client(user).get(f"{world['hls']}/{name}")
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert b"".join(response.streaming_content) == FILES[name]  # type: ignore[attr-defined]
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["master.m3u8", "v0/seg_00000.m4s", "subs/subtitles.vtt", "poster.jpg"])
def test_another_user_and_anonymous_get_404(world: dict[str, Any], name: str) -> None:
    for user in (world["bob"], None):
        assert _client(user).get(f"{world['hls']}/{name}").status_code == 404
    assert _client(world["bob"]).get("/media/uploads/0123abcd.mp4").status_code == 404


def test_the_original_is_a_download_never_a_page(world: dict[str, Any]) -> None:
    response = _client(world["alice"]).get("/media/uploads/0123abcd.mp4")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("header", "status", "content_range", "body"),
    [
        ("bytes=0-99", 206, "bytes 0-99/1024", SEGMENT[:100]),
        ("bytes=1000-", 206, "bytes 1000-1023/1024", SEGMENT[1000:]),
        ("bytes=-24", 206, "bytes 1000-1023/1024", SEGMENT[-24:]),
        ("bytes=1000-5000", 206, "bytes 1000-1023/1024", SEGMENT[1000:]),
        ("bytes=0-1,5-6", 200, None, SEGMENT),  # several ranges: the whole file (RFC 9110 14.2)
    ],
)
def test_segments_answer_range_requests(
    world: dict[str, Any], header: str, status: int, content_range: str | None, body: bytes
) -> None:
    response = _client(world["alice"]).get(f"{world['hls']}/v0/seg_00000.m4s", HTTP_RANGE=header)
    assert response.status_code == status
    assert response.get("Content-Range") == content_range
    assert response["Accept-Ranges"] == "bytes"
    assert int(response["Content-Length"]) == len(body)
    assert b"".join(response.streaming_content) == body  # type: ignore[attr-defined]


def test_a_range_past_the_end_is_416(world: dict[str, Any]) -> None:
    response = _client(world["alice"]).get(f"{world['hls']}/v0/seg_00000.m4s", HTTP_RANGE="bytes=1024-")
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1024"


@pytest.mark.parametrize(
    "path", ["../secret.txt", "hls/../../secret.txt", "%2e%2e/secret.txt", "/etc/passwd", "hls/1/./x", "other/x"]
)
def test_paths_outside_an_upload_are_404(world: dict[str, Any], path: str) -> None:
    assert _client(world["staff"]).get(f"/media/{path}").status_code == 404


def test_a_missing_file_of_a_visible_upload_is_404(world: dict[str, Any]) -> None:
    assert _client(world["alice"]).get(f"{world['hls']}/v0/seg_99999.m4s").status_code == 404


def test_x_accel_hands_the_file_to_nginx_only_after_the_check(world: dict[str, Any]) -> None:
    with override_settings(MEDIA_DELIVERY="x-accel"):
        owner = _client(world["alice"]).get(f"{world['hls']}/v0/seg_00000.m4s")
        other = _client(world["bob"]).get(f"{world['hls']}/v0/seg_00000.m4s")
    assert owner.status_code == 200
    assert owner["X-Accel-Redirect"] == f"/protected-media/hls/{world['upload'].pk}/abc/v0/seg_00000.m4s"
    assert owner["Content-Type"] == "video/iso.segment"
    assert owner.content == b""
    assert other.status_code == 404
    assert "X-Accel-Redirect" not in other


def test_pages_link_media_through_the_checking_view(world: dict[str, Any]) -> None:
    upload = world["upload"]
    set_stage(upload, "hls", status="succeeded")
    UploadedFile.objects.filter(pk=upload.pk).update(
        hls_master=f"hls/{upload.pk}/abc/master.m3u8",
        hls_poster=f"hls/{upload.pk}/abc/poster.jpg",
    )
    status = _client(world["alice"]).get(f"/uploads/{upload.pk}/status.json").json()
    assert status["hls_master_url"] == f"{world['hls']}/master.m3u8"
    assert status["poster_url"] == f"{world['hls']}/poster.jpg"
