"""`manage.py setup_periodic_tasks`: register the Beat schedules (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from processing.schedules import SCHEDULES, register_schedules


class Command(BaseCommand):
    help = (
        "Create the pipeline's periodic tasks in django-celery-beat where missing (the migration already "
        "did once). Existing ones are left as admin has them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        created = register_schedules(PeriodicTask, IntervalSchedule, CrontabSchedule)
        for spec in SCHEDULES:
            state = "created" if spec["name"] in created else "exists"
            self.stdout.write(f"{state:<8} {spec['name']} -> {spec['task']}")
