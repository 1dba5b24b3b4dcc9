"""Beat crontabs in Asia/Shanghai, the zone the team works in, firing at the same instants.

0002 and 0004 wrote them in UTC: the daily payout report at "0 1" (09:00 in Shanghai), the
featured posts at "5 16" (00:05 there, just after a campaign day ends), the star traders hourly
at minute 10. Shanghai keeps UTC+8 all year (no daylight saving since 1991), so an hour h in UTC
is (h + 8) % 24 there and the minutes stay. Only crontabs these tasks use, every day of every
month, with plain hours: with a weekday or day of month, the day would move with the hour across
midnight, and ranges or steps would need rewriting; such an entry is ops' own and stays as written.
"""

from django.db import migrations
from django.utils import timezone

TASKS = ["rewards.tasks.payout_report_daily_task", "rewards.tasks.featured_posts_daily_task", "rewards.tasks.weekly_stars_task"]
SHIFT = {"UTC": ("Asia/Shanghai", 8), "Asia/Shanghai": ("UTC", -8)}


def _shifted(hour: str, hours: int) -> str | None:
    """The hour field moved by `hours`, or None when it is not "*" or a list of plain hours."""
    if hour == "*":
        return hour
    parts = hour.split(",")
    if not all(part.isdigit() for part in parts):
        return None
    return ",".join(str((int(part) + hours) % 24) for part in parts)


def _move(apps, source: str) -> None:
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    target, hours = SHIFT[source]
    crontabs = CrontabSchedule.objects.filter(periodictask__task__in=TASKS, day_of_week="*", day_of_month="*", month_of_year="*").distinct()
    moved = 0
    for crontab in crontabs:
        hour = _shifted(crontab.hour, hours)
        if str(crontab.timezone) != source or hour is None:
            continue
        crontab.hour, crontab.timezone = hour, target
        crontab.save(update_fields=["hour", "timezone"])
        moved += 1
    if moved:  # a running beat reloads its schedule when this stamp changes
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def to_shanghai(apps, schema_editor):
    _move(apps, "UTC")


def to_utc(apps, schema_editor):
    _move(apps, "Asia/Shanghai")


class Migration(migrations.Migration):
    dependencies = [("rewards", "0010_settlement_run_state_task_id"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(to_shanghai, to_utc)]
