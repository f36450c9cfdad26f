"""The periodic tasks, registered once in django-celery-beat so that admin shows and owns them.

Registration creates what is missing and never overwrites a schedule an operator edited; Beat's
DatabaseScheduler reads them (a CELERY_BEAT_SCHEDULE setting would be re-applied over admin edits
at every Beat restart)."""

from __future__ import annotations

from typing import Any

SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "pipeline watchdog: recover stuck stages",
        "task": "processing.tasks.recover_stuck_async",
        "interval": {"every": 60, "period": "seconds"},
        "description": "Re-queues stages whose worker died or whose message was lost; fails them after "
        "PIPELINE_MAX_ATTEMPTS. Same as `manage.py recover_stuck`.",
    },
    {
        "name": "celery results cleanup (result expiry)",
        "task": "celery.backend_cleanup",
        "crontab": {"minute": "0", "hour": "4"},
        "description": "Deletes task results older than CELERY_RESULT_EXPIRES (runs only under Beat).",
    },
    {
        "name": "pipeline scratch cleanup",
        "task": "processing.tasks.cleanup_scratch_async",
        "interval": {"every": 1, "period": "hours"},
        "description": "Removes HLS scratch folders older than PIPELINE_SCRATCH_MAX_AGE left by killed workers.",
    },
]


def register_schedules(periodic_task: Any, interval_schedule: Any, crontab_schedule: Any) -> list[str]:
    """Create the missing periodic tasks (model classes passed in, so a migration can use its own)."""
    created = []
    for spec in SCHEDULES:
        if periodic_task.objects.filter(name=spec["name"]).exists():
            continue
        fields: dict[str, Any] = {"name": spec["name"], "task": spec["task"], "description": spec["description"]}
        if "interval" in spec:
            fields["interval"], _ = interval_schedule.objects.get_or_create(**spec["interval"])
        else:
            fields["crontab"], _ = crontab_schedule.objects.get_or_create(
                **spec["crontab"], day_of_week="*", day_of_month="*", month_of_year="*"
            )
        periodic_task.objects.create(**fields)
        created.append(spec["name"])
    return created
