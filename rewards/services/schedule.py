"""Beat schedules of settlements, stored with django-celery-beat so ops can see and edit them."""

import json

from django.db import transaction

from campaign.models import Campaign

SETTLE_TASK = "rewards.tasks.settle_campaign_task"


def settlement_due_instants(campaign: Campaign) -> list[tuple[str, object]]:
    """(label, instant) for each content period's end + grace and the window's end + grace."""
    final = campaign.ends_at + campaign.grace
    # The last period ends with the window: its settlement is the final one, scheduled once.
    due = [(period.code, period.ends_at + campaign.grace) for period in campaign.content_periods() if period.ends_at + campaign.grace != final]
    return [*due, ("final", final)]


@transaction.atomic
def settlement_schedule_sync(*, campaign: Campaign) -> list[str]:
    """Create or move the one-off beat tasks that settle `campaign` when each period falls due.

    Idempotent: tasks are keyed by name; moved windows move their clocks; stale ones are removed.
    """
    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    prefix = f"settle {campaign.slug} "
    names = []
    for label, instant in settlement_due_instants(campaign):
        clock, _ = ClockedSchedule.objects.get_or_create(clocked_time=instant)
        name = prefix + label
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": SETTLE_TASK,
                "clocked": clock,
                "interval": None,
                "crontab": None,
                "one_off": True,
                "args": json.dumps([campaign.pk]),
                # Money falls due here: every post is judged again, whatever changed or not.
                "kwargs": json.dumps({"triggered_by": f"beat: {name}", "full_judge": True}),
            },
        )
        names.append(name)
    PeriodicTask.objects.filter(name__startswith=prefix).exclude(name__in=names).delete()
    return names
