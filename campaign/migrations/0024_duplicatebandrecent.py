"""The band rows of texts indexed since the last full rewrite get a small table of their own
(`DuplicateBandRecent`, near_duplicates/db.py "Two band tables"). No data migration: the rows
already in `DuplicateBand` stay where they are, and lookups read both tables."""

import django.db.models.deletion
from django.db import migrations, models


def set_unlogged(apps, schema_editor):
    # Derived rows, like DuplicateBand's (migration 0009): a crash empties both tables, and the
    # missing complete mark has the next refresh rebuild the index.
    if schema_editor.connection.vendor == "postgresql":
        from psycopg import sql

        table = apps.get_model("campaign", "DuplicateBandRecent")._meta.db_table
        schema_editor.execute(sql.SQL("ALTER TABLE {} SET UNLOGGED").format(sql.Identifier(table)).as_string(schema_editor.connection.connection))


class Migration(migrations.Migration):

    dependencies = [
        ("campaign", "0023_index_marks"),
    ]

    operations = [
        migrations.CreateModel(
            name="DuplicateBandRecent",
            fields=[
                ("pk", models.CompositePrimaryKey("campaign_id", "key", "owner", blank=True, editable=False, primary_key=True, serialize=False)),
                ("key", models.BigIntegerField(verbose_name="band key")),
                ("owner", models.BigIntegerField(verbose_name="text (post, or minus the reference text)")),
                ("sketch", models.BinaryField(null=True, verbose_name="signature sketch")),
                (
                    "campaign",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="campaign.campaign",
                        verbose_name="campaign",
                    ),
                ),
            ],
            options={
                "verbose_name": "near-duplicate index entry, recent",
                "verbose_name_plural": "near-duplicate index entries, recent",
                "indexes": [models.Index(condition=models.Q(("sketch__isnull", False)), fields=["campaign", "owner"], name="duplicatebandrecent_sketched")],
            },
        ),
        migrations.RunPython(set_unlogged, migrations.RunPython.noop),
    ]
