"""Transcription benchmark: the pipeline's transcription stage against a raw faster-whisper call with
the same settings, side by side on one generated speech file, each variant in its own process (so
each peak RSS is its own).

    .venv/bin/python -m bench.transcription [--seconds 60] [--repeat 1] [--long]
    .venv/bin/python -m bench.transcription --models   # the model comparison (bench/models.py)

(a) `processing.transcription.engine.transcribe(path)`: what the stage calls (configuration check,
    per-process model cache, streamed segments, word timestamps, progress callback).
(b) `WhisperModel(same model, cpu, int8).transcribe(same options)`, its segments consumed in a loop.

Both run on the CPU with the project's other WHISPER_* settings. Each process loads the model (timed
apart) and transcribes a short clip once to warm up before it is measured. Prints wall, real-time
factor (wall / audio seconds) and peak RSS per variant, and a/b against its target (<= 1.10). With
--long, a 30-minute file through both: (a) transcribes it in windows of WHISPER_WINDOW_SECONDS (600 s by
default), (b) in one call, so their peak RSS shows what the windows save.
openai-whisper is compared only where real .pt weights exist locally: nothing is downloaded. Always
exits 0: a measurement.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_A_OVER_B = 1.10  # the stage's bookkeeping costs at most 10% over the bare library call
LONG_SECONDS = 1800
LABELS = {
    "a": "(a) pipeline transcribe()",
    "b": "(b) raw faster-whisper",
    "c": "(c) openai-whisper transcribe()",
}
Result = dict[str, Any]


# --- inside a variant's own process ----------------------------------------------------------------


def _setup_django() -> None:
    # The parent sets DJANGO_SETTINGS_MODULE and a throwaway SQLite DATABASE_URL: transcribe() needs no DB.
    import django

    django.setup()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _pipeline(audio: str, warmup: str, repeat: int) -> Result:
    from django.conf import settings

    from processing.transcription.engine import get_model, resolve_spec, transcribe

    spec = resolve_spec()
    started = time.perf_counter()
    get_model(spec)
    load = time.perf_counter() - started
    transcribe(warmup)
    walls, result = [], None
    for _ in range(repeat):
        seen: list[float] = []
        started = time.perf_counter()
        result = transcribe(audio, on_progress=seen.append)
        walls.append(time.perf_counter() - started)
    assert result is not None
    return {"load": load, "walls": walls, "segments": len(result.segments), "duration": result.duration,
            "words": len(result.text.split()), "model": spec.model, "device": spec.device,
            "compute_type": spec.compute_type, "beam_size": settings.WHISPER_BEAM_SIZE,
            "language": settings.WHISPER_LANGUAGE, "vad": settings.WHISPER_VAD,
            "word_timestamps": settings.WHISPER_WORD_TIMESTAMPS,
            "window": settings.WHISPER_WINDOW_SECONDS}  # fmt: skip


def _raw(audio: str, warmup: str, repeat: int) -> Result:
    from faster_whisper import WhisperModel

    from processing.transcription.engine import options_from_settings, resolve_spec

    settings = options_from_settings()
    spec = resolve_spec(settings)  # the same model folder, device and compute type as (a)
    started = time.perf_counter()
    model = WhisperModel(spec.model, device=spec.device, compute_type=spec.compute_type)
    load = time.perf_counter() - started
    options = {"beam_size": settings.beam_size, "language": settings.language_code,
               "vad_filter": settings.vad, "word_timestamps": settings.word_timestamps}  # fmt: skip
    segments, _ = model.transcribe(warmup, **options)
    list(segments)
    walls, count, duration, words = [], 0, 0.0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        segments, info = model.transcribe(audio, **options)
        count, words = 0, 0
        for segment in segments:
            count, words = count + 1, words + len(segment.text.split())
        walls.append(time.perf_counter() - started)
        duration = info.duration
    return {"load": load, "walls": walls, "segments": count, "duration": duration, "words": words}


def _variant_main(variant: str, audio: str, warmup: str, repeat: int) -> None:
    _setup_django()
    run = _raw if variant == "b" else _pipeline  # (c) is (a) with TRANSCRIPTION_ENGINE=openai-whisper
    result = run(audio, warmup, repeat)
    result["rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


# --- the parent: media, processes, report ----------------------------------------------------------


def _speech(path: str, seconds: float, work: str) -> None:
    """SAMPLE_SPEECH repeated by espeak-ng as one wav, cut to exactly `seconds`."""
    from processing.media.samples import SAMPLE_SPEECH, speech_wav

    once = os.path.join(work, "once.wav")
    speech_wav(once, SAMPLE_SPEECH)
    repeats = int(seconds // _duration(once)) + 1
    long = os.path.join(work, "repeated.wav")
    speech_wav(long, " ".join([SAMPLE_SPEECH] * repeats))
    with wave.open(long, "rb") as source, wave.open(path, "wb") as target:
        target.setparams(source.getparams())
        target.writeframes(source.readframes(int(seconds * source.getframerate())))
    os.remove(long)


def _duration(path: str) -> float:
    with wave.open(path, "rb") as handle:
        return handle.getnframes() / handle.getframerate()


def _environment(work: str, **overrides: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{work}/bench.sqlite3",
        "TRANSCRIPTION_ENGINE": "faster-whisper",
        "WHISPER_DEVICE": "cpu",  # the raw call is the CPU/int8 one: (a) must run the same
        "WHISPER_COMPUTE_TYPE": "default",
        **overrides,
    }


def _run(variant: str, audio: str, warmup: str, repeat: int, env: dict[str, str]) -> Result:
    command = [sys.executable, "-m", "bench.transcription", "--variant", variant, "--audio", audio,
               "--warmup", warmup, "--repeat", str(repeat)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"{LABELS[variant]} failed:\n{done.stderr[-3000:]}")
        return {}
    result: Result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = statistics.median(result["walls"])
    return result


def _row(label: str, result: Result) -> str:
    rtf = result["wall"] / result["duration"]
    return (f"{label:<34} {result['load']:7.2f} {result['wall']:8.2f} {rtf:7.3f} {result['segments']:9d} "
            f"{result['words']:7d} {result['rss_mb']:10.0f}")  # fmt: skip


HEADER = f"{'variant':<34} {'load s':>7} {'wall s':>8} {'RTF':>7} {'segments':>9} {'words':>7} {'peak RSS MB':>10}"


def _facts(a: Result) -> None:
    import ctranslate2
    import faster_whisper

    print(f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), Python "
          f"{platform.python_version()}, faster-whisper {faster_whisper.__version__}, ctranslate2 "
          f"{ctranslate2.__version__}")  # fmt: skip
    print(f"model: {a['model']} on {a['device']}, compute type {a['compute_type']}; beam size {a['beam_size']}, "
          f"language {a['language']}, VAD {a['vad']}, word timestamps {a['word_timestamps']}, "
          f"(a) window {a['window']:g} s")  # fmt: skip


def _openai_weights() -> list[str]:
    roots = [os.environ.get("WHISPER_DOWNLOAD_ROOT", str(ROOT / "var" / "whisper")), "~/.cache/whisper"]
    return sorted(p for root in roots for p in glob.glob(os.path.join(os.path.expanduser(root), "*.pt")))


def _compare(args: argparse.Namespace, work: str) -> None:
    audio, warmup = os.path.join(work, "speech.wav"), os.path.join(work, "warmup.wav")
    _speech(audio, args.seconds, work)
    _speech(warmup, 10, work)
    env = _environment(work)
    a = _run("a", audio, warmup, args.repeat, env)
    b = _run("b", audio, warmup, args.repeat, env)
    if not a or not b:
        return
    _facts(a)
    print(f"audio: {a['duration']:.1f} s of espeak-ng speech (SAMPLE_SPEECH repeated); warm-up on 10 s; "
          f"median of {args.repeat} run(s) per variant, each variant in its own process")  # fmt: skip
    print(HEADER)
    print(_row(LABELS["a"], a))
    print(_row(LABELS["b"], b))
    ratio = a["wall"] / b["wall"]
    verdict = "PASS" if ratio <= TARGET_A_OVER_B else "MISS"
    print(f"a/b wall: {ratio:.3f} (target <= {TARGET_A_OVER_B:.2f}) {verdict}")
    _compare_openai(audio, warmup, args.repeat, work, b)
    if args.long:
        _long(args, work, a)


def _compare_openai(audio: str, warmup: str, repeat: int, work: str, b: Result) -> None:
    weights = _openai_weights()
    if not weights:
        print("openai-whisper: no local weights on this machine (no network to fetch them); not compared")
        return
    env = _environment(work, TRANSCRIPTION_ENGINE="openai-whisper", WHISPER_MODEL=weights[0])
    c = _run("c", audio, warmup, repeat, env)
    if c:
        print(_row(f"{LABELS['c']} {os.path.basename(weights[0])}", c))
        print(f"c/b wall: {c['wall'] / b['wall']:.2f} (openai-whisper {weights[0]} against faster-whisper's model)")


def _long(args: argparse.Namespace, work: str, short: Result) -> None:
    audio, warmup = os.path.join(work, "long.wav"), os.path.join(work, "warmup.wav")
    _speech(audio, LONG_SECONDS, work)
    env = _environment(work)
    a = _run("a", audio, warmup, 1, env)
    b = _run("b", audio, warmup, 1, env)
    if not a or not b:
        return
    print(f"long: {a['duration']:.0f} s of speech, one run each; (a) in windows of {a['window']:g} s, (b) whole")
    print(HEADER)
    print(_row(LABELS["a"], a))
    print(_row(LABELS["b"], b))
    print(f"peak RSS a/b: {a['rss_mb'] / b['rss_mb']:.2f} ({a['rss_mb']:.0f} against {b['rss_mb']:.0f} MB); "
          f"wall a/b: {a['wall'] / b['wall']:.2f}")  # fmt: skip
    print(f"peak RSS growth from {short['duration']:.0f} s to {a['duration']:.0f} s: (a) "
          f"{a['rss_mb'] - short['rss_mb']:+.0f} MB; (b) holds the decoded audio and its features whole")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="length of the generated speech (default 60)")
    parser.add_argument("--repeat", type=int, default=1, help="measured runs per variant; the median is shown")
    parser.add_argument("--long", action="store_true", help=f"also a {LONG_SECONDS // 60}-minute file (peak RSS)")
    parser.add_argument(
        "--models", action="store_true", help="compare tiny.en and base on English and Japanese (bench.models)"
    )
    parser.add_argument("--variant", choices=sorted(LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.models:
        from bench import models  # the comparison lives in its own module

        return models.main(["--seconds", str(args.seconds)])
    if args.variant:
        _variant_main(args.variant, args.audio, args.warmup, max(1, args.repeat))
        return 0
    args.repeat = max(1, args.repeat)
    with tempfile.TemporaryDirectory(prefix="bench-transcription-") as work:
        _compare(args, work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
