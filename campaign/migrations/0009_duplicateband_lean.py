"""The near-duplicate index becomes a lean derived cache (see `DuplicateBand`).

The old table (an id, 5 indexes, 3 foreign keys) is dropped rather than converted: its rows are
derived data. No data migration is needed: the new table starts without the "complete" mark
(campaign, 0, 0), so the first refresh that needs the index of a campaign rebuilds it from the
stored signatures (`duplicates_refresh` -> `duplicates_rebuild`), and the duplicate links
stored on the posts stay valid meanwhile.
"""

import django.db.models.deletion
from django.db import migrations, models


def set_unlogged(apps, schema_editor):
    # No WAL for millions of derived rows; a crash empties the table, which the mark detects.
    if schema_editor.connection.vendor == "postgresql":
        from psycopg import sql

        table = apps.get_model("campaign", "DuplicateBand")._meta.db_table
        schema_editor.execute(sql.SQL("ALTER TABLE {} SET UNLOGGED").format(sql.Identifier(table)).as_string(schema_editor.connection.connection))


class Migration(migrations.Migration):

    dependencies = [
        ("campaign", "0008_webhookdelivery_queue"),
    ]

    operations = [
        migrations.DeleteModel(name="DuplicateBand"),
        migrations.CreateModel(
            name="DuplicateBand",
            fields=[
                ("pk", models.CompositePrimaryKey("campaign_id", "key", "owner", blank=True, editable=False, primary_key=True, serialize=False)),
                ("key", models.BigIntegerField()),
                ("owner", models.BigIntegerField()),
                (
                    "campaign",
                    models.ForeignKey(
                        db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="campaign.campaign"
                    ),
                ),
            ],
        ),
        migrations.RunPython(set_unlogged, migrations.RunPython.noop),
    ]
