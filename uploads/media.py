"""/media/<name>: every stored file of an upload (the original, HLS playlists, segments, subtitles,
the poster) reaches a browser only through media_serve, after the same ownership rule as the pages
(staff see all, everyone else only their own; anonymous nobody). How the bytes then travel is
MEDIA_DELIVERY: "django" streams them with HTTP ranges (make run, tests), "x-accel" hands them to
nginx's internal location (compose), "presigned" rewrites playlists so that every URI in them is a
short-lived presigned object-store URL and redirects other files to one (STORAGE_BACKEND=s3)."""

from __future__ import annotations

import mimetypes
import posixpath
import re
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from . import pipeline
from .models import UploadedFile

# HLS players and browsers check these; Python's mimetypes does not know all of them.
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".vtt": "text/vtt",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
}
for _extension, _type in CONTENT_TYPES.items():
    mimetypes.add_type(_type, _extension)

CHUNK_BYTES = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def media_url(name: str) -> str:
    """The one URL of a stored file: the checking view's, whatever the storage."""
    return reverse("media", kwargs={"path": name})


def visible_uploads(user: Any) -> QuerySet[UploadedFile]:
    """Staff see every upload; everyone else only their own; anonymous users none."""
    uploads = UploadedFile.objects.all()
    if not getattr(user, "is_authenticated", False):
        return uploads.none()
    if user.is_staff:
        return uploads
    return uploads.filter(uploader_id=user.pk)


def _owner_filter(name: str) -> Q | None:
    """Which upload a stored name belongs to: uploads/<generated name> or hls/<upload id>/..."""
    parts = name.split("/")
    if len(parts) == 2 and parts[0] == "uploads":
        return Q(file=name)
    if len(parts) >= 3 and parts[0] == "hls" and parts[1].isdigit():
        return Q(pk=int(parts[1]))
    return None


def _clean_name(path: str) -> str:
    if not path or "\\" in path or "\x00" in path or path.startswith("/") or posixpath.normpath(path) != path:
        raise Http404("no such media file")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise Http404("no such media file")
    return path


def _content_type(name: str) -> str:
    return CONTENT_TYPES.get(posixpath.splitext(name)[1].lower(), "application/octet-stream")


@require_safe  # no login redirect for a player's requests: anonymous users get the same 404
def media_serve(request: HttpRequest, path: str) -> HttpResponseBase:
    name = _clean_name(path)
    owner = _owner_filter(name)
    upload = visible_uploads(request.user).filter(owner).first() if owner is not None else None
    if upload is None:
        raise Http404("no such media file")  # the same answer whether it exists or is someone else's
    original = name == upload.file.name
    response = _deliver(request, name, "application/octet-stream" if original else _content_type(name))
    if original:  # never rendered in our origin, whatever its bytes are
        response["Content-Disposition"] = content_disposition_header(True, upload.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    # Playlists change with a re-run, subtitles with a speaker's rename: never cached.
    response["Cache-Control"] = "private, no-store" if name.endswith((".m3u8", ".vtt")) else "private, max-age=3600"
    return response


def _deliver(request: HttpRequest, name: str, content_type: str) -> HttpResponseBase:
    delivery = settings.MEDIA_DELIVERY
    if delivery == "x-accel":
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = quote(settings.MEDIA_ACCEL_PREFIX + name)
        return response
    if delivery == "presigned":
        if name.endswith(".m3u8"):
            return HttpResponse(_signed_playlist(name), content_type=content_type)
        return HttpResponseRedirect(default_storage.url(name))
    if delivery == "django":
        return _ranged(request, name, content_type)
    raise Http404(f"MEDIA_DELIVERY={delivery!r} is not one of django, x-accel, presigned")


def _signed_playlist(name: str) -> str:
    """Playlists go through this view again (so theirs are signed too); every other URI becomes a
    presigned URL valid for MEDIA_URL_EXPIRY seconds."""
    with default_storage.open(name, "rb") as fh:
        text = fh.read().decode("utf-8")
    folder = posixpath.dirname(name)

    def resolve(uri: str) -> str:
        if urlsplit(uri).scheme:
            return uri
        target = posixpath.normpath(posixpath.join(folder, uri))
        return media_url(target) if target.endswith(".m3u8") else default_storage.url(target)

    return pipeline.rewrite_playlist(text, resolve)


def _ranged(request: HttpRequest, name: str, content_type: str) -> HttpResponseBase:
    """The file, or the one byte range asked for (206); several ranges get the whole file (RFC 9110 14.2)."""
    try:
        size = default_storage.size(name)
    except (FileNotFoundError, OSError) as exc:
        raise Http404("no such media file") from exc
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match is None or match.groups() == ("", ""):
        response: HttpResponseBase = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        first, last = match.groups()
        start = int(first) if first else max(0, size - int(last))
        end = min(int(last), size - 1) if first and last else size - 1
        if start >= size or start > end:
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            return refused
        response = StreamingHttpResponse(_slice(default_storage.open(name, "rb"), start, end), status=206)
        response["Content-Type"] = content_type
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


def _slice(fh: IO[bytes], start: int, end: int) -> Iterator[bytes]:
    try:
        fh.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = fh.read(min(CHUNK_BYTES, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    finally:
        fh.close()
