"""Long recordings in bounded windows: the audio is decoded as a stream and cut at quiet points, so
that a transcription's memory depends on the window, not on the length of the recording.

Both engines compute features for the whole array they are given (faster-whisper ~0.85 MB per second
of audio with tiny.en: a 30-minute file peaks at 1.8 GB, an hour would need ~3.3 GB). Handing them
windows of WHISPER_WINDOW_SECONDS instead keeps the peak at what one window needs.

Decoding is faster_whisper.audio.decode_audio's, step for step with its own helpers (PyAV, s16 mono
at 16 kHz, resampled in groups of 500,000 samples, undecodable frames skipped), so a recording that
fits in one window is transcribed from exactly the samples the engines would decode themselves.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from processing.media.probe import guard_options

SAMPLE_RATE = 16000
SEARCH_SECONDS = 30.0  # a cut goes at the quietest point of the window's last 30 s
QUIET_FRAME = SAMPLE_RATE // 10  # energy is compared over 100 ms frames
_GROUP_SAMPLES = 500_000  # decode_audio's resampling group


@dataclass(frozen=True)
class Window:
    offset: float  # seconds from the start of the recording
    samples: np.ndarray[Any, np.dtype[np.float32]]  # mono, 16 kHz, in [-1, 1)

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def audio_windows(audio: str | IO[bytes], window_seconds: float, *, stream: int = 0) -> Iterator[Window]:
    """Consecutive windows that together hold every decoded sample once, in order.

    A window is cut once at least `window_seconds` plus the search span are buffered, at the quietest
    100 ms frame of the search span before `window_seconds`; the rest starts the next window. The last
    window takes what remains (up to window + search). `window_seconds` <= 0 gives one window. A
    recording with no audio samples gives one empty window, as decode_audio gives an empty array.
    `stream` is the audio stream to decode, counted among audio streams (the upload's audio_stream).
    """
    window = int(window_seconds * SAMPLE_RATE) if window_seconds > 0 else 0
    search = min(int(SEARCH_SECONDS * SAMPLE_RATE), window // 2)
    pending: list[np.ndarray[Any, np.dtype[np.int16]]] = []
    pending_len = consumed = 0
    for chunk in _decoded_s16(audio, stream):
        pending.append(chunk)
        pending_len += len(chunk)
        while window and pending_len >= window + search:
            buffer = np.concatenate(pending)
            cut = quietest_cut(buffer, window - search, window)
            yield Window(offset=consumed / SAMPLE_RATE, samples=_to_float(buffer[:cut]))
            consumed += cut
            pending, pending_len = [buffer[cut:]], len(buffer) - cut
    rest = np.concatenate(pending) if pending else np.zeros(0, dtype=np.int16)
    if len(rest) or not consumed:
        yield Window(offset=consumed / SAMPLE_RATE, samples=_to_float(rest))


def quietest_cut(samples: np.ndarray[Any, np.dtype[np.int16]], low: int, high: int) -> int:
    """The middle of the quietest 100 ms frame that starts in [low, high): where speech pauses. Of
    equally quiet frames the latest wins, so that windows stay close to their full length."""
    frames = max(1, (high - low) // QUIET_FRAME)
    span = samples[low : low + frames * QUIET_FRAME].astype(np.int64)
    energy = (span * span).reshape(frames, -1).sum(axis=1)
    latest = frames - 1 - int(np.argmin(energy[::-1]))
    return low + latest * QUIET_FRAME + QUIET_FRAME // 2


def _to_float(samples: np.ndarray[Any, np.dtype[np.int16]]) -> np.ndarray[Any, np.dtype[np.float32]]:
    return samples.astype(np.float32) / 32768.0


def _decoded_s16(audio: str | IO[bytes], stream: int = 0) -> Iterator[np.ndarray[Any, np.dtype[np.int16]]]:
    """decode_audio's own steps (faster-whisper is pinned; a test holds the samples equal), yielded as
    they come instead of gathered into one array. Only accepted containers are opened, and only the
    file itself (processing.media.probe), as for every ffmpeg run."""
    # Imported when a file is decoded: PyAV and faster-whisper's audio helpers are heavy for the web process.
    import av
    from faster_whisper.audio import _group_frames, _ignore_invalid_frames, _resample_frames

    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    try:
        with av.open(audio, mode="r", metadata_errors="ignore", options=guard_options()) as container:
            frames = _group_frames(_ignore_invalid_frames(container.decode(audio=stream)), _GROUP_SAMPLES)
            for frame in _resample_frames(frames, resampler):
                yield frame.to_ndarray().reshape(-1)
    finally:
        del resampler
        gc.collect()  # PyAV frees the resampler's buffers only then (faster-whisper#390)
