"""The whole pipeline on a real Celery worker, real Redis, real ffmpeg and the real Whisper model."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django_celery_results.models import TaskResult

from processing.media.encoders import run_nvenc_trial
from processing.media.hls import LIBX264, NVENC
from processing.media.probe import probe_file, probe_output
from processing.media.samples import SAMPLE_SPEECH
from processing.models import TaskAttempt
from tests.conftest import WorkerHandle, wait_until_finished
from tests.stack import wait_for
from uploads.models import StageStatus, UploadedFile
from uploads.services import upload_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _upload(path: Path) -> UploadedFile:
    with path.open("rb") as fh:
        return upload_create(file=File(fh, name=path.name), original_name=path.name)


def test_video_runs_the_whole_chain(celery_worker_process: WorkerHandle, speech_video: Path) -> None:
    # Given a video with spoken words, when it is uploaded, the chain runs on the real worker.
    upload = wait_until_finished(_upload(speech_video).pk)

    assert upload.stage("transcription").status == StageStatus.SUCCEEDED, upload.stage("transcription").error
    assert upload.stage("speakers").status == StageStatus.SUCCEEDED, upload.stage("speakers").error
    assert upload.stage("analysis").status == StageStatus.SUCCEEDED, upload.stage("analysis").error
    assert upload.stage("hls").status == StageStatus.SUCCEEDED, upload.stage("hls").error

    # One voice: one speaker, on every segment and word, on the analysis items and in the subtitles.
    assert [s.label for s in upload.speakers.all()] == ["S1"]
    assert {s["speaker"] for s in upload.transcript_segments} == {"S1"}
    assert {w["speaker"] for s in upload.transcript_segments for w in s["words"]} == {"S1"}
    assert {item.get("speaker") for item in [*upload.issues, *upload.solutions]} == {"S1"}
    subtitles = default_storage.open(upload.hls_master.replace("master.m3u8", "subs/subtitles.vtt")).read().decode()
    cues = [block for block in subtitles.split("\n\n")[1:] if block.strip()]
    assert cues
    assert all("<v Speaker 1>" in cue for cue in cues), subtitles

    # The transcript holds at least 80% of the spoken words (ASR is not perfect).
    spoken, heard = _words(SAMPLE_SPEECH), set(_words(upload.transcript_text))
    recall = sum(word in heard for word in spoken) / len(spoken)
    assert recall >= 0.8, (recall, upload.transcript_text)
    assert upload.language == "en"
    assert upload.transcription_engine == "faster-whisper"
    assert upload.transcription_seconds is not None
    assert upload.transcription_seconds > 0
    assert all(isinstance(s.get("words"), list) for s in upload.transcript_segments)  # word timings kept
    assert all(s["end"] > s["start"] >= 0 for s in upload.transcript_segments)

    # The analysis is non-empty and made of the transcript's own sentences.
    assert upload.summary
    assert upload.issues
    assert upload.solutions
    for item in [*upload.issues, *upload.solutions]:
        assert item["text"] in upload.transcript_text
    assert any("problem" in item["text"].lower() for item in upload.issues)
    assert any("should" in item["text"].lower() or "propose" in item["text"].lower() for item in upload.solutions)

    # The master playlist exists and plays for the source's duration (+-0.5 s).
    assert default_storage.exists(upload.hls_master)
    master = probe_output(default_storage.path(upload.hls_master))
    assert master.duration == pytest.approx(probe_file(str(speech_video)).duration, abs=0.5)
    assert master.width == 640
    assert master.height == 360

    # The encoder recorded is the one that really works here (libx264 on a GPU-less machine).
    expected = NVENC if run_nvenc_trial().available else LIBX264
    assert upload.hls_encoder == expected
    if expected == LIBX264:
        assert upload.hls_fallback_reason.startswith("NVENC unavailable")

    # django-celery-results holds a SUCCESS row for each of the four pre-assigned task ids.
    task_ids = [upload.stage(s).task_id for s in ("transcription", "speakers", "analysis", "hls")]
    results = {r.task_id: r for r in TaskResult.objects.filter(task_id__in=task_ids)}
    assert set(results) == set(task_ids)
    assert {r.status for r in results.values()} == {"SUCCESS"}
    assert results[upload.stage("hls").task_id].task_name == "processing.tasks.generate_hls_async"

    # Every attempt of every stage has lifecycle records from the worker, joined by task id. The
    # worker writes them a moment after the events (write-behind), each with its event's time.
    wait_for(lambda: TaskAttempt.objects.filter(task_id__in=task_ids).count() >= 12, 10, "lifecycle records")
    for task_id in task_ids:
        events = list(TaskAttempt.objects.filter(task_id=task_id).order_by("created_at", "id"))
        assert [e.event for e in events] == ["queued", "started", "succeeded"]
        assert events[1].hostname == celery_worker_process.nodename
        assert events[2].duration is not None
        assert events[2].duration > 0
        assert all(e.upload_id == upload.pk for e in events)

    # The log lines the runbook greps for are there, each with the upload id.
    log = celery_worker_process.log()
    for phrase in (
        "Transcription completed successfully",
        "Speaker diarization completed successfully",
        "AI analysis completed successfully",
        "HLS generation completed",
    ):
        assert f"{phrase} uploaded_file_id: {upload.pk}" in log


def test_audio_upload_skips_hls(celery_worker_process: WorkerHandle, speech_audio: Path) -> None:
    upload = wait_until_finished(_upload(speech_audio).pk)

    assert upload.media_kind == "audio"
    assert upload.stage("transcription").status == StageStatus.SUCCEEDED
    assert upload.stage("analysis").status == StageStatus.SUCCEEDED
    assert upload.stage("hls").status == StageStatus.SKIPPED
    assert "audio" in upload.stage("hls").error
    assert upload.stage("hls").task_id == ""
    assert upload.hls_master == ""
    assert (
        TaskResult.objects.filter(
            task_id__in=[upload.stage("transcription").task_id, upload.stage("analysis").task_id]
        ).count()
        == 2
    )


def test_truncated_video_fails_hls_with_a_clear_message(
    celery_worker_process: WorkerHandle, speech_video: Path, tmp_path: Path
) -> None:
    # Given a file ffprobe accepts (its index is at the front) whose second half is missing.
    data = speech_video.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])

    upload = wait_until_finished(_upload(truncated).pk)

    assert upload.stage("hls").status == StageStatus.FAILED
    assert "truncated" in upload.stage("hls").error
    assert "source lasts" in upload.stage("hls").error
    assert upload.hls_master == ""
    assert TaskResult.objects.get(task_id=upload.stage("hls").task_id).status == "FAILURE"
    assert f"HLS generation failed uploaded_file_id: {upload.pk}" in celery_worker_process.log()


def _clip(path: Path, *args: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *args, "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True
    )
    return path


@pytest.mark.parametrize(
    ("case", "name", "args", "expected"),
    [
        (
            "video-without-audio", "silent.mp4",
            ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2", "-an"],
            {"transcription": "skipped", "analysis": "skipped", "hls": "succeeded"},
        ),
        (
            "half-second-clip", "blip.mp4",
            ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine", "-t", "0.5"],
            {"transcription": "succeeded", "hls": "succeeded"},
        ),
        (
            "awkward-name", "../../weekly meeting \u2013 会議 ü.mp4",
            ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine", "-t", "2"],
            {"transcription": "succeeded", "hls": "succeeded"},
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and "/" not in v and " " not in v else "",
)  # fmt: skip
def test_bad_input_through_the_pipeline_ends_in_a_clear_terminal_state(
    celery_worker_process: WorkerHandle, tmp_path: Path, case: str, name: str, args: list[str], expected: dict[str, str]
) -> None:
    clip = _clip(tmp_path / f"{case}.mp4", *args)
    with clip.open("rb") as fh:
        created = upload_create(file=File(fh, name=clip.name), original_name=name)

    upload = wait_until_finished(created.pk)

    for stage, status in expected.items():
        assert upload.stage_status(stage) == status, (stage, upload.stage(stage).error)
    for stage in ("transcription", "analysis", "hls"):
        if upload.stage_status(stage) == "skipped":
            assert upload.stage(stage).error  # a skip always says why
    assert upload.original_name == name.rsplit("/", 1)[-1]
    assert ".." not in str(upload.file.name)
    assert str(upload.file.name).isascii()
