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
from typing import Any

import jiwer
import pytest
from django.core.management import CommandError, call_command

from processing.media.samples import SAMPLE_SPEECH, speech_wav
from processing.transcription.configuration import options_from_settings
from processing.transcription.engine import transcribe
from processing.transcription.language import NotEnglish
from tests.speech.japanese import MEETING_JA, speak
from tests.speech.mixed import Part, mixed_recording
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


JAPANESE_RE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ENGLISH_PART = (
    "Welcome to the weekly operations meeting. The main problem this week is that deliveries to the northern "
    "warehouse are late. We should hire two more drivers before the holiday season."
)


@pytest.fixture(scope="module")
def switching(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Part]]:
    """~11 s of English, a 1.5 s pause, ~15 s of Japanese: windows of 16 s are cut in the last 8 s of
    the window's span, at its quietest moment: the pause."""
    path = tmp_path_factory.mktemp("mixed") / "en-ja.wav"
    return path, mixed_recording([Part("en", ENGLISH_PART), Part("ja", MEETING_JA)], path)


def _within(segments: list[dict[str, Any]], part: Part) -> str:
    return " ".join(s["text"] for s in segments if part.start <= (s["start"] + s["end"]) / 2 <= part.end)


def test_each_window_is_transcribed_in_its_own_language(switching: tuple[Path, list[Part]]) -> None:
    path, (english, japanese) = switching
    options = dataclasses.replace(_options("base"), window_seconds=16.0, window_language="each")  # type: ignore[type-var]
    result = transcribe(str(path), options=options)  # type: ignore[arg-type]
    wer = jiwer.wer(_words(english.text), _words(_within(result.segments, english)))
    cer = jiwer.cer(_cer_text(japanese.text), _cer_text(_within(result.segments, japanese)))
    print(f"en>ja, each window: WER {wer:.3f} on the English part, CER {cer:.3f} on the Japanese part")
    assert wer <= 0.25, result.segments
    assert cer <= 0.15, result.segments
    # The recording is named by the language spoken longest; segments in the other one say theirs.
    assert result.language == "ja"
    marked = {s.get("language") for s in result.segments if s["start"] < english.end}
    assert marked == {"en"}
    assert all("language" not in s for s in result.segments if s["start"] > japanese.start)


def test_first_window_language_keeps_one_language_for_every_window(switching: tuple[Path, list[Part]]) -> None:
    """The old behaviour, still selectable: the Japanese half is forced into English (what `each` fixes)."""
    path, (_, japanese) = switching
    options = dataclasses.replace(_options("base"), window_seconds=16.0, window_language="first")  # type: ignore[type-var]
    result = transcribe(str(path), options=options)  # type: ignore[arg-type]
    assert result.language == "en"
    assert all("language" not in s for s in result.segments)
    # Forced into English: the Japanese half reads as Latin script. Not "no Japanese character at all":
    # base forced to English once kept a word of kanji ("the 10-minute航空", CI of stop 25).
    forced = _within(result.segments, japanese)
    letters = [ch for ch in forced if ch.isalpha()]
    assert letters
    assert sum(ch.isascii() for ch in letters) >= 0.9 * len(letters), forced


def test_an_english_only_model_checks_every_window(switching: tuple[Path, list[Part]]) -> None:
    """tiny.en on the English-then-Japanese recording: the first window passes the check, the second
    (Japanese) ends the stage with the reason; with `first` only the first window would be checked."""
    path, _ = switching
    options = dataclasses.replace(_options("tiny.en"), window_seconds=16.0, window_language="each")  # type: ignore[type-var]
    with pytest.raises(NotEnglish, match=r"in Japanese \(ja, p=\d\.\d\d\)"):
        transcribe(str(path), options=options)  # type: ignore[arg-type]


def test_translation_to_english_is_a_second_set_of_segments(japanese: Path, tmp_path: Path) -> None:
    options = dataclasses.replace(_options("base"), translate=True)  # type: ignore[type-var]
    progress: list[float] = []
    result = transcribe(str(japanese), options=options, on_progress=progress.append)  # type: ignore[arg-type]
    # Progress covers both passes once: it never goes back, and the translation pass ends it.
    assert progress == sorted(progress)
    assert progress[-1] == pytest.approx(result.duration, abs=0.5)
    # The transcription pass counts for the first half: each of its segments reported within it.
    assert sum(1 for p in progress if p <= result.duration / 2 + 0.01) >= len(result.segments)
    assert result.language == "ja"
    assert JAPANESE_RE.search(result.text)
    text = " ".join(s["text"] for s in result.translation)
    print(f"Whisper base's translation of the Japanese passage: {text!r}")
    # Only Latin-script segments reach the track: base's translate task sometimes writes Japanese
    # instead, and those segments are left out. What the English says is not asserted: base's translations of
    # this passage are fluent but mostly wrong, and differ between runs (the temperature fallback samples).
    # The rule is the engine's _latin_script: at least 80% of a segment's letters ASCII (an English
    # sentence with one kanji word left in passes; a Japanese echo does not).
    for segment in result.translation:
        letters = [ch for ch in segment["text"] if ch.isalpha()]
        assert letters
        assert sum(ch.isascii() for ch in letters) >= 0.8 * len(letters), segment
    assert all(0 <= s["start"] < s["end"] <= result.duration + 0.5 for s in result.translation)
    assert all("words" not in s for s in result.translation)  # no word times for words nobody said

    english = tmp_path / "en.wav"
    speech_wav(str(english))
    result = transcribe(str(english), options=options)  # type: ignore[arg-type]
    assert result.language == "en"
    assert result.segments
    assert result.translation == []  # English already: no second track


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


def test_a_translation_that_echoes_the_source_language_is_left_out() -> None:
    from processing.transcription.engine import _latin_script

    assert _latin_script("Today we discuss the delivery delays.")
    assert _latin_script("In the 日 meeting we discuss the delivery delays.")  # one stray character
    assert not _latin_script("In the日開技では配送のおくれについて話し合います")  # what base wrote once
    assert not _latin_script("...")


def test_a_translated_cue_stays_inside_its_window_and_is_never_empty() -> None:
    from processing.transcription.engine import _within

    assert _within({"start": 58.2, "end": 61.7, "text": "Late."}, 60.0) == {"start": 58.2, "end": 60.0, "text": "Late."}
    assert _within({"start": -0.3, "end": 2.0, "text": "Hi."}, 60.0)["start"] == 0.0
    past = _within({"start": 60.5, "end": 62.0, "text": "Past the end."}, 60.0)
    assert past["start"] >= past["end"]  # _translated drops it
