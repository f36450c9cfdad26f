"""A recording that switches language: speech in one language, a pause, speech in another.

Each part is spoken offline (Japanese by Open JTalk, the others by espeak-ng), resampled to 16 kHz
mono and joined with `gap` seconds of digital silence between parts. A faint noise floor lies under
the speech (as in any real room), so the pauses between parts are the quietest moments of the
recording: windows of WHISPER_WINDOW_SECONDS are cut there when a pause falls in a window's search span.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from processing.media.dialogue import write_wav
from processing.media.samples import speech_wav
from tests.speech.japanese import speak

RATE = 16000
NOISE = 24  # amplitude of the noise floor, of 32768 (about -62 dBFS)


@dataclass(frozen=True)
class Part:
    language: str  # "ja", or an espeak-ng voice such as "en", "de", "es"
    text: str
    start: float = 0.0  # filled in by mixed_recording
    end: float = 0.0


def _samples(part: Part, work: Path, index: int) -> np.ndarray:
    spoken = work / f"part-{index}.wav"
    if part.language == "ja":
        speak(part.text, spoken)
    elif part.language == "en":
        speech_wav(str(spoken), part.text)
    else:
        subprocess.run(["espeak-ng", "-v", part.language, "-w", str(spoken), part.text], check=True)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(spoken), "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.int32)


def mixed_recording(parts: list[Part], path: Path, *, gap: float = 1.5, seed: int = 7) -> list[Part]:
    """Write the parts one after another to `path` (16 kHz mono WAV); the parts with their times."""
    noise = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    timed: list[Part] = []
    at = 0
    with tempfile.TemporaryDirectory(prefix="mixed-") as work:
        for index, part in enumerate(parts):
            if index:
                pieces.append(np.zeros(int(gap * RATE), dtype=np.int32))
                at += int(gap * RATE)
            speech = _samples(part, Path(work), index)
            speech = speech + noise.integers(-NOISE, NOISE + 1, len(speech))
            pieces.append(speech)
            timed.append(Part(part.language, part.text, start=at / RATE, end=(at + len(speech)) / RATE))
            at += len(speech)
    write_wav(str(path), np.concatenate(pieces))
    return timed
