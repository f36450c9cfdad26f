"""`manage.py probe_encoders`: what this host can really encode, by trial encodes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from processing.media.encoders import run_nvenc_trial, run_trial
from processing.media.hls import LIBX264


class Command(BaseCommand):
    help = (
        "Run short trial encodes with the production flags: libx264, h264_nvenc, and NVENC with CUDA "
        "decode + scale_cuda. `ffmpeg -encoders` lists h264_nvenc even without a GPU; only a trial tells."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for label, probe in (
            ("libx264", run_trial(LIBX264)),
            ("h264_nvenc", run_nvenc_trial()),
            ("h264_nvenc + scale_cuda", run_trial("h264_nvenc", gpu_scale=True)),
        ):
            verdict = "works" if probe.available else ("busy (session limit)" if probe.busy else "unavailable")
            self.stdout.write(f"{label:<24} {verdict}" + (f": {probe.reason}" if probe.reason else ""))
