"""The upload admin's per-stage parts, made from the registry: a badge per stage run, a changelist
column and a ?<stage>_status= filter per stage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from uploads.models import StageStatus, UploadedFile

from ..models import StageRun
from ..registry import spec

BADGE_COLOURS = {
    StageStatus.SUCCEEDED: "#1a7f37",
    StageStatus.FAILED: "#cf222e",
    StageStatus.RUNNING: "#0969da",
    StageStatus.QUEUED: "#9a6700",
    StageStatus.CANCELLED: "#6e7781",
    StageStatus.SKIPPED: "#6e7781",
    StageStatus.PENDING: "#6e7781",
}


def badge(run: StageRun) -> SafeString:
    label = f"{run.status} {run.progress:.0f}%" if run.status == StageStatus.RUNNING else run.status
    return format_html(
        '<span title="{}" style="color:#fff;background:{};padding:1px 6px;border-radius:8px">{}</span>',
        run.error,
        BADGE_COLOURS.get(StageStatus(run.status), "#6e7781"),
        label,
    )


def badge_column(key: str) -> Callable[[UploadedFile], SafeString]:
    """A changelist column with one stage's badge."""

    def column(upload: UploadedFile) -> SafeString:
        return badge(upload.stage(key))

    column.short_description = spec(key).label  # type: ignore[attr-defined]
    column.__name__ = key
    return column


class StageStatusFilter(admin.SimpleListFilter):
    """Filter by one stage's status; ?<stage>_status=failed, as before the stage runs had a table."""

    stage = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in StageStatus.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[UploadedFile]) -> QuerySet[UploadedFile]:
        if self.value() is None:
            return queryset
        return queryset.filter(stage_runs__stage=self.stage, stage_runs__status=self.value())


def status_filter(key: str) -> type[StageStatusFilter]:
    attributes = {"stage": key, "title": f"{spec(key).label} status", "parameter_name": f"{key}_status"}
    return type(f"{key.title()}StatusFilter", (StageStatusFilter,), attributes)
