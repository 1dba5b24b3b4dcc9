"""post_verdict_time covers what settlement reads of the qualifying posts (post_id, author, score),
so PostgreSQL answers from the index instead of reading every wide row (bench/README.md)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaign', '0012_post_lean_indexes'),
        ('traders', '0002_api_token'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='post',
            name='post_verdict_time',
        ),
        migrations.AddIndex(
            model_name='post',
            index=models.Index(fields=['campaign', 'verdict', 'created_at'], include=('post_id', 'author', 'score'), name='post_verdict_time'),
        ),
    ]
