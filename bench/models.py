"""Model comparison: tiny.en against multilingual base on the same ~60 s of English and Japanese
speech, through the stage's transcribe(), each run in its own process (so each peak RSS is its own).

    .venv/bin/python -m bench.models

English: the pipeline's SAMPLE_SPEECH read by espeak-ng, repeated. Japanese: a meeting passage read
by Open JTalk's "mei" voice (pyopenjtalk-plus, a dev dependency), repeated. Scores as in
tests/processing/test_languages.py: WER on lower-cased words without punctuation; CER after NFKC,
digits as kanji numerals, punctuation and spaces removed. Reports load time, wall, real-time factor
(wall / audio seconds), peak RSS and the score, side by side, and base against its targets on this
machine (RTF <= 0.30, RSS <= 450 MB). `base@0` is base with WHISPER_MALLOC_MMAP_THRESHOLD=0 (glibc's
default heap): faster, and more memory. tiny.en on Japanese is refused by the language check: that row
shows the refusal and what it cost. Always exits 0: a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import unicodedata
import wave
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# base@0: base with WHISPER_MALLOC_MMAP_THRESHOLD=0 (glibc's default heap), the speed/memory trade-off
MODELS = ("tiny.en", "base", "base@0")
TARGET_RTF, TARGET_RSS_MB = 0.30, 450
JAPANESE = (
    "本日の会議では、配送の遅れについて話し合います。北の倉庫への配送が三日遅れています。"
    "住民から苦情が寄せられています。来月までに運転手を二人増やすことを提案します。"
    "次に、新しい図書館の予算について説明します。工事の費用が予定より高くなりました。"
    "市民の意見を聞くために、来週説明会を開きます。"
)
KANJI_DIGITS = str.maketrans("0123456789", "〇一二三四五六七八九")


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def _chars(text: str) -> str:
    return re.sub(r"[\s、。,.!?「」]", "", unicodedata.normalize("NFKC", text).translate(KANJI_DIGITS))


def _variant(model: str, audio: str, reference: str, language: str, warmup: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import dataclasses

    import django

    django.setup()
    import jiwer

    from processing.transcription.configuration import options_from_settings, resolve_spec
    from processing.transcription.engine import get_model, transcribe
    from processing.transcription.language import NotEnglish

    name, _, threshold = model.partition("@")
    options = dataclasses.replace(options_from_settings(), model=name)
    if threshold:
        options = dataclasses.replace(options, mmap_threshold=int(threshold))
    started = time.perf_counter()
    get_model(resolve_spec(options), options)
    load = time.perf_counter() - started
    transcribe(warmup, options=options)
    started = time.perf_counter()
    result: dict[str, object] = {"model": model, "language": language, "load": load}
    try:
        transcript = transcribe(audio, options=options)
    except NotEnglish as exc:
        result.update(refused=str(exc)[:60], wall=time.perf_counter() - started, duration=_duration(audio))
    else:
        wall = time.perf_counter() - started
        text = transcript.text
        score = (
            jiwer.cer(_chars(reference), _chars(text))
            if language == "ja"
            else jiwer.wer(_words(reference), _words(text))
        )
        result.update(wall=wall, rtf=wall / transcript.duration, score=score, detected=transcript.language,
                      duration=transcript.duration)  # fmt: skip
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _duration(path: str) -> float:
    with wave.open(path, "rb") as handle:
        return handle.getnframes() / handle.getframerate()


def _english(work: str, seconds: float) -> tuple[str, str]:
    from processing.media.samples import SAMPLE_SPEECH, speech_wav

    once = os.path.join(work, "en-once.wav")
    speech_wav(once, SAMPLE_SPEECH)
    text = " ".join([SAMPLE_SPEECH] * max(1, round(seconds / _duration(once))))
    path = os.path.join(work, "en.wav")
    speech_wav(path, text)
    return path, text


def _japanese(work: str, seconds: float) -> tuple[str, str]:
    sys.path.insert(0, str(ROOT))
    from tests.speech.japanese import speak

    once = speak(JAPANESE, Path(work) / "ja-once.wav")
    text = "".join([JAPANESE] * max(1, round(seconds / _duration(str(once)))))
    return str(speak(text, Path(work) / "ja.wav")), text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--variant", nargs=5, metavar=("MODEL", "AUDIO", "REFERENCE", "LANGUAGE", "WARMUP"))
    args = parser.parse_args(argv)
    if args.variant:
        model, audio, reference, language, warmup = args.variant
        _variant(model, audio, Path(reference).read_text(), language, warmup)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-models-") as work:
        os.environ["DATABASE_URL"] = f"sqlite:///{work}/bench.sqlite3"
        clips = {"en": _english(work, args.seconds), "ja": _japanese(work, args.seconds)}
        warmup = os.path.join(work, "warmup.wav")
        subprocess.run(["espeak-ng", "-w", warmup, "Good morning."], check=True)
        rows: list[dict[str, Any]] = []
        for language, (audio, text) in clips.items():
            reference = os.path.join(work, f"{language}.txt")
            Path(reference).write_text(text)
            for model in MODELS:
                command = [sys.executable, "-m", "bench.models", "--variant", model, audio, reference, language, warmup]
                done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=os.environ.copy())
                lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
                rows.append(json.loads(lines[-1]) if lines else {"model": model, "language": language,
                                                                  "error": done.stderr[-300:]})  # fmt: skip
    _report(rows)
    return 0


def _report(rows: list[dict[str, Any]]) -> None:
    print(f"machine: {os.cpu_count()} cpus; faster-whisper int8 on CPU; transcribe() with the project's settings")
    print(f"{'audio':<14} {'model':<8} {'load s':>6} {'wall s':>7} {'RTF':>6} {'RSS MB':>7}  score")
    for row in rows:
        audio = f"{row['language']} {row.get('duration', 0):.0f} s"
        if "error" in row:
            print(f"{audio:<14} {row['model']:<8} error: {row['error']}")
            continue
        if "score" in row:
            metric = "CER" if row["language"] == "ja" else "WER"
            score = f"{metric} {row['score']:.3f} (detected {row['detected']})"
        else:
            score = f"refused after {row['wall']:.2f} s: {row['refused']}..."
        rtf = f"{row['rtf']:6.3f}" if "rtf" in row else f"{'-':>6}"
        timing = f"{row['load']:6.2f} {row['wall']:7.2f} {rtf} {row['rss_mb']:7.0f}"
        print(f"{audio:<14} {row['model']:<8} {timing}  {score}")
    for row in rows:
        if row["model"] == "base" and "rtf" in row:
            verdict = "PASS" if row["rtf"] <= TARGET_RTF and row["rss_mb"] <= TARGET_RSS_MB else "MISS"
            print(f"base, {row['language']}: RTF {row['rtf']:.3f} (target <= {TARGET_RTF}), "
                  f"RSS {row['rss_mb']:.0f} MB (target <= {TARGET_RSS_MB}) {verdict}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
