"""Index marks: a bulk import's judging clears a post's `index_stale` flag with its verdict, in one
write of the wide row instead of two (docs/architecture.md, "A posts file in two steps")."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaign', '0022_judging_jobs'),
    ]

    operations = [
        migrations.CreateModel(
            name='IndexMark',
            fields=[
                ('post_id', models.BigIntegerField(primary_key=True, serialize=False, verbose_name='post')),
                ('prefix', models.CharField(max_length=16, verbose_name='content hash prefix')),
                ('campaign', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='campaign.campaign', verbose_name='campaign')),
            ],
            options={
                'verbose_name': 'duplicate check mark',
                'verbose_name_plural': 'duplicate check marks',
            },
        ),
    ]
