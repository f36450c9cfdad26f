"""Generated sample media with real speech (espeak-ng + ffmpeg lavfi): for `make run`'s demo
upload, the tests and the benchmarks. Nothing binary is committed."""

from __future__ import annotations

import os
import shutil
import tempfile

from .runner import run_tool

SAMPLE_SPEECH = (
    "Welcome to the weekly operations meeting. "
    "The main problem this week is that deliveries to the northern warehouse are late. "
    "Customers complained because the tracking page was broken for two days. "
    "We should hire two more drivers before the holiday season. "
    "We propose a new routing system to reduce the delays."
)


def speech_wav(path: str, text: str = SAMPLE_SPEECH, *, words_per_minute: int = 150) -> None:
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    run_tool(["espeak-ng", "-s", str(words_per_minute), "-w", path, text], timeout=120)


def speech_video(
    path: str, text: str = SAMPLE_SPEECH, *, size: str = "640x360", rate: int = 25, extra: tuple[str, ...] = ()
) -> None:
    """A test-pattern video with `text` spoken on its audio track, as long as the speech."""
    with tempfile.TemporaryDirectory() as work:
        wav = os.path.join(work, "speech.wav")
        speech_wav(wav, text)
        run_tool(
            [
                "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}", "-i", wav,
                "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", *extra, path,
            ],
            timeout=300,
        )  # fmt: skip


def speech_audio(path: str, text: str = SAMPLE_SPEECH) -> None:
    """Speech only, encoded as the container `path` names (.m4a, .mp3, .wav...)."""
    with tempfile.TemporaryDirectory() as work:
        wav = os.path.join(work, "speech.wav")
        speech_wav(wav, text)
        run_tool(["ffmpeg", "-v", "error", "-y", "-i", wav, path], timeout=120)
