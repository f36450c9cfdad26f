"""The web tier for real: Debian's nginx, configured by deploy/nginx/ exactly as the compose container
renders it, in front of gunicorn (config/gunicorn.py) with production settings, the real worker and
the test database. A slow client's upload is buffered by nginx, media reaches only its owner through
Django's check and X-Accel-Redirect (with the HLS types and byte ranges), and oversize bodies get 413."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User

from tests.conftest import ROOT, WorkerHandle, wait_until_finished
from tests.web.web_tier import BOUNDARY, Client, WebTier, multipart, throttled
from uploads.models import StageStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

UPLOAD_MAX_BYTES = 8 * 1024**2  # for nginx's render and gunicorn's settings alike
OVERHEAD = 64 * 1024  # multipart overhead the Django view allows beyond the limit
UPLOAD_SECONDS = 62  # a slow client: longer than the 60 s that matter (gunicorn's old 30 s, nginx's 60 s defaults)


@pytest.fixture(scope="module")
def web_tier(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebTier]:
    installed = subprocess.run([str(ROOT / "scripts" / "install_nginx.sh")], capture_output=True, text=True,
                               timeout=900)  # fmt: skip
    if installed.returncode != 0:  # `make test` installs what it needs: a failed install fails, never skips
        pytest.fail(f"nginx cannot be installed: {installed.stderr.strip()[-800:]}")
    tier = WebTier(tmp_path_factory.mktemp("web-tier"), UPLOAD_MAX_BYTES)
    try:
        tier.start()
        yield tier
    finally:
        tier.stop()


def _user_client(tier: WebTier, username: str) -> Client:
    # Hashed as production hashes (test settings use MD5, which production settings cannot verify).
    password = PBKDF2PasswordHasher().encode(f"{username}-Pw-2468", PBKDF2PasswordHasher().salt())
    User.objects.create(username=username, password=password)
    client = Client(tier.port)
    client.login(username, f"{username}-Pw-2468")
    return client


def _log_line(log: Path, pattern: str) -> re.Match[str]:
    """The last line of `log` that matches, waiting for it: gunicorn and nginx both write their access
    line after the response is sent, so a fast client can read the response before the line exists."""
    deadline = time.monotonic() + 10
    while True:
        found = list(re.finditer(pattern, log.read_text(errors="replace") if log.exists() else ""))
        if found or time.monotonic() > deadline:
            assert found, f"no line of {log.name} matches {pattern!r}"
            return found[-1]
        time.sleep(0.2)


def _gunicorn_line(tier: WebTier, pattern: str) -> re.Match[str]:
    return _log_line(tier.gunicorn_log, pattern)


def test_rendered_config_statics_headers_and_body_limit(web_tier: WebTier) -> None:
    conf = web_tier.server_conf.read_text()
    assert f"client_max_body_size {UPLOAD_MAX_BYTES + OVERHEAD};" in conf
    assert "$http_host" in conf
    assert "$mediapipe_static_cache_control" in conf
    directives = [line for line in conf.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in directives if "${" in line]  # every template variable was substituted
    two_gib = web_tier.render(web_tier.tmp / "default.conf", UPLOAD_MAX_BYTES="")
    assert "client_max_body_size 2147549184;" in two_gib  # the compose default: 2 GiB + 64 KiB

    # Hashed static files from nginx, cached for good; the unhashed copy beside each only briefly.
    manifest = json.loads((web_tier.static_root / "staticfiles.json").read_text())["paths"]
    client = Client(web_tier.port)
    hashed = client.get(f"/static/{manifest['uploads/app.css']}")
    assert (hashed.status, hashed.headers["Content-Type"]) == (200, "text/css")
    assert hashed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/static/uploads/app.css").headers["Cache-Control"] == "public, max-age=3600"

    # The edge overwrites forwarding headers: a client can claim neither https nor another address.
    client.get("/accounts/login/?spoof=1", X_Forwarded_Proto="https", X_Forwarded_For="203.0.113.9")
    _gunicorn_line(web_tier, r'xff=127\.0\.0\.1 proto=http "GET /accounts/login/\?spoof=1 ')

    # The internal location cannot be asked for; the media files behind it exist nowhere else.
    assert client.get("/protected-media/uploads/anything.mp4").status == 404

    owner = _user_client(web_tier, "sizer")
    post = {"Content_Type": f"multipart/form-data; boundary={BOUNDARY}", "X_CSRFToken": owner.csrf,
            "Accept": "application/json"}  # fmt: skip
    # One byte over: nginx refuses from the Content-Length alone, before the body is read.
    too_big = owner.request("POST", "/upload/", None, Content_Length=str(UPLOAD_MAX_BYTES + OVERHEAD + 1), **post)
    assert too_big.status == 413
    assert b"nginx" in too_big.body
    # Exactly the limit: nginx passes it on and Django answers (no media in it: 400 JSON).
    head, tail = multipart("zeros.mp4", "video/mp4")
    body = head + b"\0" * (UPLOAD_MAX_BYTES + OVERHEAD - len(head) - len(tail)) + tail
    at_limit = owner.request("POST", "/upload/", body, **post)
    assert at_limit.status == 400, at_limit.body[:300]
    assert "error" in json.loads(at_limit.body)


def test_slow_upload_is_buffered_then_media_reaches_only_its_owner(
    web_tier: WebTier, celery_worker_process: WorkerHandle, speech_video: Path
) -> None:
    owner = _user_client(web_tier, "owner")
    head, tail = multipart("meeting.mp4", "video/mp4")
    data = speech_video.read_bytes()
    started = time.monotonic()
    created = owner.request(
        "POST", "/upload/", throttled([head, data, tail], UPLOAD_SECONDS),
        Content_Length=str(len(head) + len(data) + len(tail)), Accept="application/json", X_CSRFToken=owner.csrf,
        Content_Type=f"multipart/form-data; boundary={BOUNDARY}",
    )  # fmt: skip
    client_seconds = time.monotonic() - started
    assert created.status == 201, created.body[:500]
    upload_id = json.loads(created.body)["id"]
    assert json.loads(created.body)["url"] == f"/uploads/{upload_id}/"
    gunicorn_seconds = float(_gunicorn_line(web_tier, r'"POST /upload/ HTTP/1\.\d" 201 \d+ ([\d.]+)s').group(1))
    # nginx's view of the same request: its whole duration, and the part spent waiting on gunicorn.
    nginx_total, nginx_upstream = map(float, _log_line(
        web_tier.nginx_access_log, r'"POST /upload/ HTTP/1\.1" 201 \d+ ([\d.]+) ([\d.]+)').groups())  # fmt: skip
    print(f"upload of {len(data)} bytes: client {client_seconds:.1f} s, nginx {nginx_total:.1f} s "
          f"(upstream {nginx_upstream:.2f} s), gunicorn {gunicorn_seconds:.2f} s")  # fmt: skip
    assert client_seconds > 60
    assert nginx_total > 60
    assert gunicorn_seconds < min(15, client_seconds / 4)  # gunicorn got the body from nginx's buffer
    assert nginx_upstream < min(15, client_seconds / 4)

    upload = wait_until_finished(upload_id, timeout=900)
    assert upload.stage("hls").status == StageStatus.SUCCEEDED, upload.stage("hls").error
    master_url = f"/media/{upload.hls_master}"
    master = owner.get(master_url)
    assert (master.status, master.headers["Content-Type"]) == (200, "application/vnd.apple.mpegurl")
    assert master.headers["X-Content-Type-Options"] == "nosniff"
    base = PurePosixPath(master_url).parent
    variant_url = base / next(line for line in master.body.decode().splitlines() if line.endswith(".m3u8"))
    variant = owner.get(str(variant_url))
    assert (variant.status, variant.headers["Content-Type"]) == (200, "application/vnd.apple.mpegurl")
    lines = variant.body.decode().splitlines()
    init_name = next(re.search(r'URI="([^"]+)"', line).group(1) for line in lines if line.startswith("#EXT-X-MAP"))  # type: ignore[union-attr]
    segment_url = str(variant_url.parent / next(line for line in lines if line.endswith(".m4s")))
    init = owner.get(str(variant_url.parent / init_name))
    assert (init.status, init.headers["Content-Type"]) == (200, "video/mp4")
    segment = owner.get(segment_url)
    assert (segment.status, segment.headers["Content-Type"]) == (200, "video/iso.segment")
    assert len(segment.body) > 100
    ranged = owner.get(segment_url, Range="bytes=0-99")
    assert (ranged.status, ranged.body) == (206, segment.body[:100])
    assert ranged.headers["Content-Range"] == f"bytes 0-99/{len(segment.body)}"
    poster = owner.get(f"/media/{upload.hls_poster}")
    assert (poster.status, poster.headers["Content-Type"]) == (200, "image/jpeg")
    assert poster.body.startswith(b"\xff\xd8")
    # The original: the very bytes sent, as a download that is never rendered in the site's origin.
    original = owner.get(f"/media/{upload.file.name}")
    assert (original.status, original.headers["Content-Type"]) == (200, "application/octet-stream")
    assert original.headers["Content-Disposition"].startswith("attachment")
    assert original.body == data

    stranger = _user_client(web_tier, "stranger")
    for who, client in (("another user", stranger), ("anonymous", Client(web_tier.port))):
        refused = client.get(segment_url)
        print(f"{who}: {refused.status} for {segment_url}")
        assert refused.status == 404, (who, refused.status)
        assert refused.body != segment.body
