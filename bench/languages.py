"""Language per window: WHISPER_WINDOW_LANGUAGE=first against =each, side by side on recordings that
switch language mid-way, and on one that does not (the control: `each` must cost it nothing).

    .venv/bin/python -m bench.languages [--window 60]

Recordings (tests/speech/mixed.py: Open JTalk for Japanese, espeak-ng for English, 1.5 s pauses):
  en>ja at a cut  ~50 s English, then ~50 s Japanese: the pause falls where the first window is cut
  ja>en at a cut  the same, Japanese first
  en>ja mid-window ~75 s English, then Japanese: the switch lies inside the second window
  ja only          ~100 s of Japanese, the control
Windows are --window seconds (WHISPER_WINDOW_SECONDS is 600 by default; 60 keeps the bench short and
the mechanism is the same). Each segment is scored against the part it lies in (by its midpoint):
WER for English, CER for Japanese, normalised as in tests/processing/test_languages.py. The model is
the default multilingual base, loaded once; `first` and `each` alternate on every recording. Always
exits 0: a measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EN_ONCE = (
    "Welcome to the weekly operations meeting. The main problem this week is that deliveries to the northern "
    "warehouse are late. We should hire two more drivers before the holiday season."
)


def _recordings(work: Path, english_seconds: float) -> dict[str, tuple[Path, list[Any]]]:
    from bench.models import JAPANESE
    from tests.speech.mixed import Part, mixed_recording

    def english(seconds: float) -> str:
        return " ".join([EN_ONCE] * max(1, round(seconds / 11.5)))

    def japanese(seconds: float) -> str:
        return "".join([JAPANESE] * max(1, round(seconds / 26.0)))

    layouts = {
        "en>ja at a cut": [Part("en", english(english_seconds)), Part("ja", japanese(english_seconds))],
        "ja>en at a cut": [Part("ja", japanese(english_seconds)), Part("en", english(english_seconds))],
        "en>ja mid-window": [Part("en", english(english_seconds * 1.5)), Part("ja", japanese(english_seconds))],
        "ja only": [Part("ja", japanese(english_seconds * 2))],
    }
    made = {}
    for index, (name, parts) in enumerate(layouts.items()):
        path = work / f"recording-{index}.wav"
        made[name] = (path, mixed_recording(parts, path))
    return made


def _score(parts: list[Any], segments: list[dict[str, Any]]) -> list[str]:
    import jiwer

    from bench.models import _chars, _words

    scores = []
    for part in parts:
        said = [s for s in segments if part.start - 1 <= (s["start"] + s["end"]) / 2 <= part.end + 1]
        text = " ".join(s["text"] for s in said)
        if part.language == "ja":
            scores.append(f"ja CER {jiwer.cer(_chars(part.text), _chars(text)):.2f}")
        else:
            scores.append(f"en WER {jiwer.wer(_words(part.text), _words(text)):.2f}")
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=60.0, help="WHISPER_WINDOW_SECONDS for the runs (60)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-languages-") as work:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        os.environ["DATABASE_URL"] = f"sqlite:///{work}/bench.sqlite3"
        import django

        django.setup()
        from processing.transcription.configuration import options_from_settings
        from processing.transcription.engine import transcribe

        recordings = _recordings(Path(work), args.window * 0.8)
        base = dataclasses.replace(options_from_settings(), window_seconds=args.window, language="auto")
        transcribe(str(next(iter(recordings.values()))[0]), options=base)  # warm-up: the model loads
        print(f"machine: {os.cpu_count()} cpus; multilingual base, int8; windows of {args.window:.0f} s")
        print(f"{'recording':<18} {'mode':<6} {'wall s':>6}  {'windows (language)':<26} scores per part")
        for index, (name, (path, parts)) in enumerate(recordings.items()):
            modes = ("first", "each") if index % 2 == 0 else ("each", "first")
            rows: dict[str, tuple[float, str, list[str]]] = {}
            for mode in modes:
                options = dataclasses.replace(base, window_language=mode)
                started = time.perf_counter()
                result = transcribe(str(path), options=options)
                wall = time.perf_counter() - started
                languages = [s.get("language", result.language) for s in result.segments]
                changes = [code for i, code in enumerate(languages) if not i or code != languages[i - 1]]
                rows[mode] = (wall, "/".join(changes) or "-", _score(parts, result.segments))
            for mode in ("first", "each"):
                wall, runs, scores = rows[mode]
                print(f"{name:<18} {mode:<6} {wall:6.1f}  {runs:<26} {', '.join(scores)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
