import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("processing", "0003_taskattempt_event_time"),
        ("uploads", "0003_media_guard"),
    ]

    operations = [
        migrations.CreateModel(
            name="StageRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "stage",
                    models.CharField(
                        help_text="A key of processing.registry: transcription, analysis, hls", max_length=32
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                            ("skipped", "Skipped"),
                            ("cancelled", "Cancelled"),
                        ],
                        db_index=True,
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("task_id", models.CharField(blank=True, db_index=True, max_length=255)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("owner", models.CharField(blank=True, help_text="host:pid:thread of the claim", max_length=255)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("progress", models.FloatField(default=0, verbose_name="progress %")),
                ("error", models.TextField(blank=True)),
                ("detail", models.TextField(blank=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "upload",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stage_runs",
                        to="uploads.uploadedfile",
                    ),
                ),
            ],
            options={
                "ordering": ["upload_id", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("upload", "stage"), name="stagerun_one_per_upload_and_stage")
                ],
            },
        ),
    ]
