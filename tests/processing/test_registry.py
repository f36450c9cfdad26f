"""The stage registry is the one description of a stage: everything that names a stage agrees with it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from config.celery import app
from processing import registry, tasks
from processing.lifecycle import stage_of_task
from processing.pipeline import pipeline_resume, pipeline_stages, stage_tasks
from uploads.models import StageStatus, UploadedFile

ROOT = Path(__file__).resolve().parents[2]


def test_every_stage_has_a_routed_task_on_a_declared_queue() -> None:
    assert registry.keys() == ["transcription", "speakers", "analysis", "hls"]  # the chain's order
    assert tasks  # imported: the stage tasks are registered
    for spec in registry.STAGES:
        task = app.tasks[spec.task_name]
        assert settings.CELERY_TASK_ROUTES[spec.task_name] == {"queue": spec.queue}
        assert spec.queue in settings.CELERY_QUEUE_TABLE
        assert task.time_limit == settings.CELERY_QUEUE_TABLE[spec.queue]["time_limit"]
        assert callable(spec.load_service())
        assert stage_of_task(spec.task_name) == spec.key
    assert {key: task.name for key, task in stage_tasks().items()} == {s.key: s.task_name for s in registry.STAGES}


def test_the_chain_follows_the_media_kind() -> None:
    assert pipeline_stages(UploadedFile(media_kind="audio")) == ["transcription", "speakers", "analysis"]
    assert pipeline_stages(UploadedFile(media_kind="video")) == ["transcription", "speakers", "analysis", "hls"]


def test_the_task_names_the_runbook_uses_are_the_registrys() -> None:
    runbook = (ROOT / "docs" / "worker_ops.md").read_text()
    for spec in registry.STAGES:
        assert spec.task_name.rsplit(".", 1)[1] in runbook
        assert spec.phrase in runbook


def test_media_tools_import_no_django() -> None:
    for path in (ROOT / "processing" / "media").glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        assert not [name for name in imported if name and name.split(".")[0] in ("django", "uploads")], path.name


@pytest.mark.django_db
def test_a_stage_registered_after_an_upload_was_made_gets_its_row_when_queued() -> None:
    upload = UploadedFile.objects.create(original_name="old.mp4", size=1, media_kind="video", file="uploads/old.mp4")
    late = registry.StageSpec(
        key="late", label="Late", task_name="tests.late_async", queue="analysis", service="tests:none",
        phrase="Late stage", done="completed", media_kinds=frozenset({registry.VIDEO}),
    )  # fmt: skip
    registry.register(late, after="transcription")
    try:
        assert registry.keys() == ["transcription", "late", "speakers", "analysis", "hls"]
        assert upload.stage("late").status == StageStatus.PENDING  # no row yet: reads as pending
        assert upload.stage("late").pk is None
        with pytest.raises(ValueError, match="already registered"):
            registry.register(late)
        with transaction.atomic():
            pipeline_resume(upload, from_stage="late", send=lambda upload_id, task_ids: None)
        upload.refresh_from_db()
        assert [run.stage for run in upload.runs()] == ["transcription", "speakers", "analysis", "hls", "late"]
        assert (upload.stage("late").status, upload.stage("hls").status) == (StageStatus.QUEUED,) * 2
        assert upload.stage("transcription").status == StageStatus.PENDING  # before it: untouched
    finally:
        registry.unregister("late")
    assert registry.keys() == ["transcription", "speakers", "analysis", "hls"]
