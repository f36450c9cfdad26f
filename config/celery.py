"""The Celery app "config": `celery -A config worker|beat|inspect|purge|control`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("config")
# Every CELERY_* Django setting configures Celery (docs.celeryq.dev, "Using Celery with Django").
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The project's remote-control command (`celery -A config control soft_stop <task_id>`).
import processing.worker_control  # noqa: E402, F401
