"""Speakers benchmark: the speakers stage against transcription on the same audio, side by side in
one run, on the generated multi-speaker set (tests/speech/speakers.py) and a held-out set made the
same way with other seeds (the threshold was chosen on the first), plus peak RSS on a short and a
30-minute recording, each in its own process.

    .venv/bin/python -m bench.speakers [--long-minutes 30] [--no-transcription]

Per file: DER (pyannote.metrics, 0.25 s collar), speakers found against present, the stage's wall
time and real-time factor (wall / audio seconds), and transcription's (processing.transcription.engine
.transcribe with the configured WHISPER_MODEL, CPU) on the same file. Targets: DER <= 15%, count
exact on >= 90% of files, speakers RTF <= 0.3x transcription's, peak RSS bounded by the window
(SPEAKERS_WINDOW_SECONDS), not by the length. Always exits 0: a measurement.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DER_TARGET, COUNT_TARGET, RTF_RATIO_TARGET = 0.15, 0.90, 0.30


def _setup() -> None:
    warnings.filterwarnings("ignore", message="'uem' was approximated")  # pyannote, on every file
    logging.disable(logging.INFO)  # the engines' per-file lines
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()


def _diarize_file(path: str) -> tuple[list[Any], float, float]:
    """The stage's own work on a file: windows, VAD, embeddings, clustering. (turns, wall, duration)"""
    from django.conf import settings

    from processing.speakers.diarize import Diarizer
    from processing.transcription.windows import audio_windows

    started = time.monotonic()
    diarizer = Diarizer(
        threshold=settings.SPEAKERS_THRESHOLD, min_speakers=settings.SPEAKERS_MIN, max_speakers=settings.SPEAKERS_MAX
    )
    duration = 0.0
    for window in audio_windows(path, settings.SPEAKERS_WINDOW_SECONDS):
        diarizer.feed(window.offset, window.samples)
        duration = window.offset + window.duration
    turns = diarizer.finish()
    return turns, time.monotonic() - started, duration


def _held_out() -> list[Any]:
    from tests.speech.speakers import Meeting, _meeting, _turn

    rng = random.Random(99)
    meetings = [
        _meeting("h_two_kate_tom", ["kate", "tom"], 8, 101),
        _meeting("h_two_ann_ben", ["ann", "ben"], 10, 102),
        _meeting("h_three", ["ann", "kate", "ben"], 10, 103),
        _meeting("h_three_b", ["tom", "ann", "kate"], 12, 104),
        _meeting("h_four", ["kate", "ben", "tom", "ann"], 14, 105),
        Meeting("h_one_ann", tuple(_turn(rng, "ann", 3, 0.6) for _ in range(4))),
    ]
    return meetings


def run_set(transcription: bool) -> list[dict[str, Any]]:
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    from processing.media.dialogue import dialogue_wav
    from processing.speakers.encoder import get_encoder
    from processing.transcription.engine import transcribe
    from tests.speech.speakers import meeting_set

    get_encoder()  # loaded once, as a warm worker has it
    if transcription:
        with tempfile.TemporaryDirectory() as warm:
            from processing.media.dialogue import Turn

            dialogue_wav([Turn("ben", "Warming up the model.")], f"{warm}/w.wav")
            transcribe(f"{warm}/w.wav")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-speakers-") as work:
        for group, meetings in (("set", meeting_set()), ("held-out", _held_out())):
            for meeting in meetings:
                path = f"{work}/{meeting.name}.wav"
                truth = dialogue_wav(meeting.turns, path)
                turns, wall, duration = _diarize_file(path)
                reference, hypothesis = Annotation(), Annotation()
                for spoken in truth:
                    reference[Segment(spoken.start, spoken.end)] = spoken.voice
                for turn in turns:
                    hypothesis[Segment(turn.start, turn.end)] = f"S{turn.speaker}"
                metric = DiarizationErrorRate(collar=0.25)
                der = metric(reference, hypothesis, detailed=True)
                t_wall = None
                if transcription:
                    started = time.monotonic()
                    transcribe(path)
                    t_wall = time.monotonic() - started
                rows.append({
                    "group": group, "name": meeting.name, "duration": duration, "present": meeting.speakers,
                    "found": len({t.speaker for t in turns}), "der": der["diarization error rate"],
                    "der_total": der["total"], "der_errors": der["confusion"] + der["missed detection"]
                    + der["false alarm"], "wall": wall, "transcription_wall": t_wall,
                })  # fmt: skip
    return rows


def _high_water_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: that survives exec, so a child started by a
    parent that held the generated audio would start at the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _long_child(path: str) -> None:
    """In its own process: the stage's work on `path`; prints one JSON line. The model is loaded first,
    so the peak beyond it is what the recording's length costs."""
    _setup()
    from processing.speakers.encoder import get_encoder

    get_encoder()
    loaded = _high_water_mb()
    found, wall, duration = _diarize_file(path)
    peak = _high_water_mb()
    print(json.dumps({"duration": duration, "wall": wall, "speakers": len({t.speaker for t in found}),
                      "loaded_mb": loaded, "peak_mb": peak}))  # fmt: skip


def _long(minutes: float) -> dict[str, Any]:
    """A recording of about `minutes` by four voices, made here, diarized in a child process."""
    from processing.media.dialogue import Turn, dialogue_wav
    from tests.speech.speakers import SENTENCES

    voices = ("ben", "ann", "kate", "tom")
    rng = random.Random(5)
    turns: list[Turn] = []
    with tempfile.TemporaryDirectory(prefix="bench-speakers-long-") as work:
        path = f"{work}/long.wav"
        while sum(len(t.text) for t in turns) < minutes * 60 * 15.5:  # ~15.5 characters a second
            turns.append(Turn(voices[len(turns) % 4], " ".join(rng.sample(SENTENCES, rng.choice((1, 2, 3)))), gap=0.6))
        dialogue_wav(turns, path)
        out = subprocess.run(
            [sys.executable, "-m", "bench.speakers", "--child-long", path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.speakers")
    parser.add_argument("--long-minutes", type=float, default=30.0)
    parser.add_argument("--no-transcription", action="store_true", help="skip transcription's side (faster)")
    parser.add_argument("--only-long", action="store_true", help="only the peak RSS part")
    parser.add_argument("--child-long", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_long is not None:
        _long_child(args.child_long)
        return 0
    _setup()
    from django.conf import settings

    print(f"speakers: threshold {settings.SPEAKERS_THRESHOLD}, window {settings.SPEAKERS_WINDOW_SECONDS:.0f} s; "
          f"transcription: WHISPER_MODEL={settings.WHISPER_MODEL}; {os.cpu_count()} CPUs")  # fmt: skip
    rows = [] if args.only_long else run_set(not args.no_transcription)
    print(f"\n{'group':<9} {'file':<20} {'audio s':>8} {'speakers':>9} {'DER':>7} {'spk wall s':>10} "
          f"{'spk RTF':>8} {'tr wall s':>9} {'tr RTF':>7} {'ratio':>6}")  # fmt: skip
    for r in rows:
        rtf = r["wall"] / r["duration"]
        tr = r["transcription_wall"]
        tr_rtf = tr / r["duration"] if tr else None
        print(
            f"{r['group']:<9} {r['name']:<20} {r['duration']:8.1f} {r['found']:>4}/{r['present']:<4} {r['der']:7.3f} "
            f"{r['wall']:10.2f} {rtf:8.4f} "
            + (f"{tr:9.2f} {tr_rtf:7.4f} {rtf / tr_rtf:6.2f}" if tr_rtf else f"{'-':>9} {'-':>7} {'-':>6}")
        )
    for group in ("set", "held-out"):
        part = [r for r in rows if r["group"] == group]
        if not part:
            continue
        der = sum(r["der_errors"] for r in part) / sum(r["der_total"] for r in part)
        exact = sum(r["found"] == r["present"] for r in part) / len(part)
        count_error = sum(abs(r["found"] - r["present"]) for r in part) / len(part)
        wall, audio = sum(r["wall"] for r in part), sum(r["duration"] for r in part)
        der_ok, count_ok = "PASS" if der <= DER_TARGET else "MISS", "PASS" if exact >= COUNT_TARGET else "MISS"
        line = (f"{group}: DER {der:.1%} (target <= {DER_TARGET:.0%}: {der_ok}), "
                f"count exact {exact:.0%} (target >= {COUNT_TARGET:.0%}: {count_ok}), "
                f"mean count error {count_error:.2f}, speakers RTF {wall / audio:.4f}")  # fmt: skip
        if all(r["transcription_wall"] for r in part):
            tr = sum(r["transcription_wall"] for r in part) / audio
            ratio = (wall / audio) / tr
            line += (f", transcription RTF {tr:.4f}, ratio {ratio:.2f} "
                     f"(target <= {RTF_RATIO_TARGET}: {'PASS' if ratio <= RTF_RATIO_TARGET else 'MISS'})")  # fmt: skip
        print(line)
    if args.long_minutes > 0:
        print("\npeak RSS, each in its own process (the stage only, after the model is loaded):")
        for minutes in (10.0, args.long_minutes):
            r = _long(minutes)
            print(f"  {r['duration'] / 60:5.1f} min: wall {r['wall']:.1f} s (RTF {r['wall'] / r['duration']:.4f}), "
                  f"{r['speakers']} speakers (4 voices), RSS {r['loaded_mb']:.0f} MB with the model loaded, "
                  f"peak {r['peak_mb']:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
