"""A campaign remembers the threshold its duplicate links were computed under.

A threshold changed through the campaign's change form relinked nothing: settlements judged on
links of the old threshold (only the what-if apply rebuilt them). Now any index work on links of
another threshold rebuilds them first. Existing campaigns' links are taken to be those of their
current threshold: nothing else is known of them.
"""

from django.db import migrations, models
from django.db.models import F


def links_of_current_threshold(apps, schema_editor):
    apps.get_model("campaign", "Campaign").objects.update(links_threshold=F("duplicate_threshold"))


class Migration(migrations.Migration):
    dependencies = [("campaign", "0013_post_verdict_time_covering")]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="links_threshold",
            field=models.DecimalField(blank=True, decimal_places=3, editable=False, max_digits=4, null=True),
        ),
        migrations.RunPython(links_of_current_threshold, migrations.RunPython.noop),
    ]
