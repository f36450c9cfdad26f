from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "processing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery signal handlers: lifecycle records, the checks that run when a worker starts, and the
        # database connection check before each task.
        # In ready(), not at module level: these import models, which are not loaded while apps are.
        from django.db.models.signals import post_save

        from . import lifecycle, worker_hooks  # noqa: F401
        from .state import stage_runs_create

        # Every upload gets its stage runs when it is made (uploads does not know the stages).
        post_save.connect(stage_runs_create, sender="uploads.UploadedFile", dispatch_uid="processing.stage_runs")
