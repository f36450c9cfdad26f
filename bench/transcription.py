"""Transcription benchmark: the pipeline's transcription stage against a raw faster-whisper call
with the same settings, side by side in one run, each in its own process (so peak RSS is its own).

    .venv/bin/python -m bench.transcription [--seconds 60] [--long]

(a) `processing.transcription.engine.transcribe(path)`: the engine the stage calls (config checks,
    per-process model cache, streamed segments, word timestamps, progress callback).
(b) `WhisperModel(same model, cpu, int8).transcribe(same options)`, segments consumed in a loop.
Model loading is timed apart from transcription. Target a/b <= 1.10. With --long, a 10-minute
file through (a) shows that memory stays bounded. openai-whisper is compared only where real
weights exist locally (nothing is downloaded).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.10


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _variant_pipeline(audio: str) -> dict[str, float]:
    _django()
    from processing.transcription.configuration import resolve_spec
    from processing.transcription.engine import get_model, transcribe

    started = time.perf_counter()
    get_model(resolve_spec())
    load = time.perf_counter() - started
    seen: list[float] = []
    started = time.perf_counter()
    result = transcribe(audio, on_progress=seen.append)
    return {"load": load, "wall": time.perf_counter() - started, "segments": len(result.segments),
            "duration": result.duration, "rss_mb": _peak_rss_mb()}  # fmt: skip


def _variant_raw(audio: str) -> dict[str, float]:
    _django()
    from django.conf import settings
    from faster_whisper import WhisperModel

    from processing.transcription.backend_faster import default_model_path

    started = time.perf_counter()
    model = WhisperModel(settings.WHISPER_MODEL or default_model_path(), device="cpu", compute_type="int8")
    load = time.perf_counter() - started
    started = time.perf_counter()
    segments, info = model.transcribe(
        audio, beam_size=settings.WHISPER_BEAM_SIZE, language=None, vad_filter=settings.WHISPER_VAD,
        word_timestamps=settings.WHISPER_WORD_TIMESTAMPS,
    )  # fmt: skip
    count = sum(1 for _ in segments)
    return {"load": load, "wall": time.perf_counter() - started, "segments": count, "duration": info.duration,
            "rss_mb": _peak_rss_mb()}  # fmt: skip


def _run(variant: str, audio: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.transcription", "--variant", variant, "--audio", audio],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _speech(path: str, seconds: float) -> None:
    """Repeat the sample speech until it lasts `seconds` (espeak-ng, one wav)."""
    _django()
    from processing.media.probe import probe_file
    from processing.media.samples import SAMPLE_SPEECH, speech_wav

    speech_wav(path, SAMPLE_SPEECH)
    once = probe_file(path).duration
    speech_wav(path, " ".join([SAMPLE_SPEECH] * max(1, round(seconds / once))))


def _openai_weights() -> list[str]:
    roots = [os.environ.get("WHISPER_DOWNLOAD_ROOT", str(ROOT / "var" / "whisper")), "~/.cache/whisper"]
    return sorted(p for root in roots for p in glob.glob(os.path.join(os.path.expanduser(root), "*.pt")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="length of the generated speech (default 60)")
    parser.add_argument("--long", action="store_true", help="also a 10-minute file through the pipeline (peak RSS)")
    parser.add_argument("--variant", choices=["pipeline", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        result = (_variant_pipeline if args.variant == "pipeline" else _variant_raw)(args.audio)
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-transcription-") as work:
        audio = os.path.join(work, "speech.wav")
        _speech(audio, args.seconds)
        a, b = _run("pipeline", audio), _run("raw", audio)
        print(f"machine: {os.cpu_count()} cpus; faster-whisper, bundled tiny.en, cpu int8, defaults of config/settings")
        print(f"audio: {a['duration']:.1f} s of espeak-ng speech")
        print("variant                          load s   wall s    RTF   segments  peak RSS MB")
        for label, r in (("(a) pipeline transcribe()", a), ("(b) raw faster-whisper", b)):
            rtf = r["wall"] / r["duration"]
            print(f"{label:<32} {r['load']:6.2f} {r['wall']:8.2f} {rtf:6.3f} {r['segments']:10.0f} {r['rss_mb']:12.0f}")
        ratio = a["wall"] / b["wall"]
        print(f"ratio a/b wall: {ratio:.3f} (target <= {TARGET:.2f}) {'PASS' if ratio <= TARGET else 'MISS'}")
        if args.long:
            long_audio = os.path.join(work, "long.wav")
            _speech(long_audio, 600)
            r, raw = _run("pipeline", long_audio), _run("raw", long_audio)
            print(f"long: {r['duration']:.0f} s through (a): RTF {r['wall'] / r['duration']:.3f}, peak RSS "
                  f"{r['rss_mb']:.0f} MB; (b) raw on the same file: peak RSS {raw['rss_mb']:.0f} MB "
                  f"(faster-whisper computes the whole file's features up front; segments are streamed)")  # fmt: skip
    weights = _openai_weights()
    if weights:
        print(f"openai-whisper weights found ({', '.join(weights)}): compare with TRANSCRIPTION_ENGINE=openai-whisper")
    else:
        print("openai-whisper: no local weights on this machine (no network to fetch them); not compared")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
