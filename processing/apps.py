from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "processing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery signal handlers: lifecycle records, the checks that run when a worker starts, and the
        # database connection check before each task.
        from . import lifecycle, worker_hooks  # noqa: F401
