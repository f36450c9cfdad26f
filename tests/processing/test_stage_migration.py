"""The migration that turned 27 per-stage columns into StageRun rows, run both ways on a populated
database: every value comes through, forwards and back again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("uploads", "0003_media_guard"), ("processing", "0004_stagerun")]
AFTER = [("uploads", "0004_stage_runs_replace_columns"), ("processing", "0005_stage_columns_to_runs")]
T0 = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)

# Three uploads as they could be found in a live database when the migration runs.
UPLOADS: list[dict[str, Any]] = [
    {"original_name": "new.mp4", "media_kind": "video"},  # every column at its default
    {
        "original_name": "running.mp4", "media_kind": "video",
        "transcription_status": "succeeded", "transcription_task_id": "t-1", "transcription_progress": 100.0,
        "transcription_started_at": T0, "transcription_finished_at": T0, "transcription_attempts": 1,
        "transcription_claimed_by": "w1:10:20", "transcription_heartbeat_at": T0,
        "analysis_status": "running", "analysis_task_id": "a-1", "analysis_progress": 12.5,
        "analysis_started_at": T0, "analysis_attempts": 2, "analysis_claimed_by": "w2:11:21",
        "analysis_heartbeat_at": T0, "analysis_error": "retrying: OperationalError: db gone",
        "hls_status": "queued", "hls_task_id": "h-1",
    },
    {
        "original_name": "bad.m4a", "media_kind": "audio",
        "transcription_status": "failed", "transcription_task_id": "t-2", "transcription_error": "not a media file",
        "transcription_finished_at": T0, "transcription_attempts": 1,
        "analysis_status": "skipped", "analysis_error": "not run: Transcription failed",
        "hls_status": "skipped", "hls_error": "audio upload: there is no video to stream",
        "stage_details": {"transcription": "InvalidMedia: moov atom not found"},
    },
]  # fmt: skip
STAGES = ("transcription", "analysis", "hls")
COLUMNS = ("status", "task_id", "started_at", "finished_at", "error", "progress", "heartbeat_at", "attempts",
           "claimed_by")  # fmt: skip


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def at_columns() -> Iterator[Any]:
    """The schema as it was before StageRun held the state; the latest schema again afterwards."""
    apps = _migrate(BEFORE)
    try:
        yield apps
    finally:
        executor = MigrationExecutor(connection)
        _migrate(executor.loader.graph.leaf_nodes())


def _columns(apps: Any) -> dict[str, dict[str, Any]]:
    model = apps.get_model("uploads", "UploadedFile")
    names = [f"{stage}_{column}" for stage in STAGES for column in COLUMNS] + ["stage_details"]
    return {row["original_name"]: row for row in model.objects.values("original_name", *names)}


def test_columns_become_stage_runs_and_come_back(at_columns: Any) -> None:
    old = at_columns.get_model("uploads", "UploadedFile")
    for fields in UPLOADS:
        old.objects.create(file=f"uploads/{fields['original_name']}", size=1, **fields)
    before = _columns(at_columns)

    apps = _migrate(AFTER)
    runs = apps.get_model("processing", "StageRun").objects.select_related("upload")
    assert runs.count() == len(UPLOADS) * len(STAGES)
    by_name = {(run.upload.original_name, run.stage): run for run in runs}
    for name, row in before.items():
        for stage in STAGES:
            run = by_name[(name, stage)]
            for column in COLUMNS:
                field = "owner" if column == "claimed_by" else column
                assert getattr(run, field) == row[f"{stage}_{column}"], (name, stage, column)
            assert run.detail == (row["stage_details"] or {}).get(stage, "")
    assert by_name[("running.mp4", "analysis")].owner == "w2:11:21"
    assert by_name[("bad.m4a", "transcription")].detail == "InvalidMedia: moov atom not found"
    upload_fields = {f.name for f in apps.get_model("uploads", "UploadedFile")._meta.get_fields()}
    assert not {f"{stage}_{column}" for stage in STAGES for column in COLUMNS} & upload_fields
    assert "stage_details" not in upload_fields

    back = _migrate(BEFORE)  # processing 0005 backwards: uploads 0004 first, then the rows to columns
    assert _columns(back) == before
    assert not back.get_model("processing", "StageRun").objects.exists()  # so that forwards works again

    again = _migrate(AFTER)
    assert again.get_model("processing", "StageRun").objects.count() == len(UPLOADS) * len(STAGES)
