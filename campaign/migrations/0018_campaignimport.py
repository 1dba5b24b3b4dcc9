"""Import runs moved to `core` (issue 16): the campaign's keys to them point to core.ImportRun,
the same table, and a run names its campaign by a key (CampaignImport), filled here from the
slug it kept. Runs before traders 0004, which forgets traders.ImportRun, and core 0002, which
drops the slug; a slug of no campaign (a campaign since deleted) makes no link."""

import django.db.models.deletion
from django.db import migrations, models


def links_from_slugs(apps, schema_editor):
    Campaign = apps.get_model("campaign", "Campaign")
    CampaignImport = apps.get_model("campaign", "CampaignImport")
    ImportRun = apps.get_model("core", "ImportRun")
    db = schema_editor.connection.alias
    campaigns = dict(Campaign.objects.using(db).values_list("slug", "id"))
    runs = ImportRun.objects.using(db).exclude(campaign_slug="").values_list("id", "campaign_slug")
    links = [CampaignImport(run_id=run_id, campaign_id=campaigns[slug]) for run_id, slug in runs.iterator() if slug in campaigns]
    CampaignImport.objects.using(db).bulk_create(links, batch_size=1000)


def slugs_from_links(apps, schema_editor):
    Campaign = apps.get_model("campaign", "Campaign")
    ImportRun = apps.get_model("core", "ImportRun")
    db = schema_editor.connection.alias
    for campaign_id, slug in Campaign.objects.using(db).values_list("id", "slug"):
        ImportRun.objects.using(db).filter(campaign_link__campaign_id=campaign_id).update(campaign_slug=slug)


def _import_run_key():
    return models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="core.importrun")


class Migration(migrations.Migration):

    dependencies = [
        ("campaign", "0017_campaign_max_text_length"),
        ("core", "0001_initial"),
    ]

    run_before = [
        ("traders", "0004_import_runs_and_tokens_to_core"),
        ("core", "0002_importrun_campaign_slug_removed"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="signup", name="import_run", field=_import_run_key()),
                migrations.AlterField(model_name="referencetext", name="import_run", field=_import_run_key()),
                migrations.AlterField(model_name="webhookdelivery", name="import_run", field=_import_run_key()),
            ],
            database_operations=[],
        ),
        migrations.CreateModel(
            name="CampaignImport",
            fields=[
                ("run", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="campaign_link", serialize=False, to="core.importrun")),
                ("campaign", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="imports", to="campaign.campaign")),
            ],
            options={
                "verbose_name": "campaign import",
                "verbose_name_plural": "campaign imports",
            },
        ),
        migrations.RunPython(links_from_slugs, slugs_from_links),
    ]
