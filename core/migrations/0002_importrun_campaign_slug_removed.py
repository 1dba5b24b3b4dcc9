"""An import run no longer names its campaign by a slug: the campaign app links its runs by a key
(campaign.CampaignImport). Its migration that copies the slugs into links runs before this one
(`run_before` there), so core does not depend on the campaign app."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.RemoveField(model_name="importrun", name="campaign_slug"),
    ]
