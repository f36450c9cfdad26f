"""The whole pipeline once more on an S3-compatible object store (moto's server, spoken to over
HTTP by django-storages/boto3), with a MEDIA_ROOT that must stay empty: no stage may touch `.path`
or the local filesystem for media."""

from __future__ import annotations

import re
from pathlib import Path

import boto3
import pytest

from tests.conftest import S3_BUCKET as BUCKET
from tests.conftest import S3_CREDENTIALS as CREDENTIALS
from tests.stack import Stack, stop_worker
from uploads.models import StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_pipeline_runs_on_object_storage(
    stack: Stack, s3_endpoint: str, speech_video: Path, tmp_path: Path
) -> None:
    local_media = tmp_path / "media-must-stay-empty"
    local_media.mkdir()
    stack.env.update(
        STORAGE_BACKEND="s3", AWS_STORAGE_BUCKET_NAME=BUCKET, AWS_S3_ENDPOINT_URL=s3_endpoint,
        AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_S3_REGION_NAME="us-east-1",
        DJANGO_MEDIA_ROOT=str(local_media),
    )  # fmt: skip
    worker = stack.worker("s3-worker")
    try:
        out = stack.manage("process_file", str(speech_video), "--timeout", "240", timeout=300)
    finally:
        stop_worker(worker)
    upload = UploadedFile.objects.get(pk=int(re.search(r"Uploaded #(\d+)", out).group(1)))  # type: ignore[union-attr]

    assert tuple(upload.stage(s).status for s in ("transcription", "analysis", "hls")) == (StageStatus.SUCCEEDED,) * 3
    client = boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)
    keys = {
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in page.get("Contents", [])
    }
    assert str(upload.file.name) in keys
    assert {upload.hls_master, upload.hls_poster} <= keys
    # Every URI of the master and of its media playlists is an object in the bucket.
    prefix = upload.hls_master.rsplit("/", 1)[0]
    master = client.get_object(Bucket=BUCKET, Key=upload.hls_master)["Body"].read().decode()
    playlists = [line for line in master.splitlines() if line and not line.startswith("#")]
    playlists += re.findall(r'URI="([^"]+)"', master)
    for playlist in playlists:
        assert f"{prefix}/{playlist}" in keys
        body = client.get_object(Bucket=BUCKET, Key=f"{prefix}/{playlist}")["Body"].read().decode()
        folder = f"{prefix}/{playlist.rsplit('/', 1)[0]}"
        for uri in [line for line in body.splitlines() if line and not line.startswith("#")]:
            assert f"{folder}/{uri}" in keys
    # Served with the right content types.
    types = {
        Path(k).suffix: client.head_object(Bucket=BUCKET, Key=k)["ContentType"] for k in keys if k.startswith(prefix)
    }
    assert types[".m3u8"] == "application/vnd.apple.mpegurl"
    assert types[".m4s"] == "video/iso.segment"
    assert types[".vtt"] == "text/vtt"
    assert list(local_media.rglob("*")) == []  # nothing went through the local filesystem
