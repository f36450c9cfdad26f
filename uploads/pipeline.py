"""What uploads needs from the pipeline, in one place: the only module of uploads that reaches into
processing.

The dependency runs one way: processing builds on uploads (its model, its services), and uploads
imports nothing of processing at module level. Each function below imports what it forwards to
when it is called; importing processing here at module level would make the two apps import each
other again (tests/test_imports.py checks that they do not)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processing.media.probe import MediaInfo

    from .models import UploadedFile

Sender = Callable[[int, dict[str, str]], None]


def stage_labels() -> list[tuple[str, str]]:
    """(key, label) of every registered stage, in chain order."""
    from processing.registry import STAGES

    return [(stage.key, stage.label) for stage in STAGES]


def enqueue(upload: UploadedFile, *, send: Sender | None = None) -> None:
    """Queue a new upload's stages; the chain is sent after commit (or handed to `send`)."""
    from processing.pipeline import pipeline_enqueue

    pipeline_enqueue(upload, send=send)


def forget(upload: UploadedFile) -> None:
    """Before an upload is deleted: revoke whatever of its pipeline has not ended."""
    from processing.pipeline import pipeline_forget

    pipeline_forget(upload)


def delete_outputs(storage: Any, upload_id: int) -> None:
    """Delete every file the pipeline published for the upload (its HLS folder)."""
    from processing.storage import delete_prefix

    delete_prefix(storage, f"hls/{upload_id}")


class MediaRefused(Exception):
    """probe() refused the file: not audio or video we accept, or over a MEDIA_MAX_* limit."""

    def __init__(self, message: str, *, over_limit: bool) -> None:
        super().__init__(message)
        self.over_limit = over_limit


def probe(path: str) -> MediaInfo:
    """ffprobe the file under the input guard and the MEDIA_MAX_* limits (processing.media.probe)."""
    from processing.media.probe import InvalidMedia, LimitExceeded, probe_file
    from processing.services import media_limits

    try:
        return probe_file(path, media_limits())
    except LimitExceeded as exc:
        raise MediaRefused(str(exc), over_limit=True) from exc
    except InvalidMedia as exc:
        raise MediaRefused(str(exc), over_limit=False) from exc


def rewrite_playlist(text: str, resolve: Callable[[str], str]) -> str:
    """An HLS playlist with every URI replaced by resolve(uri)."""
    from processing.media.playlists import rewrite_uris

    return rewrite_uris(text, resolve)


def language_name(code: str) -> str:
    """ "Japanese" for "ja" (the code itself when there is no name for it)."""
    from processing.media.subtitles import language_name as name

    return name(code) if code else ""


def transcript_export(upload: UploadedFile, fmt: str) -> tuple[str, str, str] | None:
    """(body, content type, file name) of the transcript as vtt, srt or txt; None for another format."""
    from processing.exports import EXPORT_FORMATS
    from processing.exports import transcript_export as export

    return export(upload, fmt) if fmt in EXPORT_FORMATS else None


def speaker_rename(upload: UploadedFile, label: str, name: str) -> None:
    """Name a speaker of the upload (blank: back to "Speaker N"); published subtitles follow."""
    from processing.speakers.service import speaker_rename as rename

    rename(upload, label, name)
