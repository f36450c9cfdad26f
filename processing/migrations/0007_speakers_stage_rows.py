"""Uploads made before the speakers stage existed get a speakers row, skipped with the way to run it,
so that their pipeline still reads as finished (a missing row reads as pending)."""

from django.db import migrations

REASON = "added after this upload was processed: reprocess from the speakers stage to find its speakers"


def forwards(apps, schema_editor):
    StageRun = apps.get_model("processing", "StageRun")
    UploadedFile = apps.get_model("uploads", "UploadedFile")
    have = StageRun.objects.filter(stage="speakers").values_list("upload_id", flat=True)
    StageRun.objects.bulk_create(
        StageRun(upload_id=pk, stage="speakers", status="skipped", error=REASON)
        for pk in UploadedFile.objects.exclude(pk__in=have).values_list("pk", flat=True)
    )


def backwards(apps, schema_editor):
    apps.get_model("processing", "StageRun").objects.filter(stage="speakers", error=REASON).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("processing", "0006_stagerun_progress_note"),
        ("uploads", "0006_speakers"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
