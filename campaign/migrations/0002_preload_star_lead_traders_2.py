"""The first customer campaign exists after `migrate`, with every default of RULES.md."""

from datetime import datetime, timedelta, timezone

from django.db import migrations

UTC8 = timezone(timedelta(hours=8))


def create_campaign(apps, schema_editor):
    Campaign = apps.get_model("campaign", "Campaign")
    Campaign.objects.get_or_create(
        slug="star-lead-traders-2",
        defaults={
            "name": "Gate Square Star Lead Traders, Phase 2",
            "name_zh": "Gate 广场明星带单交易员二期招募",
            "starts_at": datetime(2026, 2, 12, 18, 0, tzinfo=UTC8),
            "ends_at": datetime(2026, 2, 25, 0, 0, tzinfo=UTC8),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("campaign", "0001_initial")]
    operations = [migrations.RunPython(create_campaign, migrations.RunPython.noop)]
