"""Beat schedules: the daily payout report, and the settlements of the campaigns that exist.

Later campaigns get theirs from `settlement_schedule_sync` when ops save them in the admin.
"""

import json
from datetime import timedelta

from django.db import migrations

from campaign.periods import slice_window


def create_schedules(apps, schema_editor):
    Campaign = apps.get_model("campaign", "Campaign")
    ClockedSchedule = apps.get_model("django_celery_beat", "ClockedSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # 01:00 UTC is 09:00 in Shanghai, when finance starts the day.
    daily, _ = CrontabSchedule.objects.get_or_create(minute="0", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(name="Daily payout report", defaults={"task": "rewards.tasks.payout_report_daily_task", "crontab": daily})
    for campaign in Campaign.objects.all():
        grace = timedelta(hours=campaign.grace_hours)
        final = campaign.ends_at + grace
        periods = slice_window(campaign.starts_at, campaign.ends_at, days=campaign.content_period_days, prefix="P")
        due = [(p.code, p.ends_at + grace) for p in periods if p.ends_at + grace != final] + [("final", final)]
        for label, instant in due:
            clock, _ = ClockedSchedule.objects.get_or_create(clocked_time=instant)
            PeriodicTask.objects.get_or_create(
                name=f"settle {campaign.slug} {label}",
                defaults={"task": "rewards.tasks.settle_campaign_task", "clocked": clock, "one_off": True,
                          "args": json.dumps([campaign.pk]), "kwargs": json.dumps({"triggered_by": f"beat: settle {campaign.slug} {label}"})},
            )  # fmt: skip


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task__in=["rewards.tasks.payout_report_daily_task", "rewards.tasks.settle_campaign_task"]).delete()


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial"), ("campaign", "0004_feed_pull_schedule"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
