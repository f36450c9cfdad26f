"""The transcript as files people download (the detail page and admin): WebVTT with voice spans,
SRT and plain text with speakers' names, always with the names as they are now."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from uploads.models import UploadedFile

from .media.subtitles import to_srt, to_text, to_webvtt
from .speakers.service import speaker_names

Render = Callable[[Sequence[Mapping[str, Any]], Mapping[str, str] | None], str]

EXPORT_FORMATS: dict[str, tuple[Render, str]] = {
    "vtt": (to_webvtt, "text/vtt; charset=utf-8"),
    "srt": (to_srt, "application/x-subrip; charset=utf-8"),
    "txt": (to_text, "text/plain; charset=utf-8"),
}


def transcript_export(upload: UploadedFile, fmt: str) -> tuple[str, str, str]:
    """(body, content type, file name) of the transcript in `fmt` (a key of EXPORT_FORMATS)."""
    render, content_type = EXPORT_FORMATS[fmt]
    stem = os.path.splitext(upload.original_name)[0] or f"upload-{upload.pk}"
    return render(upload.transcript_segments or [], speaker_names(upload)), content_type, f"{stem}.{fmt}"
