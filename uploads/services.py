"""Upload services: validate, save, and start the pipeline after commit."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from . import pipeline
from .models import UploadedFile

if TYPE_CHECKING:
    from processing.media.probe import MediaInfo


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:.1f} MB"


@contextmanager
def _local_path(file: File[Any]) -> Iterator[str]:
    """A path ffprobe can read: Django's temporary upload file when there is one, else a copy."""
    temporary_path = getattr(file, "temporary_file_path", None)
    if temporary_path is not None:
        yield temporary_path()
        return
    with tempfile.NamedTemporaryFile(prefix="probe-") as tmp:
        file.seek(0)
        shutil.copyfileobj(file, tmp)
        tmp.flush()
        file.seek(0)
        yield tmp.name


def upload_validate(*, file: File[Any]) -> MediaInfo:
    """Refuse what the pipeline cannot process, with a message the uploader can act on."""
    size = file.size or 0
    if size == 0:
        raise ValidationError("The file is empty (0 bytes).", code="empty")
    if size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            f"The file is {_megabytes(size)}; the limit is {_megabytes(settings.UPLOAD_MAX_BYTES)} (UPLOAD_MAX_BYTES).",
            code="too_large",
        )
    with _local_path(file) as path:
        try:
            return pipeline.probe(path)
        except pipeline.MediaRefused as exc:
            if exc.over_limit:
                raise ValidationError(f"The file is refused: {exc}.", code="over_limit") from exc
            raise ValidationError(f"Not an audio or video file: {exc}.", code="not_media") from exc


@transaction.atomic
def upload_create(
    *,
    file: File[Any],
    original_name: str = "",
    uploader: Any = None,
    send: Callable[[int, dict[str, str]], None] | None = None,
) -> UploadedFile:
    """Validate, save, and start the pipeline after commit (`send`: see processing.pipeline_enqueue)."""
    info = upload_validate(file=file)
    name = os.path.basename(original_name or file.name or "upload")[:255]
    upload = UploadedFile(
        original_name=name,
        size=file.size or 0,
        media_kind=info.kind,
        duration=info.duration,
        has_audio=info.has_audio,
        width=info.width,
        height=info.height,
        container_format=info.format_name,
        audio_stream=info.audio_index,
        audio_tracks=info.audio_tracks,
        uploader=uploader,
    )
    # Stored under a generated name with the suffix of the probed container, never the user's.
    upload.file.save(f"upload{info.suffix}", file, save=False)
    upload.save()
    pipeline.enqueue(upload, send=send)
    upload.refresh_from_db()
    return upload


def upload_delete(*, upload: UploadedFile) -> None:
    """Revoke whatever of its pipeline has not ended, delete the row, then (after commit) its files.
    A task that still arrives finds no row, logs one warning and ends cleanly."""
    pipeline.forget(upload)
    source, upload_id = str(upload.file.name), upload.pk
    upload.delete()

    def remove_files() -> None:
        default_storage.delete(source)
        pipeline.delete_outputs(default_storage, upload_id)

    transaction.on_commit(remove_files)
