"""Japanese speech made offline for the tests: Open JTalk (pyopenjtalk-plus, with its dictionary and
the "mei" HTS voice inside the wheel) reads kanji and kana text as a natural voice would."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

# A council-meeting style passage: problems raised and proposals, as minutes record them.
MEETING_JA = (
    "本日の会議では、配送の遅れについて話し合います。北の倉庫への配送が三日遅れています。"
    "住民から苦情が寄せられています。来月までに運転手を二人増やすことを提案します。"
)


def speak(text: str, path: Path) -> Path:
    import pyopenjtalk  # a test-only dependency (requirements-dev.txt)

    samples, rate = pyopenjtalk.tts(text)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(np.clip(samples, -32768, 32767).astype(np.int16).tobytes())
    return path
