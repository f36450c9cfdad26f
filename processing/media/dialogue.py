"""Speech by several voices, offline (espeak-ng): `make run`'s sample, the speaker tests' set and
bench.speakers. Each turn is spoken by one voice, trimmed to its first and last audible sample and
joined with a gap of digital silence under a faint noise floor; the exact turn times are returned
(the ground truth an RTTM file holds)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .runner import run_tool

RATE = 16000
NOISE = 24  # amplitude of the noise floor, of 32768 (about -62 dBFS)
AUDIBLE = 200  # |sample| above this is speech when trimming a turn's ends

# Voices far apart for the voice encoder (measured: cosine similarity of their mean embeddings
# 0.55-0.81 between voices, 0.85-0.91 within one): espeak-ng's male variants sound alike to it, so
# the males differ in pitch and speed as well.
VOICES: dict[str, tuple[str, ...]] = {
    "ben": ("-v", "en-us", "-p", "35", "-s", "150"),  # male
    "ann": ("-v", "en-us+f3", "-p", "70", "-s", "165"),  # female
    "kate": ("-v", "en+f5", "-p", "85", "-s", "175"),  # female, higher and faster
    "tom": ("-v", "en-us+m2", "-p", "15", "-s", "125"),  # male, deep and slow
}


@dataclass(frozen=True)
class Turn:
    voice: str
    text: str
    gap: float = 0.6  # silence before the turn (none before the first)


@dataclass(frozen=True)
class SpokenTurn:
    voice: str
    text: str
    start: float
    end: float


def _speak(voice: str, text: str, work: str) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    path = os.path.join(work, "turn.wav")
    run_tool(["espeak-ng", *VOICES[voice], "-w", path, text], timeout=120)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    samples = np.frombuffer(raw, dtype=np.int16).astype(np.int32)
    loud = np.flatnonzero(np.abs(samples) > AUDIBLE)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples[:0]


def dialogue_wav(turns: Sequence[Turn], path: str, *, seed: int = 7) -> list[SpokenTurn]:
    """Write the turns one after another to `path` (16 kHz mono WAV); the turns with their times."""
    noise = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    spoken: list[SpokenTurn] = []
    at = 0
    with tempfile.TemporaryDirectory(prefix="dialogue-") as work:
        for index, turn in enumerate(turns):
            if index:
                pieces.append(np.zeros(int(turn.gap * RATE), dtype=np.int32))
                at += int(turn.gap * RATE)
            speech = _speak(turn.voice, turn.text, work)
            pieces.append(speech)
            spoken.append(SpokenTurn(turn.voice, turn.text, round(at / RATE, 4), round((at + len(speech)) / RATE, 4)))
            at += len(speech)
    joined = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    write_wav(path, joined + noise.integers(-NOISE, NOISE + 1, len(joined)))
    return spoken


def write_wav(path: str, samples: np.ndarray) -> None:
    """16 kHz mono 16-bit WAV of integer samples (clipped to int16)."""
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.clip(samples, -32768, 32767).astype(np.int16).tobytes())


def rttm(turns: Sequence[SpokenTurn], uri: str) -> str:
    """The ground truth as RTTM (NIST): one SPEAKER line per turn."""
    return "".join(
        f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.voice} <NA> <NA>\n" for t in turns
    )


# make run's sample: a short meeting between two voices (a chair and a colleague).
SAMPLE_DIALOGUE: tuple[Turn, ...] = (
    Turn("ben", "Welcome to the weekly operations meeting. The main problem this week is that deliveries "
         "to the northern warehouse are late."),
    Turn("ann", "Customers complained because the tracking page was broken for two days.", gap=0.8),
    Turn("ben", "We should hire two more drivers before the holiday season.", gap=0.8),
    Turn("ann", "I agree. We propose a new routing system to reduce the delays.", gap=0.8),
)  # fmt: skip


def dialogue_video(
    path: str, turns: Sequence[Turn] = SAMPLE_DIALOGUE, *, size: str = "640x360", rate: int = 25
) -> list[SpokenTurn]:
    """A test-pattern video whose audio is the dialogue, as long as the speech."""
    with tempfile.TemporaryDirectory() as work:
        wav = os.path.join(work, "dialogue.wav")
        spoken = dialogue_wav(turns, wav)
        run_tool(
            [
                "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}", "-i", wav,
                "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", path,
            ],
            timeout=300,
        )  # fmt: skip
    return spoken
