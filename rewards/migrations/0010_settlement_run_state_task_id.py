from django.db import migrations, models


class Migration(migrations.Migration):
    """Settlement runs get a state and the id of the task that runs them. Every run stored so far
    was written whole in one transaction, so it is finished."""

    dependencies = [
        ("rewards", "0009_whatif_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="settlementrun",
            name="state",
            field=models.CharField(
                choices=[("queued", "queued"), ("running", "running"), ("finished", "finished"), ("failed", "failed")],
                default="finished",
                max_length=10,
                verbose_name="state",
            ),
        ),
        migrations.AlterField(
            model_name="settlementrun",
            name="state",
            field=models.CharField(
                choices=[("queued", "queued"), ("running", "running"), ("finished", "finished"), ("failed", "failed")],
                default="queued",
                max_length=10,
                verbose_name="state",
            ),
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="task_id",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True, verbose_name="task id"),
        ),
    ]
