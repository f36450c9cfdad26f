"""The voice encoder: Resemblyzer's pretrained speaker model (GE2E, a 3-layer LSTM over 40 mel bands,
256-d embeddings), run here without the resemblyzer package's own audio code.

The weights come from the resemblyzer 0.1.4 wheel (`resemblyzer/pretrained.pt`, 17 MB, Apache-2.0),
installed without its dependencies (requirements-nodeps.txt: webrtcvad would need a compiler in the
image, and librosa is only its mel code) and checked against SHA-256 before loading
(processing.assets). The mel spectrogram is librosa.feature.melspectrogram's with resemblyzer's
parameters (n_fft 400, hop 160, 40 Slaney mel bands, power 2, centred with zero padding), written
out in numpy; a test holds it equal to librosa's.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
EMBEDDING_SIZE = 256
FRAMES_PER_SECOND = SAMPLE_RATE / HOP

_lock = threading.Lock()
_model: Any = None
load_count = 0  # read by tests: a warm process loads the model once


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above."""
    f_sp = 200.0 / 3
    mels = hz / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    log_part = min_log_mel + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep
    return np.where(hz >= min_log_hz, log_part, mels)


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40), Slaney-normalised: (40, 201)."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_points = _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(SAMPLE_RATE / 2.0)), N_MELS + 2))
    fdiff = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2 : N_MELS + 2] - mel_points[:N_MELS]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)  # periodic Hann


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """(frames, 40) mel power spectrogram of 16 kHz mono float samples, one frame per 10 ms."""
    samples = np.asarray(samples, dtype=np.float32)
    padded = np.pad(samples, N_FFT // 2)
    count = 1 + (len(padded) - N_FFT) // HOP if len(padded) >= N_FFT else 0
    if count <= 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    strides = (padded.strides[0] * HOP, padded.strides[0])
    frames = np.lib.stride_tricks.as_strided(padded, shape=(count, N_FFT), strides=strides)
    power = np.abs(np.fft.rfft(frames * _window(), axis=1)) ** 2
    return (power.astype(np.float32) @ mel_filters().T).astype(np.float32)


MODEL = "resemblyzer"  # its processing.assets entry


def weights_path() -> Path:
    """The verified copy of pretrained.pt (processing.assets assembles it at install time; the
    resemblyzer package itself is never imported: its __init__ needs librosa and webrtcvad)."""
    # Settings and the asset check at call time: the mel code above needs neither
    from django.conf import settings

    from processing.assets import model_folder  # (see above)

    return model_folder(MODEL, settings.WHISPER_MODELS_DIR) / "pretrained.pt"


def _build(path: Path) -> Any:
    # torch (~300 MB) only in the process that embeds voices
    import torch
    from torch import nn

    class VoiceEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
            self.linear = nn.Linear(256, EMBEDDING_SIZE)
            self.relu = nn.ReLU()

        def forward(self, mels: Any) -> Any:
            _, (hidden, _) = self.lstm(mels)
            raw = self.relu(self.linear(hidden[-1]))
            return raw / torch.norm(raw, dim=1, keepdim=True).clamp_min(1e-9)

    model = VoiceEncoder()
    checkpoint = torch.load(str(path), map_location="cpu", weights_only=True)
    state = {k: v for k, v in checkpoint["model_state"].items() if not k.startswith("similarity_")}  # training only
    model.load_state_dict(state)
    model.eval()
    return model


def get_encoder() -> Any:
    """The process's encoder, loaded on first use (after fork, like the Whisper model)."""
    global _model, load_count
    with _lock:
        if _model is None:
            _model = _build(weights_path())
            load_count += 1
        return _model


def embed(mel_windows: list[np.ndarray], *, batch: int = 64) -> np.ndarray:
    """One L2-normalised 256-d embedding per mel window (each (frames, 40), frames may differ between
    batches; windows of one length are batched together)."""
    import torch  # as in _build: only where voices are embedded

    if not mel_windows:
        return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    model = get_encoder()
    out = np.zeros((len(mel_windows), EMBEDDING_SIZE), dtype=np.float32)
    by_length: dict[int, list[int]] = {}
    for index, window in enumerate(mel_windows):
        by_length.setdefault(len(window), []).append(index)
    with torch.inference_mode():
        for indices in by_length.values():
            for first in range(0, len(indices), batch):
                chunk = indices[first : first + batch]
                tensor = torch.from_numpy(np.stack([mel_windows[i] for i in chunk]))
                out[chunk] = model(tensor).numpy()
    return out
