"""Rewrite an upload's published subtitle files after a speaker is renamed, so that the HLS subtitle
rendition shows the new name without encoding again. Only the WebVTT files change; their playlists
and the master stay as they are."""

from __future__ import annotations

import logging
import posixpath

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from processing.media.encode import TRANSLATION
from processing.media.subtitles import to_webvtt
from uploads.models import UploadedFile

logger = logging.getLogger(__name__)


def republish_subtitles(upload: UploadedFile) -> list[str]:
    """The subtitle files rewritten (storage names); none when the upload has no published HLS set."""
    if not upload.hls_master:
        return []
    # service imports this module for speaker_rename: imported here, not at the top, to avoid the loop
    from processing.speakers.service import speaker_names

    names = speaker_names(upload)
    prefix = posixpath.join(posixpath.dirname(upload.hls_master), "subs")
    tracks = [("subtitles", upload.transcript_segments or [])]
    if upload.translation_segments:
        tracks.append((TRANSLATION, upload.translation_segments))
    written = []
    for stem, segments in tracks:
        name = f"{prefix}/{stem}.vtt"
        if not segments or not default_storage.exists(name):
            continue
        default_storage.delete(name)
        saved = default_storage.save(name, ContentFile(to_webvtt(segments, names).encode("utf-8")))
        if saved != name:  # another writer raced us to the name: keep the published name
            logger.warning("subtitles saved as %s instead of %s", saved, name)
        written.append(saved)
    return written
