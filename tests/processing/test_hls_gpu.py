"""NVENC on a real NVIDIA GPU. Skipped only where no NVIDIA GPU is present."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from processing.media.encode import HlsOptions, encode_hls
from processing.media.encoders import clear_cache
from processing.media.hls import LIBX264, NVENC, parse_ladder


def _has_nvidia_gpu() -> bool:
    return os.path.exists("/dev/nvidia0") or (
        shutil.which("nvidia-smi") is not None
        and subprocess.run(["nvidia-smi", "-L"], capture_output=True, check=False).returncode == 0
    )


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not _has_nvidia_gpu(), reason="no NVIDIA GPU on this machine"),
]

# GPUs without NVENC engines (A100, H100) refuse the session with these lines (DESIGN.md).
NO_NVENC_ENGINE = ("unsupported device", "No capable devices found")


def test_nvenc_is_used_where_it_works_and_falls_back_by_itself_where_not(tmp_path: Path) -> None:
    source = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine",
         "-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(source)],
        check=True,
    )  # fmt: skip
    clear_cache()
    options = HlsOptions(ladder=parse_ladder(["720:2800:128", "360:800:96"]), encoder_mode="auto")

    result = encode_hls(str(source), str(tmp_path / "work"), options)

    print(f"encoder={result.encoder} fallback_reason={result.fallback_reason!r}")  # for the GPU report
    if result.encoder == NVENC:
        assert result.fallback_reason == ""
    else:
        assert result.encoder == LIBX264
        assert any(line in result.fallback_reason for line in NO_NVENC_ENGINE), result.fallback_reason
