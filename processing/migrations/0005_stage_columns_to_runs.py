"""Each upload's per-stage columns become its StageRun rows, and back again (reversible).

The stages and column names are written out here, as they were when the columns existed: a
migration must not read the live registry, which later stages extend."""

from typing import Any

from django.db import migrations

STAGES = ("transcription", "analysis", "hls")
# StageRun field <- the upload's "<stage>_<column>"
COLUMNS = {
    "status": "status",
    "task_id": "task_id",
    "started_at": "started_at",
    "finished_at": "finished_at",
    "error": "error",
    "progress": "progress",
    "heartbeat_at": "heartbeat_at",
    "attempts": "attempts",
    "owner": "claimed_by",
}
BATCH = 500


def columns_to_runs(apps: Any, schema_editor: Any) -> None:
    UploadedFile = apps.get_model("uploads", "UploadedFile")
    StageRun = apps.get_model("processing", "StageRun")
    db = schema_editor.connection.alias
    names = ["id", "stage_details"] + [f"{stage}_{column}" for stage in STAGES for column in COLUMNS.values()]
    batch: list[Any] = []
    for row in UploadedFile.objects.using(db).order_by("id").values(*names).iterator(chunk_size=BATCH):
        details = row["stage_details"] or {}
        for stage in STAGES:
            fields = {field: row[f"{stage}_{column}"] for field, column in COLUMNS.items()}
            batch.append(StageRun(upload_id=row["id"], stage=stage, detail=str(details.get(stage, "")), **fields))
        if len(batch) >= BATCH:
            StageRun.objects.using(db).bulk_create(batch)
            batch = []
    StageRun.objects.using(db).bulk_create(batch)


def runs_to_columns(apps: Any, schema_editor: Any) -> None:
    UploadedFile = apps.get_model("uploads", "UploadedFile")
    StageRun = apps.get_model("processing", "StageRun")
    db = schema_editor.connection.alias
    runs = StageRun.objects.using(db).filter(stage__in=STAGES).order_by("upload_id", "id")
    current: int | None = None
    changes: dict[str, Any] = {}
    for run in runs.iterator(chunk_size=BATCH):
        if run.upload_id != current:
            if current is not None:
                UploadedFile.objects.using(db).filter(pk=current).update(**changes)
            current, changes = run.upload_id, {"stage_details": {}}
        changes.update({f"{run.stage}_{column}": getattr(run, field) for field, column in COLUMNS.items()})
        if run.detail:
            changes["stage_details"][run.stage] = run.detail
    if current is not None:
        UploadedFile.objects.using(db).filter(pk=current).update(**changes)
    runs.delete()  # the columns hold them again; forwards again starts from the columns alone


class Migration(migrations.Migration):
    dependencies = [
        ("processing", "0004_stagerun"),
        ("uploads", "0003_media_guard"),
    ]

    operations = [migrations.RunPython(columns_to_runs, runs_to_columns)]
