"""post_judging covers what judging reads of every post (`campaign.services.judging.JUDGE_FIELDS`),
so judging a whole campaign reads a narrow index instead of every wide row (bench/README.md,
"Narrow-column judging (issue 17)")."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaign", "0020_duplicateband_sketch"),
        ("traders", "0002_api_token"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                fields=["campaign", "id"],
                include=(
                    "author",
                    "created_at",
                    "deleted",
                    "moderation",
                    "duplicate_of",
                    "duplicate_of_reference",
                    "verdict",
                    "score",
                    "text_length",
                    "trading_term",
                    "lexicon_key",
                    "likes",
                    "comments",
                    "shares",
                    "views",
                    "judged_at",
                ),
                name="post_judging",
            ),
        ),
    ]
