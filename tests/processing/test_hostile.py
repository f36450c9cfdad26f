"""The bad-input matrix: each hostile or odd file goes through `manage.py process_file --sync` as an
operator would run it (a separate process on the test database and media), and each row asserts the
exact terminal state and message, that nothing outside the upload's own file was read or published,
the peak memory where a cap applies, and that an upload processed meanwhile by the real worker is
unharmed. Each row's wall time and peak RSS (process_file and its ffprobe/ffmpeg children, the
largest of them) go to test-artifacts/hostile-matrix.md."""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import default_storage
from django.test import Client

from processing.media.probe import probe_output
from processing.pipeline import pipeline_enqueue, pipeline_resume
from tests.conftest import ARTIFACTS, ROOT, wait_until_finished, worker_env
from tests.processing import hostile_samples as samples
from uploads.media import media_url
from uploads.models import MediaKind, StageStatus, UploadedFile
from uploads.services import upload_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPORT = ARTIFACTS / "hostile-matrix.md"
# Runs a command and reports the largest RSS among it and its descendants, and its wall time.
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.monotonic(); code = subprocess.call(sys.argv[1:])\n"
    "print(f'MEASURED peak_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} "
    "wall_s={time.monotonic() - t:.2f}', file=sys.stderr); sys.exit(code)\n"
)
MiB = 1024


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    wall_s: float
    peak_mb: float

    @property
    def last_line(self) -> str:
        lines = [line for line in self.output.splitlines() if line.strip() and not line.startswith("[")]
        return lines[-1] if lines else ""


def process_file(path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "manage.py", "process_file", str(path), "--sync", *args],
        cwd=ROOT, env=worker_env(**(env or {})), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    measured = re.search(r"MEASURED peak_kb=(\d+) wall_s=([\d.]+)", done.stderr)
    assert measured is not None, done.stderr[-2000:]
    output = done.stdout + done.stderr.replace(measured.group(0), "")
    return Run(done.returncode, output, float(measured.group(2)), int(measured.group(1)) / MiB)


def report(row: str, run: Run, outcome: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if not REPORT.exists():
        REPORT.write_text("| Row | Outcome | Wall s | Peak RSS MB |\n|---|---|---|---|\n")
    with REPORT.open("a") as fh:
        fh.write(f"| {row} | {outcome.replace('|', '/')} | {run.wall_s:.1f} | {run.peak_mb:.0f} |\n")


def media_files() -> set[str]:
    return {str(p.relative_to(settings.MEDIA_ROOT)) for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}


@pytest.fixture(scope="module", autouse=True)
def fresh_report() -> None:
    REPORT.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def marker(made: Path) -> Path:
    """A file on the worker's disk that no upload may read: solid magenta frames."""
    return samples.marker_video(made)


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records every request: a playlist must never reach it."""
    requests: list[str] = []
    handler = type("Recorder", (_Recorder,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/secret.mp4", requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def bystander(celery_worker_process: object, speech_audio: Path) -> Iterator[UploadedFile]:
    """Another user's upload, processed by the real worker while the row runs; it must end whole."""
    with speech_audio.open("rb") as fh:
        upload = upload_create(file=File(fh, name="bystander.m4a"), original_name="bystander.m4a")
    yield upload
    done = wait_until_finished(upload.pk)
    assert (done.transcription_status, done.analysis_status) == (StageStatus.SUCCEEDED, StageStatus.SUCCEEDED)
    assert "warehouse" in done.transcript_text.lower()
    assert default_storage.exists(str(done.file.name))


Make = Callable[[Path, Path, str], Path]
REFUSED: list[tuple[str, Make, str, float, dict[str, str]]] = [
    (
        "hls-playlist-file-entry",
        lambda d, marker, url: samples.playlist_file_entry(d, marker),
        "Not an audio or video file: the file is an HLS playlist, which is not an accepted audio or video container.",
        300,
        {},
    ),
    (
        "hls-playlist-http-entry",
        lambda d, marker, url: samples.playlist_http_entry(d, url, name="http.mp4"),
        "Not an audio or video file: the file is an HLS playlist, which is not an accepted audio or video container.",
        300,
        {},
    ),
    (
        "hls-playlist-data-uri",
        lambda d, marker, url: samples.playlist_data_uri(d),
        "Not an audio or video file: the file is an HLS playlist, which is not an accepted audio or video container.",
        300,
        {},
    ),
    (
        "ffconcat-list",
        lambda d, marker, url: samples.concat_list(d, marker),
        "Not an audio or video file: the file is a concat list, which is not an accepted audio or video container.",
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
        "Not an audio or video file: the file is an SVG image, which is not an accepted audio or video container.",
        300,
        {},
    ),
    (
        "gif",
        lambda d, marker, url: samples.gif(d),
        "Not an audio or video file: the file is a GIF image, which is not an accepted audio or video container.",
        300,
        {},
    ),
    (
        "png-named-mp4",
        lambda d, marker, url: samples.png_named_mp4(d),
        "Not an audio or video file: the file is a PNG image, which is not an accepted audio or video container.",
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
        lambda d, marker, url: samples.silent_opus(d, 36000),
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
        assert upload.transcription_status == StageStatus.FAILED
        assert upload.hls_status == StageStatus.FAILED
        assert upload.hls_error == "the file is an HLS playlist, which is not an accepted audio or video container"
        assert "/" not in upload.transcription_error
        assert "uploads" not in upload.transcription_error
        assert upload.hls_master == ""
        assert not [name for name in media_files() if name.startswith(f"hls/{upload.pk}/")]
        assert "InvalidMedia" in upload.stage_details["hls"]  # the operator's view keeps the class
    # and the worker logged the expected failures in one line each, with no traceback.
    log = celery_worker_process.log()  # type: ignore[attr-defined]
    for upload in finished:
        assert f"generate_hls_async[{upload.hls_task_id}] raised expected: StageFailed" in log
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
        assert "uploads/" not in getattr(upload, f"{stage}_error")


def _assert_no_speech(upload: UploadedFile, run: Run) -> None:
    assert run.returncode == 0, run.output
    assert upload.transcription_status == StageStatus.SUCCEEDED
    assert upload.transcription_error == "no speech found"
    assert (upload.transcript_text, upload.transcript_segments) == ("", [])
    assert upload.analysis_status == StageStatus.SKIPPED
    assert upload.analysis_error == "no speech found"
    assert "Transcription  succeeded: no speech found" in run.output


@pytest.mark.parametrize("seconds", [120, 600])
def test_silence_ends_with_no_speech_found(
    request: pytest.FixtureRequest, made: Path, bystander: UploadedFile, seconds: int
) -> None:
    run = process_file(samples.silent_wav(made, seconds, name=f"silence-{seconds}.wav"))
    report(request.node.name, run, "transcription succeeded: no speech found; analysis skipped")
    _assert_no_speech(UploadedFile.objects.exclude(pk=bystander.pk).get(), run)


def _mean_volume(path: str, stream: str = "0:a:0") -> float:
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-i", path, "-map", stream, "-af", "volumedetect", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"mean_volume: (-?[\d.]+) dB", done.stderr)
    assert found is not None, done.stderr[-1000:]
    return float(found.group(1))


def test_the_default_audio_track_is_transcribed_and_streamed(
    request: pytest.FixtureRequest, made: Path, speech_audio: Path, bystander: UploadedFile
) -> None:
    # Given a camera-plus-microphone style file: track 0 a quiet tone, track 1 (default) the speech,
    path = samples.multi_audio_video(
        made, 2, speech=speech_audio, default_track=1, tone_volume=0.01, name="two-tracks.mp4"
    )

    run = process_file(path)

    report(request.node.name, run, "all stages succeeded on track 1 (default)")
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    assert run.returncode == 0, run.output
    assert (upload.audio_tracks, upload.audio_stream) == (2, 1)
    assert "warehouse" in upload.transcript_text.lower()  # the speech track was transcribed
    assert upload.hls_status == StageStatus.SUCCEEDED
    master = default_storage.path(upload.hls_master)
    master_text = Path(master).read_text()
    assert master_text.count("#EXT-X-MEDIA:TYPE=AUDIO") == 1
    audio_playlist = str(Path(master).parent / "audio" / "index.m3u8")
    streamed = _mean_volume(audio_playlist)  # the speech is ~20 dB louder than the tone
    speech, tone = _mean_volume(str(path), "0:a:1"), _mean_volume(str(path), "0:a:0")
    assert abs(streamed - speech) + 10 < abs(streamed - tone), (streamed, speech, tone)
    assert probe_output(master).duration == pytest.approx(upload.duration, abs=0.5)


def test_twenty_audio_tracks_stream_one(request: pytest.FixtureRequest, made: Path, bystander: UploadedFile) -> None:
    run = process_file(samples.multi_audio_video(made, 20, name="twenty.mp4"))
    report(request.node.name, run, "HLS succeeded with one audio rendition")
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    assert run.returncode == 0, run.output
    assert (upload.audio_tracks, upload.audio_stream) == (20, 0)
    assert upload.hls_status == StageStatus.SUCCEEDED
    assert Path(default_storage.path(upload.hls_master)).read_text().count("TYPE=AUDIO") == 1


def test_source_tags_never_reach_the_published_stream(
    request: pytest.FixtureRequest, made: Path, bystander: UploadedFile
) -> None:
    tags = {
        "title": "MARKER-TITLE-7f3a",
        "comment": "MARKER-COMMENT-7f3a",
        "location": "MARKER-LOCATION-7f3a",
        "handler_name": "MARKER-HANDLER-7f3a",
    }
    path = samples.tagged_video(made, tags)
    assert b"MARKER-LOCATION-7f3a" in path.read_bytes()  # the source does carry them

    run = process_file(path)

    report(request.node.name, run, "HLS succeeded; no source tag in any published file")
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    assert upload.hls_status == StageStatus.SUCCEEDED, run.output
    published = [p for p in Path(default_storage.path(upload.hls_master)).parent.rglob("*") if p.is_file()]
    assert any(p.name.startswith("init") for p in published)  # the fMP4 headers, where tags would go
    for file in published:
        data = file.read_bytes()
        assert b"MARKER-" not in data, file


def test_a_sync_run_stops_at_the_soft_time_limit(
    request: pytest.FixtureRequest, speech_audio: Path, bystander: UploadedFile
) -> None:
    run = process_file(speech_audio, "--soft-time-limit", "0.5")
    report(request.node.name, run, "transcription failed at the soft limit, exit 1")
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    assert run.returncode == 1, run.output
    assert upload.transcription_status == StageStatus.FAILED
    assert upload.transcription_error.startswith("stopped: the soft time limit of 0.5 s was reached")
    assert upload.analysis_status == StageStatus.SKIPPED
    assert run.last_line == "CommandError: stage failed: Transcription"
    assert "Traceback" not in run.output


def test_a_sync_run_ends_at_the_hard_time_limit(
    request: pytest.FixtureRequest, speech_audio: Path, bystander: UploadedFile
) -> None:
    run = process_file(speech_audio, "--time-limit", "1")
    report(request.node.name, run, "transcription failed at the hard limit, exit 3")
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    assert run.returncode == 3, run.output
    assert (upload.transcription_status, upload.transcription_error) == (
        StageStatus.FAILED,
        "stopped: the hard time limit of 1 s was reached",
    )
    assert upload.analysis_status == StageStatus.SKIPPED
    assert "Transcription failed: stopped: the hard time limit of 1 s was reached" in run.output
    assert "Traceback" not in run.output


def test_a_failing_first_stage_prints_its_message_not_a_traceback(
    request: pytest.FixtureRequest, speech_audio: Path, bystander: UploadedFile
) -> None:
    run = process_file(speech_audio, env={"TRANSCRIPTION_ENGINE": "openai-whisper", "WHISPER_MODEL": ""})
    report(request.node.name, run, "transcription failed with its configuration message, exit 1")
    assert run.returncode == 1, run.output
    assert "Transcription  failed: openai-whisper needs a .pt checkpoint" in run.output
    assert "AI analysis    skipped: not run: Transcription failed" in run.output
    assert run.last_line == "CommandError: stage failed: Transcription"
    assert "Traceback" not in run.output
    assert "raised unexpected" not in run.output
