"""Posts keep only the indexes their queries use.

Every index of campaign_post is maintained on each insert and each verdict change (a million of
each when a campaign is imported or judged from scratch). The campaign foreign key is the first
column of the unique key and of the post_* indexes, the verdict is served by post_verdict_time,
and only the few stale posts are looked up by index_stale (now a partial index)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaign', '0011_judging_state'),
        ('traders', '0002_api_token'),
    ]

    operations = [
        migrations.AlterField(
            model_name='post',
            name='campaign',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='posts', to='campaign.campaign'),
        ),
        migrations.AlterField(
            model_name='post',
            name='index_stale',
            field=models.BooleanField(default=True, verbose_name='duplicate check pending'),
        ),
        migrations.AlterField(
            model_name='post',
            name='verdict',
            field=models.CharField(choices=[('pending', 'not judged yet'), ('qualified', 'qualified'), ('outside_window', 'created outside the window'), ('not_enrolled', 'author not enrolled'), ('deleted', 'deleted'), ('too_short', 'too short'), ('not_trading', 'not about trading'), ('duplicate', 'near-duplicate of an earlier text'), ('rejected', 'rejected by ops')], default='pending', max_length=20, verbose_name='verdict'),
        ),
        migrations.AddIndex(
            model_name='post',
            index=models.Index(condition=models.Q(('index_stale', True)), fields=['campaign'], name='post_index_stale'),
        ),
    ]
