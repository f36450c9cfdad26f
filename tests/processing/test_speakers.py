"""The speakers stage: the real voice encoder on the generated multi-speaker set (DER and speaker count
under the targets), splitting at a change of speaker, one voice, silence, and names that every view
follows. On a real worker (cancel, SIGKILL): test_speakers_worker.py."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from processing.media.dialogue import SpokenTurn, Turn, dialogue_wav
from processing.speakers import encoder
from processing.speakers.diarize import Diarizer, label_segments
from processing.speakers.diarize import Turn as SpeakerTurn
from processing.speakers.service import speaker_rename, speakers_run, speakers_save
from processing.transcription.windows import audio_windows
from tests.speech.speakers import SENTENCES, meeting_set
from tests.stage_state import set_stage, transcribed_upload
from uploads.models import Speaker, StageStatus, UploadedFile

DER_TARGET = 0.15
COUNT_TARGET = 0.9


def _samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as fh:
        return np.frombuffer(fh.readframes(fh.getnframes()), dtype=np.int16).astype(np.float32) / 32768


def _diarize(path: Path, window_seconds: float = 60.0) -> list[SpeakerTurn]:
    """As the stage does it: the audio streamed in windows (60 s here, so that most files of the set
    span several and clustering is across windows), the turns from all of them."""
    diarizer = Diarizer(threshold=0.28)
    for window in audio_windows(str(path), window_seconds):
        diarizer.feed(window.offset, window.samples)
    return diarizer.finish()


def test_the_mel_frames_are_librosas() -> None:
    import librosa

    samples = (np.random.default_rng(3).standard_normal(16000 * 3) * 0.1).astype(np.float32)
    reference = librosa.feature.melspectrogram(y=samples, sr=16000, n_fft=400, hop_length=160, n_mels=40).T
    ours = encoder.mel_frames(samples)
    assert ours.shape == reference.shape
    assert np.max(np.abs(ours - reference)) <= 1e-5 * np.max(reference)


def test_der_and_speaker_count_on_the_generated_set(tmp_path: Path) -> None:
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.25)
    exact, report = 0, []
    meetings = meeting_set()
    for meeting in meetings:
        path = tmp_path / f"{meeting.name}.wav"
        truth = dialogue_wav(meeting.turns, str(path))
        turns = _diarize(path)
        reference, hypothesis = Annotation(), Annotation()
        for spoken in truth:
            reference[Segment(spoken.start, spoken.end)] = spoken.voice
        for turn in turns:
            hypothesis[Segment(turn.start, turn.end)] = f"S{turn.speaker}"
        der = metric(reference, hypothesis)
        found = len({t.speaker for t in turns})
        exact += found == meeting.speakers
        report.append(f"{meeting.name}: DER {der:.3f}, {found} of {meeting.speakers} speakers")
    assert abs(metric) <= DER_TARGET, report
    assert exact >= COUNT_TARGET * len(meetings), report


def test_one_voice_gives_one_speaker(tmp_path: Path) -> None:
    path = tmp_path / "one.wav"
    dialogue_wav([Turn("tom", " ".join(SENTENCES[k : k + 3]), gap=0.8) for k in range(0, 12, 3)], str(path))
    turns = _diarize(path)
    assert turns
    assert {t.speaker for t in turns} == {0}


def test_silence_gives_no_speakers(tmp_path: Path) -> None:
    diarizer = Diarizer(threshold=0.28)
    diarizer.feed(0.0, np.zeros(16000 * 20, dtype=np.float32))
    diarizer.feed(20.0, (np.random.default_rng(1).standard_normal(16000 * 5) * 1e-4).astype(np.float32))
    assert diarizer.finish() == []
    assert diarizer.centroids().shape == (0, encoder.EMBEDDING_SIZE)


def _words(text: str, start: float, step: float) -> list[dict[str, Any]]:
    return [
        {"word": f" {w}", "start": round(start + i * step, 2), "end": round(start + (i + 1) * step - 0.05, 2)}
        for i, w in enumerate(text.split())
    ]


def test_a_segment_across_a_change_of_speaker_is_split_at_the_word() -> None:
    words = _words("we are late again", 0.0, 0.5) + _words("yes we should hire drivers", 2.0, 0.5)
    segment = {"start": 0.0, "end": 4.45, "text": "we are late again yes we should hire drivers", "words": words}
    turns = [SpeakerTurn(0.0, 1.95, 0), SpeakerTurn(2.05, 4.5, 1)]
    out = label_segments([segment], turns, lambda k: f"S{k + 1}")
    assert [(s["speaker"], s["text"], s["start"], s["end"]) for s in out] == [
        ("S1", "we are late again", 0.0, 1.95),
        ("S2", "yes we should hire drivers", 2.0, 4.45),
    ]
    assert {w["speaker"] for w in out[1]["words"]} == {"S2"}
    # A single word that flickers to the other voice stays with its neighbours.
    flicker = [SpeakerTurn(0.0, 1.0, 0), SpeakerTurn(1.0, 1.4, 1), SpeakerTurn(1.4, 4.5, 0)]
    assert [s["speaker"] for s in label_segments([segment], flicker, lambda k: f"S{k + 1}")] == ["S1"]


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SpokenTurn]]:
    path = tmp_path_factory.mktemp("speakers") / "dialogue.wav"
    turns = [
        Turn("ben", " ".join(SENTENCES[0:2])),
        Turn("ann", " ".join(SENTENCES[2:4]), gap=0.8),
        Turn("ben", SENTENCES[4], gap=0.8),
        Turn("ann", " ".join(SENTENCES[5:7]), gap=0.8),
    ]
    return path, dialogue_wav(turns, str(path))


@pytest.mark.django_db
def test_the_service_labels_every_segment_and_counts_talk_time(
    dialogue: tuple[Path, list[SpokenTurn]], django_capture_on_commit_callbacks: Any
) -> None:
    path, spoken = dialogue
    upload = transcribed_upload(path, spoken, django_capture_on_commit_callbacks)
    result = speakers_run(upload)
    upload.refresh_from_db()
    assert result["speakers"] == 2
    assert [s["speaker"] for s in upload.transcript_segments] == ["S1", "S2", "S1", "S2"]
    speakers = list(upload.speakers.all())
    assert [s.display_name for s in speakers] == ["Speaker 1", "Speaker 2"]
    for speaker, voice in zip(speakers, ("ben", "ann"), strict=True):
        said = sum(t.end - t.start for t in spoken if t.voice == voice)
        assert abs(speaker.talk_seconds - said) < 0.15 * said
        assert speaker.turns == 2


@pytest.mark.django_db
def test_a_silent_recording_has_no_speakers_and_the_stage_says_so(
    tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(np.zeros(16000 * 10, dtype=np.int16).tobytes())
    upload = transcribed_upload(path, [], django_capture_on_commit_callbacks)
    result = speakers_run(upload)
    assert result["speakers"] == 0
    assert result["note"] == "no speech found: no speakers"
    assert not Speaker.objects.filter(upload=upload).exists()


@pytest.mark.django_db
def test_a_rerun_keeps_the_names_of_voices_that_still_match(
    dialogue: tuple[Path, list[SpokenTurn]], django_capture_on_commit_callbacks: Any
) -> None:
    path, spoken = dialogue
    upload = transcribed_upload(path, spoken, django_capture_on_commit_callbacks)
    speakers_run(upload)
    speaker_rename(upload, "S2", "  Tanaka ")
    # The same voices found in the other order: the name follows the voice, not the label.
    diarizer = Diarizer(threshold=0.28)
    diarizer.feed(0.0, _samples(path))
    turns = diarizer.finish()
    swapped = [SpeakerTurn(t.start, t.end, 1 - t.speaker) for t in turns]
    speakers_save(upload, swapped, diarizer.centroids()[::-1])
    assert {s.label: s.name for s in upload.speakers.all()} == {"S1": "Tanaka", "S2": ""}


def _named_upload(django_capture_on_commit_callbacks: Any, owner: Any) -> UploadedFile:
    segments = [
        {"start": 0.0, "end": 2.0, "text": "The deliveries are late.", "speaker": "S1"},
        {"start": 2.5, "end": 4.0, "text": "We should hire two drivers.", "speaker": "S2"},
    ]
    with django_capture_on_commit_callbacks(execute=False):
        upload = UploadedFile.objects.create(
            original_name="meeting.mp4", size=1, media_kind="video", file="uploads/x.mp4", uploader=owner,
            transcript_segments=segments, transcript_text="x", hls_master="hls/1/abc/master.m3u8",
            issues=[{"text": "The deliveries are late.", "start": 0.0, "end": 2.0, "speaker": "S1"}],
            solutions=[{"text": "We should hire two drivers.", "start": 2.5, "end": 4.0, "speaker": "S2"}],
        )  # fmt: skip
    upload.hls_master = f"hls/{upload.pk}/abc/master.m3u8"
    upload.save(update_fields=["hls_master"])
    for stage in ("transcription", "speakers", "analysis", "hls"):
        set_stage(upload, stage, status=StageStatus.SUCCEEDED)
    for index in (0, 1):
        Speaker.objects.create(upload=upload, index=index, label=f"S{index + 1}", talk_seconds=2.0 - index, turns=1)
    return upload


@pytest.mark.django_db
def test_a_rename_reaches_the_page_the_exports_the_published_subtitles_and_the_analysis(
    django_user_model: Any, django_capture_on_commit_callbacks: Any
) -> None:
    owner = django_user_model.objects.create_user("owner", password="pw")
    upload = _named_upload(django_capture_on_commit_callbacks, owner)
    published = f"hls/{upload.pk}/abc/subs/subtitles.vtt"
    default_storage.save(published, ContentFile(b"WEBVTT\n\n"))
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("upload_detail", args=[upload.pk])).content.decode()
    assert "Speaker 2" in page
    assert "Tanaka" not in page

    response = client.post(reverse("speaker_rename", args=[upload.pk, "S2"]), {"name": "Tanaka"})
    assert response.status_code == 302

    page = client.get(reverse("upload_detail", args=[upload.pk])).content.decode()
    analysis = page[page.index('id="analysis"') :]
    solutions = analysis[analysis.index("Proposed solutions") :]
    assert "Tanaka</span> <span>We should hire two drivers." in solutions  # who proposed it
    assert "Speaker 1</span> <span>The deliveries are late." in analysis
    assert '<option value="S2">Tanaka</option>' in page  # the filter
    vtt = client.get(reverse("transcript_download", args=[upload.pk, "vtt"])).content.decode()
    assert "<v Tanaka>We should hire two drivers." in vtt
    assert "<v Speaker 1>The deliveries are late." in vtt
    srt = client.get(reverse("transcript_download", args=[upload.pk, "srt"])).content.decode()
    assert "Tanaka: We should hire two drivers." in srt
    txt = client.get(reverse("transcript_download", args=[upload.pk, "txt"])).content.decode()
    assert txt == "Speaker 1: The deliveries are late.\nTanaka: We should hire two drivers.\n"
    with default_storage.open(published) as fh:
        assert "<v Tanaka>We should hire two drivers." in fh.read().decode()
    default_storage.delete(published)


@pytest.mark.django_db
def test_another_users_speakers_cannot_be_renamed_or_downloaded(
    django_user_model: Any, django_capture_on_commit_callbacks: Any
) -> None:
    owner = django_user_model.objects.create_user("owner", password="pw")
    other = django_user_model.objects.create_user("other", password="pw")
    upload = _named_upload(django_capture_on_commit_callbacks, owner)
    client = Client()
    client.force_login(other)
    assert client.post(reverse("speaker_rename", args=[upload.pk, "S1"]), {"name": "Mallory"}).status_code == 404
    assert client.get(reverse("transcript_download", args=[upload.pk, "vtt"])).status_code == 404
    assert Speaker.objects.get(upload=upload, label="S1").name == ""
    client.force_login(owner)
    assert client.post(reverse("speaker_rename", args=[upload.pk, "S9"]), {"name": "Nobody"}).status_code == 404
