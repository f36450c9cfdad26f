"""Pages over uploads: the list, the upload form, the detail page with live status and the HLS
player, delete with a confirmation, and a health check. Thin over uploads.services; media goes
through uploads.media."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from . import pipeline
from .forms import UploadForm
from .media import media_url, visible_uploads
from .models import TERMINAL_STATUSES, Speaker, StageStatus, UploadedFile
from .services import upload_create, upload_delete

logger = logging.getLogger(__name__)

# A multipart body is the file plus boundaries, part headers and the CSRF field.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
UPLOADS_PER_PAGE = 50


@dataclass(frozen=True)
class StageView:
    name: str
    label: str
    status: str
    progress: float
    error: str
    note: str = ""  # where a running stage is, e.g. "chunk 2 of 5"

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def badge(self) -> str:
        if self.status != StageStatus.RUNNING:
            return self.status
        return f"{self.status} {self.progress:.0f}%" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class TimedText:
    start: float
    text: str
    language: str = ""  # set on a segment spoken in another language than the recording's
    speaker: str = ""  # the speaker's label ("S1"), from the speakers stage
    speaker_name: str = ""  # what people read ("Tanaka", "Speaker 1")
    colour: int = 0  # the speaker's colour class (spk-0 ... spk-7)

    @property
    def seek(self) -> str:
        return f"{self.start:.3f}"  # never localised: JS parses it

    @property
    def label(self) -> str:
        minutes, seconds = divmod(int(self.start), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:.1f} MB"


def _visible_uploads(request: HttpRequest) -> QuerySet[UploadedFile]:
    return visible_uploads(request.user)


def _stages(upload: UploadedFile) -> list[StageView]:
    views = []
    for key, label in pipeline.stage_labels():
        run = upload.stage(key)
        views.append(
            StageView(
                name=key, label=label, status=run.status, progress=run.progress, error=run.error, note=run.progress_note
            )
        )
    return views


SPEAKER_COLOURS = 8  # spk-0 ... spk-7 in app.css


@dataclass(frozen=True)
class SpeakerView:
    label: str
    name: str
    renamed: bool
    colour: int
    talk: str  # "01:23"
    share: float  # percent of all talk time
    turns: int


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _speakers(upload: UploadedFile) -> list[SpeakerView]:
    rows = list(upload.speakers.all())
    total = sum(s.talk_seconds for s in rows) or 1.0
    return [
        SpeakerView(
            label=s.label,
            name=s.display_name,
            renamed=bool(s.name.strip()),
            colour=s.index % SPEAKER_COLOURS,
            talk=_clock(s.talk_seconds),
            share=round(100.0 * s.talk_seconds / total, 1),
            turns=s.turns,
        )
        for s in rows
    ]


def _timed(items: list[dict[str, Any]], speakers: list[SpeakerView] | None = None) -> list[TimedText]:
    by_label = {s.label: s for s in speakers or []}
    out = []
    for item in items:
        who = by_label.get(str(item.get("speaker") or ""))
        out.append(
            TimedText(
                start=float(item.get("start") or 0),
                text=str(item.get("text", "")),
                language=str(item.get("language", "")),
                speaker=who.label if who else "",
                speaker_name=who.name if who else "",
                colour=who.colour if who else 0,
            )
        )
    return out


def _hls_master_url(upload: UploadedFile) -> str | None:
    if upload.stage_status("hls") != StageStatus.SUCCEEDED or not upload.hls_master:
        return None
    return media_url(upload.hls_master)


def _poster_url(upload: UploadedFile) -> str | None:
    return media_url(upload.hls_poster) if upload.hls_poster else None


def _status_payload(upload: UploadedFile) -> dict[str, Any]:
    stages = {
        s.name: {"status": s.status, "progress": s.progress, "note": s.note, "error": s.error} for s in _stages(upload)
    }
    return {
        "id": upload.pk,
        "stages": stages,
        "finished": upload.is_finished,
        "hls_master_url": _hls_master_url(upload),
        "poster_url": _poster_url(upload),
    }


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.headers.get("X-Requested-With") == "XMLHttpRequest" or "application/json" in accept


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@login_required
@require_GET
def upload_list(request: HttpRequest) -> HttpResponse:
    uploads = _visible_uploads(request).prefetch_related("stage_runs")
    page = Paginator(uploads, UPLOADS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(upload, _stages(upload)) for upload in page]
    return render(request, "uploads/list.html", {"page": page, "rows": rows})


@csrf_exempt  # checked in _upload_form, after the size check: the middleware would read the whole body first
@login_required
@require_http_methods(["GET", "POST"])
def upload_new(request: HttpRequest) -> HttpResponseBase:
    if request.method == "POST":
        refused = _refuse_oversize(request)
        if refused is not None:
            return refused
    return _upload_form(request)


def _refuse_oversize(request: HttpRequest) -> HttpResponse | None:
    """413 from the declared Content-Length alone, before request.FILES spools the body to disk."""
    declared, limit = _declared_length(request), settings.UPLOAD_MAX_BYTES
    if declared <= limit + MULTIPART_OVERHEAD_BYTES:
        return None
    message = f"The upload is {_megabytes(declared)}; the limit is {_megabytes(limit)} (UPLOAD_MAX_BYTES)."
    logger.info("Upload refused before reading: user %s sent Content-Length %s", request.user.pk, declared)
    return _upload_error(request, UploadForm(), message, status=413)


@csrf_protect
def _upload_form(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return _render_upload_page(request, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        message = " ".join(str(error) for errors in form.errors.values() for error in errors)
        return _upload_error(request, form, message, status=400)
    file = form.cleaned_data["file"]
    try:
        upload = upload_create(file=file, original_name=file.name or "", uploader=request.user)
    except ValidationError as exc:
        logger.info("Upload refused: user %s, %s", request.user.pk, exc.messages)
        return _upload_error(request, form, " ".join(exc.messages), status=400)
    logger.info("Upload %s created by user %s", upload.pk, request.user.pk)
    url = reverse("upload_detail", args=[upload.pk])
    if _wants_json(request):
        return JsonResponse({"id": upload.pk, "url": url}, status=201)
    return redirect(url)


def _upload_error(request: HttpRequest, form: UploadForm, message: str, *, status: int) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": message}, status=status)
    return _render_upload_page(request, form, error=message, status=status)


def _render_upload_page(request: HttpRequest, form: UploadForm, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "error": error,
        "max_bytes": settings.UPLOAD_MAX_BYTES,
        "max_label": _megabytes(settings.UPLOAD_MAX_BYTES),
    }
    return render(request, "uploads/upload.html", context, status=status)


@login_required
@require_GET
def upload_detail(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(_visible_uploads(request), pk=upload_id)
    stages = _stages(upload)
    speakers = _speakers(upload)
    context = {
        "upload": upload,
        "stages": stages,
        "state": {stage.name: stage.status for stage in stages},
        "language_name": pipeline.language_name(upload.language),
        "status": _status_payload(upload),
        "speakers": speakers,
        "segments": _timed(upload.transcript_segments or [], speakers),
        "translation": _timed(upload.translation_segments or [], speakers),
        "summary_items": _timed(upload.summary_items or [], speakers),
        "issues": _timed(upload.issues or [], speakers),
        "solutions": _timed(upload.solutions or [], speakers),
        "export_formats": ["vtt", "srt", "txt"],
    }
    return render(request, "uploads/detail.html", context)


@login_required
@require_http_methods(["POST"])
def speaker_rename_view(request: HttpRequest, upload_id: int, label: str) -> HttpResponse:
    """Name a speaker (the detail page's form); the transcript, exports, subtitles and analysis follow."""
    upload = get_object_or_404(_visible_uploads(request), pk=upload_id)
    name = request.POST.get("name", "")
    try:
        pipeline.speaker_rename(upload, label, name)
    except Speaker.DoesNotExist:  # no such label, or the speakers stage replaced them meanwhile
        raise Http404("no such speaker") from None
    logger.info("Upload %s speaker %s renamed by user %s", upload_id, label, request.user.pk)
    messages.success(request, f"Speaker renamed to {' '.join(name.split()) or 'its default name'}.")
    return redirect(reverse("upload_detail", args=[upload.pk]) + "#speakers")


@login_required
@require_GET
def transcript_download(request: HttpRequest, upload_id: int, fmt: str) -> HttpResponse:
    """The transcript as .vtt, .srt or .txt, with speakers' current names."""
    upload = get_object_or_404(_visible_uploads(request), pk=upload_id)
    exported = pipeline.transcript_export(upload, fmt)
    if exported is None or not upload.transcript_segments:
        raise Http404("no transcript in that format")
    body, content_type, filename = exported
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@login_required
@require_GET
def upload_status(request: HttpRequest, upload_id: int) -> JsonResponse:
    upload = get_object_or_404(_visible_uploads(request), pk=upload_id)
    return JsonResponse(_status_payload(upload))


@login_required
@require_http_methods(["GET", "POST"])
def upload_delete_view(request: HttpRequest, upload_id: int) -> HttpResponse:
    """A confirmation page (GET), then what admin's delete does (POST): tasks revoked, ffmpeg and
    Whisper stopped, the row and every file removed."""
    upload = get_object_or_404(_visible_uploads(request), pk=upload_id)
    if request.method != "POST":
        return render(request, "uploads/delete.html", {"upload": upload, "stages": _stages(upload)})
    name = upload.original_name
    upload_delete(upload=upload)
    logger.info("Upload %s deleted by user %s", upload_id, request.user.pk)
    messages.success(request, f"Deleted {name}: its processing was stopped and its files removed.")
    return redirect("upload_list")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For healthchecks: the process answers and reaches its database (exempt from the SSL redirect)."""
    connection.ensure_connection()
    return HttpResponse("ok\n", content_type="text/plain")


# Browsers ask every page's origin for /favicon.ico (Django admin's pages name no icon): a small
# icon here, instead of a 404 in every console.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" '
    'fill="#0969da"/><path d="M6 4.5v7l6-3.5z" fill="#fff"/></svg>'
)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(FAVICON, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
