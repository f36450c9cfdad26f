"""Playback with signing on (AWS_QUERYSTRING_AUTH=True) from an S3-compatible server (moto): the
pages hand the player /media/ playlists that the view rewrites so every URI in them is a short-lived
presigned URL, so hls.js plays in Chromium; the bucket refuses unsigned URLs, and other users get 404."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client, override_settings
from pytest_django.live_server_helper import LiveServer

from tests.conftest import ROOT, S3_BUCKET
from tests.stack import Stack, stop_worker
from tests.web.conftest import CHROMIUM
from uploads.models import StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DRIVER = Path(__file__).with_name("play_check.js")
EXPIRY = 600


def _s3_env(endpoint: str) -> dict[str, str]:
    return {
        "STORAGE_BACKEND": "s3", "AWS_STORAGE_BUCKET_NAME": S3_BUCKET, "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_QUERYSTRING_AUTH": "true",
    }  # fmt: skip


def _s3_storages(endpoint: str) -> dict[str, dict[str, object]]:
    options = {
        "bucket_name": S3_BUCKET, "endpoint_url": endpoint, "region_name": "us-east-1", "access_key": "test",
        "secret_key": "test", "querystring_auth": True, "querystring_expire": EXPIRY, "file_overwrite": False,
        "signature_version": "s3v4",
    }  # fmt: skip
    return {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")] + re.findall(
        r'URI="([^"]+)"', playlist
    )


def test_signed_playback_from_object_storage_in_chromium(
    browser_installed: None, stack: Stack, s3_endpoint: str, speech_video: Path, live_server: LiveServer
) -> None:
    stack.env.update(_s3_env(s3_endpoint))
    worker = stack.worker("s3-play-worker")
    try:
        out = stack.manage("process_file", str(speech_video), "--timeout", "240", timeout=300)
    finally:
        stop_worker(worker)
    pk = int(re.search(r"Uploaded #(\d+)", out).group(1))  # type: ignore[union-attr]
    alice = User.objects.create_user("alice", password="alice-pw-1")
    User.objects.create_user("bob", password="bob-pw-1")
    UploadedFile.objects.filter(pk=pk).update(uploader=alice)
    upload = UploadedFile.objects.get(pk=pk)
    assert upload.stage("hls").status == StageStatus.SUCCEEDED

    with override_settings(STORAGES=_s3_storages(s3_endpoint), MEDIA_DELIVERY="presigned"):
        owner, other = Client(), Client()
        owner.force_login(alice)
        other.login(username="bob", password="bob-pw-1")
        master = owner.get(f"/media/{upload.hls_master}")
        assert master.status_code == 200
        assert master["Content-Type"] == "application/vnd.apple.mpegurl"
        playlists = _uris(master.content.decode())
        assert playlists
        assert all(uri.startswith(f"/media/hls/{pk}/") for uri in playlists)
        variant = owner.get(playlists[0]).content.decode()
        signed = _uris(variant)
        assert signed
        assert all(uri.startswith(f"{s3_endpoint}/{S3_BUCKET}/hls/{pk}/") for uri in signed)
        query = parse_qs(urlsplit(signed[0]).query)
        assert query["X-Amz-Expires"] == [str(EXPIRY)]
        assert query["X-Amz-Signature"]
        assert requests.get(signed[0], timeout=10).status_code == 200
        unsigned = signed[0].split("?", 1)[0]
        assert requests.get(unsigned, timeout=10).status_code == 403  # the bucket is private
        assert other.get(f"/media/{upload.hls_master}").status_code == 404
        assert Client().get(f"/media/{upload.hls_master}").status_code == 404
        poster = owner.get(f"/media/{upload.hls_poster}")
        assert poster.status_code == 302
        assert "X-Amz-Signature=" in poster["Location"]

        env = {**os.environ, "BASE_URL": live_server.url, "USERNAME": "alice", "PASSWORD": "alice-pw-1",
               "DETAIL_PATH": f"/uploads/{pk}/", "CHROMIUM": CHROMIUM}  # fmt: skip
        run = subprocess.run(["node", str(DRIVER)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["player"]["playedTo"] > report["player"]["playedFrom"]
    assert report["player"]["subtitleTracks"] >= 1
    assert report["poster"]["status"] == 200
    assert report["poster"]["contentType"].startswith("image/jpeg")
    assert report["problems"] == []
