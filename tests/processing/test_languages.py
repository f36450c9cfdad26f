"""Languages with the real models on speech made offline: the multilingual base model detects and
transcribes Japanese (Open JTalk's voice), English and German/Spanish (espeak-ng); an English-only
model meeting Japanese ends the stage with a message instead of an English-sounding transcript.

Scores (jiwer): CER after NFKC, Arabic digits written as kanji numerals (Whisper writes 3日 for 三日)
and punctuation and spaces removed; WER on lower-cased words with punctuation removed."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import unicodedata
from pathlib import Path

import jiwer
import pytest
from django.core.management import CommandError, call_command

from processing.media.samples import SAMPLE_SPEECH, speech_wav
from processing.transcription.configuration import options_from_settings
from processing.transcription.engine import transcribe
from processing.transcription.language import NotEnglish
from tests.speech.japanese import MEETING_JA, speak
from uploads.models import StageStatus, UploadedFile

KANJI_DIGITS = str.maketrans("0123456789", "〇一二三四五六七八九")


def _cer_text(text: str) -> str:
    # NFKC first: it turns full-width ! and ? into the ASCII ones removed here.
    return re.sub(r"[\s、。,.!?「」]", "", unicodedata.normalize("NFKC", text).translate(KANJI_DIGITS))


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


@pytest.fixture(scope="module")
def japanese(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak(MEETING_JA, tmp_path_factory.mktemp("ja") / "meeting-ja.wav")


def _options(model: str) -> object:
    return dataclasses.replace(options_from_settings(), model=model)


def test_base_detects_and_transcribes_japanese(japanese: Path) -> None:
    result = transcribe(str(japanese), options=_options("base"))  # type: ignore[arg-type]
    cer = jiwer.cer(_cer_text(MEETING_JA), _cer_text(result.text))
    print(f"Japanese (Open JTalk, mei): language {result.language} p={result.language_probability:.2f} CER {cer:.3f}")
    assert (result.language, result.language_probability > 0.9) == ("ja", True)
    assert cer <= 0.15, result.text
    assert all(segment["text"].strip() for segment in result.segments)


@pytest.mark.parametrize("model", ["base", "tiny.en"])
def test_english_is_transcribed_by_both_models(tmp_path: Path, model: str) -> None:
    audio = tmp_path / "en.wav"
    speech_wav(str(audio))
    result = transcribe(str(audio), options=_options(model))  # type: ignore[arg-type]
    wer = jiwer.wer(_words(SAMPLE_SPEECH), _words(result.text))
    print(f"English (espeak-ng) with {model}: WER {wer:.3f}")
    assert result.language == "en"
    assert wer <= 0.10, result.text


@pytest.mark.parametrize(
    ("voice", "text"),
    [
        ("de", "Guten Morgen. Heute sprechen wir über die Verspätungen bei der Lieferung. "
               "Wir schlagen vor, zwei neue Fahrer einzustellen."),
        ("es", "Buenos días. Hoy hablamos de los retrasos en las entregas. "
               "Proponemos contratar a dos conductores más."),
    ],
)  # fmt: skip
def test_base_detects_german_and_spanish(tmp_path: Path, voice: str, text: str) -> None:
    audio = tmp_path / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(audio), text], check=True)
    result = transcribe(str(audio), options=_options("base"))  # type: ignore[arg-type]
    wer = jiwer.wer(_words(text), _words(result.text))  # reported, no target: espeak-ng's voices are robotic
    print(f"{voice} (espeak-ng): p={result.language_probability:.2f} WER {wer:.3f}")
    assert result.language == voice


def test_an_english_only_model_refuses_japanese_with_a_message(japanese: Path) -> None:
    with pytest.raises(
        NotEnglish, match=r"in Japanese \(ja, p=\d\.\d\d\) but WHISPER_MODEL=tiny\.en knows English only"
    ):
        transcribe(str(japanese), options=_options("tiny.en"))  # type: ignore[arg-type]


def _process_file_sync(path: Path) -> str:
    out = io.StringIO()
    try:
        call_command("process_file", str(path), "--sync", stdout=out)
    finally:
        from config.celery import app

        app.conf.task_always_eager = False
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_default_model_gives_a_japanese_transcript_and_a_japanese_analysis(japanese: Path) -> None:
    text = _process_file_sync(japanese)
    upload = UploadedFile.objects.get()
    assert (upload.language, upload.stage("transcription").status) == ("ja", StageStatus.SUCCEEDED)
    assert jiwer.cer(_cer_text(MEETING_JA), _cer_text(upload.transcript_text)) <= 0.15, upload.transcript_text
    assert upload.stage("analysis").status == StageStatus.SUCCEEDED
    assert upload.analysis_meta["language"] == "ja"
    assert upload.summary
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", upload.summary)
    assert "Transcript (ja):" in text


@pytest.mark.django_db(transaction=True)
def test_an_english_only_model_on_japanese_ends_the_stage_with_the_reason_not_a_transcript(
    japanese: Path, settings: object
) -> None:
    settings.WHISPER_MODEL = "tiny.en"  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="stage failed: Transcription"):
        _process_file_sync(japanese)
    upload = UploadedFile.objects.get()
    run = upload.stage("transcription")
    assert run.status == StageStatus.FAILED
    assert "the recording is in Japanese (ja" in run.error
    assert "set WHISPER_MODEL=base" in run.error
    assert (upload.transcript_text, upload.transcript_segments) == ("", [])
    assert upload.stage("analysis").status == StageStatus.SKIPPED
