"""The scheduled settlements (one per period's end + grace) judge every post again.

Settlements judge incrementally since campaign 0011 (`JudgingState`); the ones at which money
falls due pass `full_judge`. Schedules written before get the flag here; `settlement_schedule_sync`
writes it for every later one.
"""

import json

from django.db import migrations

SETTLE_TASK = "rewards.tasks.settle_campaign_task"


def add_flag(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for task in PeriodicTask.objects.filter(task=SETTLE_TASK, name__startswith="settle "):
        kwargs = json.loads(task.kwargs or "{}")
        if not kwargs.get("full_judge"):
            task.kwargs = json.dumps({**kwargs, "full_judge": True})
            task.save(update_fields=["kwargs"])


def remove_flag(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for task in PeriodicTask.objects.filter(task=SETTLE_TASK, name__startswith="settle "):
        kwargs = json.loads(task.kwargs or "{}")
        if kwargs.pop("full_judge", None) is not None:
            task.kwargs = json.dumps(kwargs)
            task.save(update_fields=["kwargs"])


class Migration(migrations.Migration):
    dependencies = [("rewards", "0006_engagement_jump_thresholds"), ("campaign", "0011_judging_state"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(add_flag, remove_flag)]
