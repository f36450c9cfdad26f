from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from processing.errors import NothingToDo
from uploads.models import UploadedFile


def word_count_run(upload: UploadedFile) -> dict[str, Any]:
    """Count the transcript's words and publish the count next to the upload's other outputs."""
    words = len(upload.transcript_text.split())
    if not words:
        raise NothingToDo("no words to count")
    name = default_storage.save(f"hls/{upload.pk}/word-count.txt", ContentFile(f"{words}\n".encode()))
    return {"words": words, "file": name}
