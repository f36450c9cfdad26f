"""The bad-input matrix, part 2: odd but real media (silence, several audio tracks, tags) and a
--sync run that stays bounded, through `manage.py process_file --sync` (tests/processing/hostile_run.py),
with a bystander upload on the real worker meanwhile."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from processing.media.probe import probe_output
from tests.processing import odd_samples
from tests.processing.hostile_run import Run, process_file, report
from uploads.models import StageStatus, UploadedFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _assert_no_speech(upload: UploadedFile, run: Run) -> None:
    assert run.returncode == 0, run.output
    assert upload.stage("transcription").status == StageStatus.SUCCEEDED
    assert upload.stage("transcription").error == "no speech found"
    assert (upload.transcript_text, upload.transcript_segments) == ("", [])
    assert upload.stage("analysis").status == StageStatus.SKIPPED
    assert upload.stage("analysis").error == "no speech found"
    assert "Transcription  succeeded: no speech found" in run.output


@pytest.mark.parametrize("seconds", [120, 600])
def test_silence_ends_with_no_speech_found(
    request: pytest.FixtureRequest, made: Path, bystander: UploadedFile, seconds: int
) -> None:
    run = process_file(odd_samples.silent_wav(made, seconds, name=f"silence-{seconds}.wav"))
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
    path = odd_samples.multi_audio_video(
        made, 2, speech=speech_audio, default_track=1, tone_volume=0.01, name="two-tracks.mp4"
    )

    run = process_file(path)

    report(request.node.name, run, "all stages succeeded on track 1 (default)")
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    assert run.returncode == 0, run.output
    assert (upload.audio_tracks, upload.audio_stream) == (2, 1)
    assert "warehouse" in upload.transcript_text.lower()  # the speech track was transcribed
    assert upload.stage("hls").status == StageStatus.SUCCEEDED
    master = default_storage.path(upload.hls_master)
    master_text = Path(master).read_text()
    assert master_text.count("#EXT-X-MEDIA:TYPE=AUDIO") == 1
    audio_playlist = str(Path(master).parent / "audio" / "index.m3u8")
    streamed = _mean_volume(audio_playlist)  # the speech is ~20 dB louder than the tone
    speech, tone = _mean_volume(str(path), "0:a:1"), _mean_volume(str(path), "0:a:0")
    assert abs(streamed - speech) + 10 < abs(streamed - tone), (streamed, speech, tone)
    assert probe_output(master).duration == pytest.approx(upload.duration, abs=0.5)


def test_twenty_audio_tracks_stream_one(request: pytest.FixtureRequest, made: Path, bystander: UploadedFile) -> None:
    run = process_file(odd_samples.multi_audio_video(made, 20, name="twenty.mp4"))
    report(request.node.name, run, "HLS succeeded with one audio rendition")
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    assert run.returncode == 0, run.output
    assert (upload.audio_tracks, upload.audio_stream) == (20, 0)
    assert upload.stage("hls").status == StageStatus.SUCCEEDED
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
    path = odd_samples.tagged_video(made, tags)
    assert b"MARKER-LOCATION-7f3a" in path.read_bytes()  # the source does carry them

    run = process_file(path)

    report(request.node.name, run, "HLS succeeded; no source tag in any published file")
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    assert upload.stage("hls").status == StageStatus.SUCCEEDED, run.output
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
    assert upload.stage("transcription").status == StageStatus.FAILED
    assert upload.stage("transcription").error.startswith("stopped: the soft time limit of 0.5 s was reached")
    assert upload.stage("analysis").status == StageStatus.SKIPPED
    assert run.last_line == "CommandError: stage failed: Transcription"
    assert "Traceback" not in run.output


def test_a_sync_run_ends_at_the_hard_time_limit(
    request: pytest.FixtureRequest, speech_audio: Path, bystander: UploadedFile
) -> None:
    run = process_file(speech_audio, "--time-limit", "1")
    report(request.node.name, run, "transcription failed at the hard limit, exit 3")
    upload = UploadedFile.objects.exclude(pk=bystander.pk).get()
    assert run.returncode == 3, run.output
    assert (upload.stage("transcription").status, upload.stage("transcription").error) == (
        StageStatus.FAILED,
        "stopped: the hard time limit of 1 s was reached",
    )
    assert upload.stage("analysis").status == StageStatus.SKIPPED
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
