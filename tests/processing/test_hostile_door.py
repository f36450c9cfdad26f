"""The bad-input matrix, part 1: what must never get in. Each file goes through `manage.py process_file
--sync` (tests/processing/hostile_run.py) and each row asserts the exact refusal, that nothing was
stored, read or fetched (a loopback server records requests; a marker file sits on disk), the peak
memory where a cap applies, and that an upload processed meanwhile by the real worker is unharmed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files import File
from django.test import Client

from processing.pipeline import pipeline_enqueue, pipeline_resume
from tests.conftest import wait_until_finished
from tests.processing import hostile_samples as samples
from tests.processing import odd_samples
from tests.processing.hostile_run import media_files, process_file, report
from uploads.media import media_url
from uploads.models import MediaKind, StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


Make = Callable[[Path, Path, str], Path]


def not_a_container(kind: str) -> str:
    return f"Not an audio or video file: the file is {kind}, which is not an accepted audio or video container."


REFUSED: list[tuple[str, Make, str, float, dict[str, str]]] = [
    (
        "hls-playlist-file-entry",
        lambda d, marker, url: samples.playlist_file_entry(d, marker),
        not_a_container("an HLS playlist"),
        300,
        {},
    ),
    (
        "hls-playlist-http-entry",
        lambda d, marker, url: samples.playlist_http_entry(d, url, name="http.mp4"),
        not_a_container("an HLS playlist"),
        300,
        {},
    ),
    (
        "hls-playlist-data-uri",
        lambda d, marker, url: samples.playlist_data_uri(d),
        not_a_container("an HLS playlist"),
        300,
        {},
    ),
    (
        "ffconcat-list",
        lambda d, marker, url: samples.concat_list(d, marker),
        not_a_container("a concat list"),
        300,
        {},
    ),
    (
        "html-page",
        lambda d, marker, url: samples.html_page(d),
        "Not an audio or video file: ffmpeg cannot read it (Invalid data found when processing input).",
        300,
        {},
    ),
    (
        "svg-with-script",
        lambda d, marker, url: samples.svg_script(d),
        not_a_container("an SVG image"),
        300,
        {},
    ),
    (
        "gif",
        lambda d, marker, url: samples.gif(d),
        not_a_container("a GIF image"),
        300,
        {},
    ),
    (
        "png-named-mp4",
        lambda d, marker, url: samples.png_named_mp4(d),
        not_a_container("a PNG image"),
        300,
        {},
    ),
    (
        "16000x16000-video",
        lambda d, marker, url: samples.huge_frame_video(d),
        "The file is refused: its frames are 16000x16000 (256.0 megapixels); the limit is 8.8 megapixels "
        "(MEDIA_MAX_PIXELS).",
        400,
        {},
    ),
    (
        "200MB-metadata-tag",
        lambda d, marker, url: samples.big_metadata_mp4(d),
        "The file is refused: reading it needs a block of memory over 128 MB, the probe's limit "
        "(MEDIA_PROBE_MAX_ALLOC_BYTES): it holds an oversized metadata tag or index.",
        200,
        {"UPLOAD_MAX_BYTES": str(300 * 1024**2)},
    ),
    (
        "20MB-metadata-tag",
        lambda d, marker, url: samples.big_metadata_mp4(d, 20 * 1024**2, name="meta20.mp4"),
        "The file is refused: its metadata tags take more than 1024 KB; the limit is 1024 KB "
        "(MEDIA_MAX_METADATA_BYTES).",
        200,
        {},
    ),
    (
        "10h-silent-opus",
        lambda d, marker, url: odd_samples.silent_opus(d, 36000),
        "The file is refused: it lasts 10.0 h; the limit is 6.0 h (MEDIA_MAX_DURATION_SECONDS).",
        300,
        {},
    ),
]


@pytest.mark.parametrize(
    ("make", "message", "peak_mb", "env"), [row[1:] for row in REFUSED], ids=[row[0] for row in REFUSED]
)
def test_refused_at_the_door(
    request: pytest.FixtureRequest,
    made: Path,
    marker: Path,
    loopback: tuple[str, list[str]],
    bystander: UploadedFile,
    make: Make,
    message: str,
    peak_mb: float,
    env: dict[str, str],
) -> None:
    url, requests = loopback
    path = make(made, marker, url)
    before = media_files()

    run = process_file(path, env=env)

    report(request.node.callspec.id, run, f"refused: {message}")
    assert run.returncode == 1, run.output
    assert run.last_line == f"CommandError: {message}"
    assert "Traceback" not in run.output
    assert UploadedFile.objects.exclude(pk=bystander.pk).count() == 0
    assert media_files() - before <= {str(bystander.file.name)}  # nothing stored, nothing published
    assert requests == []  # the loopback server was never asked for anything
    assert run.peak_mb < peak_mb


def _bypassed(path: Path, kind: MediaKind) -> UploadedFile:
    """An upload row made without upload_create's probe, as if an earlier check had been missed."""
    upload = UploadedFile(original_name=path.name, size=path.stat().st_size, media_kind=kind, duration=3.0)
    upload.has_audio, upload.width, upload.height = True, 320, 240
    with path.open("rb") as fh:
        upload.file.save("upload.mp4", File(fh), save=False)
    upload.save()
    pipeline_enqueue(upload)
    return upload


def test_a_playlist_that_got_past_the_door_reads_nothing_on_the_worker(
    made: Path, marker: Path, loopback: tuple[str, list[str]], celery_worker_process: object, bystander: UploadedFile
) -> None:
    # Given playlists stored as uploads without the upload check (a file:// entry and an http:// one),
    url, requests = loopback
    uploads = [
        _bypassed(samples.playlist_file_entry(made, marker, name="bypass-file.mp4"), MediaKind.VIDEO),
        _bypassed(samples.playlist_http_entry(made, url, name="bypass-http.mp4"), MediaKind.VIDEO),
    ]
    # when the real worker runs their pipelines, and then their HLS stage again on its own,
    for upload in uploads:
        wait_until_finished(upload.pk)
        pipeline_resume(upload, from_stage="hls")
    finished = [wait_until_finished(upload.pk) for upload in uploads]

    # then ffmpeg itself refused them: nothing fetched, nothing published, a message without paths.
    assert requests == []
    for upload in finished:
        assert upload.stage("transcription").status == StageStatus.FAILED
        assert upload.stage("hls").status == StageStatus.FAILED
        assert (
            upload.stage("hls").error
            == "the file is an HLS playlist, which is not an accepted audio or video container"
        )
        assert "/" not in upload.stage("transcription").error
        assert "uploads" not in upload.stage("transcription").error
        assert upload.hls_master == ""
        assert not [name for name in media_files() if name.startswith(f"hls/{upload.pk}/")]
        assert "InvalidMedia" in upload.stage("hls").detail  # the operator's view keeps the class
    # and the worker logged the expected failures in one line each, with no traceback.
    log = celery_worker_process.log()  # type: ignore[attr-defined]
    for upload in finished:
        assert f"generate_hls_async[{upload.stage('hls').task_id}] raised expected: StageFailed" in log
    assert "raised unexpected" not in log


def test_an_html_mp3_polyglot_is_stored_and_served_as_audio_never_as_a_page(
    request: pytest.FixtureRequest, made: Path, bystander: UploadedFile
) -> None:
    run = process_file(samples.html_mp3_polyglot(made))
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    report(request.node.name, run, "accepted as mp3 audio, no speech found")
    assert run.returncode == 0, run.output
    assert upload.media_kind == MediaKind.AUDIO
    assert upload.container_format == "mp3"
    assert re.fullmatch(r"uploads/[0-9a-f]{32}\.mp3", str(upload.file.name))
    assert upload.original_name == "song.html"  # for display only
    staff = get_user_model().objects.create_user("operator", password="x", is_staff=True)
    client = Client()
    client.force_login(staff)
    response = client.get(media_url(str(upload.file.name)))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    for stage in ("transcription", "analysis", "hls"):
        assert "uploads/" not in upload.stage(stage).error
