"""ImportRun, RejectedRecord and ApiToken move here from `traders` (issue 16), with their tables
and rows as they are: the models are created in the migration state only, over the tables that
traders' migrations made (`db_table` keeps their names). traders 0004 forgets them there."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("traders", "0003_importrun_progress"),  # the tables exist, as they are described here
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="ImportRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("registrations", "registrations"), ("signups", "sign-ups"), ("trader_stats", "trading stats"), ("posts", "posts"), ("reference_texts", "reference texts")], max_length=20, verbose_name="kind")),
                ("source", models.CharField(choices=[("command", "command"), ("admin", "admin"), ("api", "API"), ("webhook", "webhook"), ("feed", "feed")], max_length=10, verbose_name="source")),
                # Dropped by 0002, once the campaign app has turned it into a key (campaign 0018).
                ("campaign_slug", models.SlugField(blank=True, max_length=64, verbose_name="campaign")),
                ("filename", models.CharField(blank=True, max_length=255, verbose_name="file")),
                ("started_at", models.DateTimeField(auto_now_add=True, verbose_name="started")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished")),
                ("total", models.PositiveIntegerField(default=0, verbose_name="records")),
                ("accepted", models.PositiveIntegerField(default=0, verbose_name="accepted")),
                ("rejected", models.PositiveIntegerField(default=0, verbose_name="rejected")),
                ("created_by", models.CharField(blank=True, max_length=150, verbose_name="by")),
                ("status", models.CharField(choices=[("queued", "queued"), ("running", "running"), ("finished", "finished"), ("failed", "failed")], default="queued", max_length=10, verbose_name="status")),
                ("file_path", models.CharField(blank=True, max_length=500, verbose_name="stored file")),
                ("expected_lines", models.PositiveIntegerField(blank=True, null=True, verbose_name="lines in the file")),
                ("last_line", models.PositiveIntegerField(default=0, verbose_name="last line committed")),
                ("lease_until", models.DateTimeField(blank=True, null=True, verbose_name="worked on until")),
                ("error", models.TextField(blank=True, verbose_name="error")),
            ],
            options={
                "verbose_name": "import run",
                "verbose_name_plural": "import runs",
                "db_table": "traders_importrun",
                "ordering": ["-started_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="RejectedRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("line", models.PositiveIntegerField(verbose_name="line")),
                ("reason", models.TextField(verbose_name="reason")),
                ("raw", models.TextField(verbose_name="record as received")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("run", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="rejected_records", to="core.importrun")),
            ],
            options={
                "verbose_name": "rejected record",
                "verbose_name_plural": "rejected records",
                "db_table": "traders_rejectedrecord",
                "ordering": ["run_id", "line", "id"],
            },
        ),
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="Who or what uses it, e.g. 'CRM sync'.", max_length=100, verbose_name="name")),
                ("scopes", models.JSONField(default=list, verbose_name="scopes")),
                ("prefix", models.CharField(editable=False, max_length=16, unique=True, verbose_name="prefix")),
                ("key_hash", models.CharField(editable=False, max_length=64, unique=True, verbose_name="SHA-256 of the secret")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("created_by", models.CharField(blank=True, max_length=150, verbose_name="created by")),
                ("expires_at", models.DateTimeField(blank=True, null=True, verbose_name="expires")),
                ("last_used_at", models.DateTimeField(blank=True, null=True, verbose_name="last used")),
                ("revoked_at", models.DateTimeField(blank=True, null=True, verbose_name="revoked")),
                ("revoked_by", models.CharField(blank=True, max_length=150, verbose_name="revoked by")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="api_tokens", to=settings.AUTH_USER_MODEL, verbose_name="acts as")),
            ],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "db_table": "traders_apitoken",
                "ordering": ["-created_at", "-id"],
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[])]
