"""Admin for the operational records: lifecycle events (inline on each upload, and listed) and
dead letters with an action to re-run them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..models import DeadLetter, StageRun, TaskAttempt
from ..pipeline import pipeline_resume


def task_result_link(task_id: str) -> SafeString | str:
    if not task_id:
        return "-"
    url = reverse("admin:django_celery_results_taskresult_changelist") + f"?q={task_id}"
    return format_html('<a href="{}">{}</a>', url, task_id)


class TaskAttemptInline(admin.TabularInline):
    model = TaskAttempt
    fk_name = "upload"
    extra = 0
    can_delete = False
    fields = ["created_at", "stage", "event", "retries", "hostname", "duration", "message", "task_result"]
    readonly_fields = ["created_at", "stage", "event", "retries", "hostname", "duration", "message", "task_result"]
    ordering = ["created_at", "id"]
    verbose_name_plural = "Lifecycle (every attempt of every stage)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Task result")
    def task_result(self, obj: TaskAttempt) -> SafeString | str:
        return task_result_link(obj.task_id)


@admin.register(TaskAttempt)
class TaskAttemptAdmin(admin.ModelAdmin):
    list_display = ["created_at", "upload_id", "stage", "event", "retries", "hostname", "duration", "message"]
    list_filter = ["event", "stage", "hostname"]
    search_fields = ["task_id", "message", "=upload__id"]
    readonly_fields = [f.name for f in TaskAttempt._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ["created_at", "upload", "stage", "task_name", "exception", "rerun_at"]
    list_filter = ["stage", "task_name"]
    search_fields = ["task_id", "exception"]
    readonly_fields = [f.name for f in DeadLetter._meta.fields] + ["task_result"]
    actions = ["rerun"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Task result")
    def task_result(self, obj: DeadLetter) -> SafeString | str:
        return task_result_link(obj.task_id)

    @admin.action(description="Re-run the pipeline from the dead letter's stage")
    def rerun(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        done = 0
        for letter in queryset.select_related("upload"):
            if letter.upload is None:
                self.message_user(request, f"{letter}: its upload was deleted", messages.WARNING)
                continue
            with transaction.atomic():
                pipeline_resume(letter.upload, from_stage=letter.stage)
                DeadLetter.objects.filter(pk=letter.pk).update(rerun_at=timezone.now())
            done += 1
        self.message_user(request, f"re-queued {done} upload(s)")


@admin.register(StageRun)
class StageRunAdmin(admin.ModelAdmin):
    """Every stage run, to find what is running, stuck or failed across uploads (read-only: state
    moves only through the pipeline)."""

    list_display = ["upload_id", "stage", "status", "progress", "attempts", "owner", "heartbeat_at", "finished_at",
                    "task_result"]  # fmt: skip
    list_filter = ["stage", "status"]
    search_fields = ["task_id", "owner", "error", "=upload__id"]
    readonly_fields = [f.name for f in StageRun._meta.fields] + ["task_result"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Task result")
    def task_result(self, obj: StageRun) -> SafeString | str:
        return task_result_link(obj.task_id)
