"""Import runs saved as they go (issue 15): a status, the file a queued or interrupted run reads,
its line count, the last line committed, the lease of the process working on it, and an error.
Runs stored before are finished when they have an end, else interrupted (running, no lease)."""

from django.db import migrations, models


def set_status(apps, schema_editor):
    ImportRun = apps.get_model("traders", "ImportRun")
    ImportRun.objects.filter(finished_at__isnull=False).update(status="finished")
    ImportRun.objects.filter(finished_at__isnull=True).update(status="running")


class Migration(migrations.Migration):

    dependencies = [
        ("traders", "0002_api_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="status",
            field=models.CharField(
                choices=[("queued", "queued"), ("running", "running"), ("finished", "finished"), ("failed", "failed")],
                default="queued",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AddField(
            model_name="importrun",
            name="file_path",
            field=models.CharField(blank=True, max_length=500, verbose_name="stored file"),
        ),
        migrations.AddField(
            model_name="importrun",
            name="expected_lines",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="lines in the file"),
        ),
        migrations.AddField(
            model_name="importrun",
            name="last_line",
            field=models.PositiveIntegerField(default=0, verbose_name="last line committed"),
        ),
        migrations.AddField(
            model_name="importrun",
            name="lease_until",
            field=models.DateTimeField(blank=True, null=True, verbose_name="worked on until"),
        ),
        migrations.AddField(
            model_name="importrun",
            name="error",
            field=models.TextField(blank=True, verbose_name="error"),
        ),
        migrations.RunPython(set_status, migrations.RunPython.noop),
    ]
