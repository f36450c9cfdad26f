"""The stage registry is the one description of a stage: everything that names a stage agrees with it."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

from config.celery import app
from processing import registry, tasks
from processing.lifecycle import stage_of_task
from processing.pipeline import pipeline_stages, stage_tasks
from uploads.models import UploadedFile

ROOT = Path(__file__).resolve().parents[2]


def test_every_stage_has_a_routed_task_on_a_declared_queue() -> None:
    assert registry.keys() == ["transcription", "analysis", "hls"]  # the chain's order
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
    assert pipeline_stages(UploadedFile(media_kind="audio")) == ["transcription", "analysis"]
    assert pipeline_stages(UploadedFile(media_kind="video")) == ["transcription", "analysis", "hls"]


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
