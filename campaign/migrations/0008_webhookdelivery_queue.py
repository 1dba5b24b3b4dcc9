"""Webhook deliveries become a queue: the door stores the body, a worker stores the posts.

Deliveries taken before were processed when they arrived: they are marked processed then.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F


def mark_old_deliveries_processed(apps, schema_editor):
    apps.get_model("campaign", "WebhookDelivery").objects.filter(processed_at__isnull=True).update(processed_at=F("received_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('campaign', '0007_engagementsnapshot'),
        ('traders', '0002_api_token'),
    ]

    operations = [
        migrations.AddField(
            model_name='webhookdelivery',
            name='body',
            field=models.BinaryField(default=b'', verbose_name='body'),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='campaign',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='campaign.campaign'),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='items',
            field=models.PositiveIntegerField(default=0, verbose_name='items'),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='processed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='processed'),
        ),
        migrations.RunPython(mark_old_deliveries_processed, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(condition=models.Q(('processed_at__isnull', True)), fields=['campaign', 'id'], name='webhookdelivery_queue'),
        ),
    ]
