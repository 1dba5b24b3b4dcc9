"""Beat schedules of traffic support (RULES.md section 7), stored in the database so ops see them.

Featured posts: daily at 16:05 UTC, which is 00:05 in UTC+8, just after each campaign day ends.
Weekly stars: hourly, because campaign weeks start at the window start (any weekday, any hour).
"""

from django.db import migrations

FEATURED_TASK = "rewards.tasks.featured_posts_daily_task"
STARS_TASK = "rewards.tasks.weekly_stars_task"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    daily, _ = CrontabSchedule.objects.get_or_create(minute="5", hour="16", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    hourly, _ = CrontabSchedule.objects.get_or_create(minute="10", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(name="Daily featured posts", defaults={"task": FEATURED_TASK, "crontab": daily})
    PeriodicTask.objects.get_or_create(name="Weekly star traders", defaults={"task": STARS_TASK, "crontab": hourly})


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__in=[FEATURED_TASK, STARS_TASK]).delete()


class Migration(migrations.Migration):
    dependencies = [("rewards", "0003_status_links_traffic"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
