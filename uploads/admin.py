"""Admin: uploads with per-stage state, their results and links to their Celery task results."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString

from processing.admin import TaskAttemptInline
from processing.media.subtitles import to_srt, to_webvtt
from processing.pipeline import first_unsucceeded_stage, pipeline_cancel, pipeline_resume, pipeline_stages

from .media import media_url
from .models import Stage, StageStatus, UploadedFile
from .services import upload_create, upload_delete, upload_validate


def _plain_text(segments: list[dict[str, Any]]) -> str:
    return "\n".join(str(s["text"]) for s in segments) + "\n"


# Transcript exports offered on an upload's admin page.
SUBTITLE_FORMATS: dict[str, tuple[Callable[[list[dict[str, Any]]], str], str]] = {
    "vtt": (to_webvtt, "text/vtt; charset=utf-8"),
    "srt": (to_srt, "application/x-subrip; charset=utf-8"),
    "txt": (_plain_text, "text/plain; charset=utf-8"),
}
BADGE_COLOURS = {
    StageStatus.SUCCEEDED: "#1a7f37",
    StageStatus.FAILED: "#cf222e",
    StageStatus.RUNNING: "#0969da",
    StageStatus.QUEUED: "#9a6700",
    StageStatus.CANCELLED: "#6e7781",
    StageStatus.SKIPPED: "#6e7781",
    StageStatus.PENDING: "#6e7781",
}


def _badge(upload: UploadedFile, stage: str) -> SafeString:
    status = upload.stage_status(stage)
    error = getattr(upload, f"{stage}_error")
    progress = getattr(upload, f"{stage}_progress")
    label = f"{status} {progress:.0f}%" if status == StageStatus.RUNNING else status
    return format_html(
        '<span title="{}" style="color:#fff;background:{};padding:1px 6px;border-radius:8px">{}</span>',
        error,
        BADGE_COLOURS.get(StageStatus(status), "#6e7781"),
        label,
    )


class UploadForm(forms.ModelForm):
    """Adding an upload in admin goes through upload_create: same checks, same pipeline."""

    class Meta:
        model = UploadedFile
        fields = ["file"]

    def clean_file(self) -> Any:
        file = self.cleaned_data["file"]
        upload_validate(file=file)
        return file


@admin.register(UploadedFile)
class UploadedFileAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "media_kind", "duration_s", "transcription", "analysis", "hls", "created_at"]
    list_filter = ["media_kind", "transcription_status", "analysis_status", "hls_status", "created_at"]
    search_fields = ["original_name", "transcript_text", "transcription_task_id", "analysis_task_id", "hls_task_id"]
    date_hierarchy = "created_at"
    inlines = [TaskAttemptInline]
    actions = ["cancel", "reprocess_failed", "reprocess_transcription", "reprocess_analysis", "reprocess_hls"]
    readonly_fields = [
        "original_name", "size", "media_kind", "duration", "has_audio", "width", "height", "uploader", "created_at",
        "container_format", "audio_stream", "audio_tracks",
        "stages_table", "language", "transcript", "summary_list", "issues_list", "solutions_list",
        "analysis_backend", "analysis_model", "analysis_meta", "transcription_engine", "transcription_model",
        "language_probability", "transcription_seconds",
        "hls_link", "poster", "subtitle_downloads", "hls_encoder", "hls_fallback_reason",
    ]  # fmt: skip
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "original_name",
                    "size",
                    "media_kind",
                    "container_format",
                    "duration",
                    "has_audio",
                    "audio_tracks",
                    "audio_stream",
                    "width",
                    "height",
                ]
            },
        ),
        ("Pipeline", {"fields": ["stages_table"]}),
        (
            "Transcript",
            {
                "fields": [
                    "language",
                    "language_probability",
                    "transcription_engine",
                    "transcription_model",
                    "transcription_seconds",
                    "transcript",
                    "subtitle_downloads",
                ]
            },
        ),
        (
            "Analysis",
            {
                "fields": [
                    "summary_list",
                    "issues_list",
                    "solutions_list",
                    "analysis_backend",
                    "analysis_model",
                    "analysis_meta",
                ]
            },
        ),
        ("HLS", {"fields": ["hls_link", "poster", "hls_encoder", "hls_fallback_reason"]}),
        ("Provenance", {"fields": ["uploader", "created_at"]}),
    ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = UploadForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [(None, {"fields": ["file"]})] if obj is None else self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: UploadedFile, form: Any, change: bool) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        # The form already ran upload_validate; upload_create checks again and owns the pipeline start.
        file = form.cleaned_data["file"]
        obj.pk = upload_create(file=file, original_name=file.name, uploader=request.user).pk
        return None

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.inlines

    def delete_model(self, request: HttpRequest, obj: UploadedFile) -> None:
        upload_delete(upload=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[UploadedFile]) -> None:
        for upload in queryset:
            upload_delete(upload=upload)

    @admin.action(description="Cancel the pipeline (revokes its tasks)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[UploadedFile]) -> None:
        revoked = sum(len(pipeline_cancel(upload)) for upload in queryset)
        self.message_user(request, f"cancelled {queryset.count()} upload(s); revoked {revoked} task(s)")

    def _reprocess(self, request: HttpRequest, queryset: QuerySet[UploadedFile], stage: str | None) -> None:
        queued = 0
        for upload in queryset:
            start = stage or first_unsucceeded_stage(upload)
            if start is None or start not in pipeline_stages(upload):
                self.message_user(request, f"#{upload.pk}: nothing to reprocess from {start}", messages.WARNING)
                continue
            with transaction.atomic():
                pipeline_resume(upload, from_stage=start)
            queued += 1
        self.message_user(request, f"re-queued {queued} upload(s)")

    @admin.action(description="Reprocess from the first stage that did not succeed")
    def reprocess_failed(self, request: HttpRequest, queryset: QuerySet[UploadedFile]) -> None:
        self._reprocess(request, queryset, None)

    @admin.action(description="Reprocess from transcription")
    def reprocess_transcription(self, request: HttpRequest, queryset: QuerySet[UploadedFile]) -> None:
        self._reprocess(request, queryset, Stage.TRANSCRIPTION)

    @admin.action(description="Reprocess from AI analysis")
    def reprocess_analysis(self, request: HttpRequest, queryset: QuerySet[UploadedFile]) -> None:
        self._reprocess(request, queryset, Stage.ANALYSIS)

    @admin.action(description="Reprocess from HLS")
    def reprocess_hls(self, request: HttpRequest, queryset: QuerySet[UploadedFile]) -> None:
        self._reprocess(request, queryset, Stage.HLS)

    @admin.display(description="Duration (s)", ordering="duration")
    def duration_s(self, obj: UploadedFile) -> str:
        return f"{obj.duration:.1f}" if obj.duration is not None else "-"

    @admin.display(description="Transcription", ordering="transcription_status")
    def transcription(self, obj: UploadedFile) -> SafeString:
        return _badge(obj, Stage.TRANSCRIPTION)

    @admin.display(description="Analysis", ordering="analysis_status")
    def analysis(self, obj: UploadedFile) -> SafeString:
        return _badge(obj, Stage.ANALYSIS)

    @admin.display(description="HLS", ordering="hls_status")
    def hls(self, obj: UploadedFile) -> SafeString:
        return _badge(obj, Stage.HLS)

    @admin.display(description="Stages")
    def stages_table(self, obj: UploadedFile) -> SafeString:
        rows = []
        for stage in Stage:
            task_id = getattr(obj, f"{stage}_task_id")
            results_url = reverse("admin:django_celery_results_taskresult_changelist") + f"?q={task_id}"
            rows.append(
                (
                    stage.label,
                    _badge(obj, stage),
                    format_html('<a href="{}">{}</a>', results_url, task_id) if task_id else "-",
                    getattr(obj, f"{stage}_started_at") or "-",
                    getattr(obj, f"{stage}_finished_at") or "-",
                    getattr(obj, f"{stage}_error") or "",
                    (obj.stage_details or {}).get(stage, ""),
                )
            )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            '<td><pre style="white-space:pre-wrap;margin:0">{}</pre></td></tr>',
            rows,
        )
        return format_html(
            "<table><tr><th>Stage</th><th>Status</th><th>Task (results)</th><th>Started</th>"
            "<th>Finished</th><th>Message (shown to the uploader)</th><th>Details (operators only)</th></tr>"
            "{}</table>",
            body,
        )

    @admin.display(description="Transcript")
    def transcript(self, obj: UploadedFile) -> SafeString | str:
        lines = ((f"{s['start']:.1f}", f"{s['end']:.1f}", s["text"]) for s in obj.transcript_segments)
        return format_html_join("", "<div>[{} - {}] {}</div>", lines) or "-"

    @admin.display(description="Summary")
    def summary_list(self, obj: UploadedFile) -> SafeString | str:
        return _items(obj.summary_items) if obj.summary_items else (obj.summary or "-")

    @admin.display(description="Issues raised")
    def issues_list(self, obj: UploadedFile) -> SafeString | str:
        return _items(obj.issues)

    @admin.display(description="Proposed solutions")
    def solutions_list(self, obj: UploadedFile) -> SafeString | str:
        return _items(obj.solutions)

    def get_urls(self) -> list[URLPattern]:
        subtitles = path(
            "<int:pk>/subtitles.<str:fmt>",
            self.admin_site.admin_view(self.subtitles_view),
            name="uploads_uploadedfile_subtitles",
        )
        return [subtitles, *super().get_urls()]

    def subtitles_view(self, request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
        upload = self.get_object(request, str(pk))
        if upload is None or not self.has_view_permission(request, upload) or fmt not in SUBTITLE_FORMATS:
            raise Http404("no such upload or subtitle format")
        render, content_type = SUBTITLE_FORMATS[fmt]
        response = HttpResponse(render(upload.transcript_segments), content_type=content_type)
        stem = os.path.splitext(upload.original_name)[0] or f"upload-{upload.pk}"
        response["Content-Disposition"] = content_disposition_header(True, f"{stem}.{fmt}")
        return response

    @admin.display(description="Subtitles")
    def subtitle_downloads(self, obj: UploadedFile) -> SafeString | str:
        if not obj.transcript_segments:
            return "-"
        links = (
            (reverse("admin:uploads_uploadedfile_subtitles", args=[obj.pk, fmt]), f".{fmt}") for fmt in SUBTITLE_FORMATS
        )
        return format_html_join(" ", '<a href="{}" download>{}</a>', links)

    @admin.display(description="Poster")
    def poster(self, obj: UploadedFile) -> SafeString | str:
        if not obj.hls_poster:
            return "-"
        return format_html('<img src="{}" alt="poster" style="max-width:360px">', media_url(obj.hls_poster))

    @admin.display(description="HLS master playlist")
    def hls_link(self, obj: UploadedFile) -> SafeString | str:
        if not obj.hls_master:
            return "-"
        url = media_url(obj.hls_master)
        return format_html('<a href="{}">{}</a>', url, obj.hls_master)


def _items(items: list[dict[str, Any]]) -> SafeString | str:
    rows = ((f"{i['start']:.1f}", i["text"]) for i in items)
    return format_html_join("", "<li>[{} s] {}</li>", rows) or "-"
