from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "processing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery signal handlers: the checks that run when a worker starts and the per-task database
        # connection check (first: it must run before lifecycle's task_prerun record), lifecycle records.
        from . import worker_hooks  # noqa: F401, I001
        from . import lifecycle  # noqa: F401
