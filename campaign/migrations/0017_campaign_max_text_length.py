"""RULES.md section 9: a campaign's maximum post text, 50,000 characters unless ops change it."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("campaign", "0016_post_judged_time"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="max_text_length",
            field=models.PositiveIntegerField(
                default=50000,
                help_text="A post whose text is longer is rejected with its reason, by every import. The rulebook default is 50,000.",
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(1000000)],
                verbose_name="maximum text length (characters)",
            ),
        ),
    ]
