"""Admin: uploads with their stage runs, their results and links to their Celery task results. The
stage columns, filters, actions and the stages table come from processing.registry."""

from __future__ import annotations

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

from uploads.media import media_url
from uploads.models import Speaker, UploadedFile
from uploads.services import upload_create, upload_delete, upload_validate

from ..exports import EXPORT_FORMATS, transcript_export
from ..pipeline import first_unsucceeded_stage, pipeline_cancel, pipeline_resume, pipeline_stages
from ..registry import STAGES
from ..speakers.republish import republish_subtitles
from .records import TaskAttemptInline, task_result_link
from .stages import badge, badge_column, status_filter

# Transcript exports offered on an upload's admin page (and on its detail page).
SUBTITLE_FORMATS = EXPORT_FORMATS


class UploadForm(forms.ModelForm):
    """Adding an upload in admin goes through upload_create: same checks, same pipeline."""

    class Meta:
        model = UploadedFile
        fields = ["file"]

    def clean_file(self) -> Any:
        file = self.cleaned_data["file"]
        upload_validate(file=file)
        return file


class SpeakerInline(admin.TabularInline):
    """The voices the speakers stage found; staff rename them here as users do on the detail page."""

    model = Speaker
    extra = 0
    can_delete = False
    fields = ["label", "name", "talk_seconds", "turns"]
    readonly_fields = ["label", "talk_seconds", "turns"]
    verbose_name_plural = 'Speakers (a name replaces "Speaker N" in every view, export and subtitle file)'

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UploadedFile)
class UploadedFileAdmin(admin.ModelAdmin):
    search_fields = ["original_name", "transcript_text", "stage_runs__task_id"]
    date_hierarchy = "created_at"
    inlines = [SpeakerInline, TaskAttemptInline]
    actions = ["cancel", "reprocess_failed"]
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

    # Per stage, from the registry (read per request: an app may register a stage after this class).
    def get_list_display(self, request: HttpRequest) -> Any:
        stages = [badge_column(s.key) for s in STAGES]
        return ["id", "original_name", "media_kind", "duration_s", *stages, "created_at"]

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ["media_kind", *(status_filter(s.key) for s in STAGES), "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[UploadedFile]:
        return super().get_queryset(request).prefetch_related("stage_runs")

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        for stage in STAGES:
            name = f"reprocess_{stage.key}"
            actions[name] = (_reprocess_action(stage.key), name, f"Reprocess from {stage.label}")  # type: ignore[assignment]
        return actions

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = UploadForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [(None, {"fields": ["file"]})] if obj is None else self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is Speaker and formset.has_changed():
            republish_subtitles(form.instance)  # the published subtitles show the new names

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

    @admin.display(description="Duration (s)", ordering="duration")
    def duration_s(self, obj: UploadedFile) -> str:
        return f"{obj.duration:.1f}" if obj.duration is not None else "-"

    @admin.display(description="Stages")
    def stages_table(self, obj: UploadedFile) -> SafeString:
        rows = []
        for stage in STAGES:
            run = obj.stage(stage.key)
            rows.append(
                (
                    stage.label,
                    badge(run),
                    task_result_link(run.task_id),
                    run.started_at or "-",
                    run.finished_at or "-",
                    run.error,
                    run.detail,
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
        body, content_type, filename = transcript_export(upload, fmt)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = content_disposition_header(True, filename)
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


def _reprocess_action(key: str) -> Callable[[UploadedFileAdmin, HttpRequest, QuerySet[UploadedFile]], None]:
    def action(model_admin: UploadedFileAdmin, request: HttpRequest, queryset: QuerySet[UploadedFile]) -> None:
        model_admin._reprocess(request, queryset, key)

    return action
