"""ImportRun, RejectedRecord and ApiToken now belong to `core` (issue 16). Their tables and rows
stay as they are: the migration state forgets the models here (core 0001 describes them there)
and the registrations' and trading stats' keys point to core.ImportRun, the same table.

Their content types move to `core` with their permissions, so users and groups keep the rights
they had (`traders.add_importrun` is now `core.add_importrun`)."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ("importrun", "rejectedrecord", "apitoken")


def _move_content_types(apps, schema_editor, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for model in MOVED:
        moving = ContentType.objects.using(db).filter(app_label=old, model=model).first()
        if moving is None:
            continue  # a new database: post_migrate makes the content types once migrate is done
        there = ContentType.objects.using(db).filter(app_label=new, model=model).first()
        if there is None:
            moving.app_label = new
            moving.save(update_fields=["app_label"])
            continue
        # An earlier partial migrate made the new content type already: its permissions take
        # over the grants of the old ones, which go.
        for permission in Permission.objects.using(db).filter(content_type=moving):
            kept = Permission.objects.using(db).filter(content_type=there, codename=permission.codename).first()
            if kept is None:
                permission.content_type = there
                permission.save(update_fields=["content_type"])
            else:
                kept.group_set.add(*permission.group_set.all())
                kept.user_set.add(*permission.user_set.all())
        moving.delete()
    ContentType.objects.clear_cache()


def content_types_to_core(apps, schema_editor):
    _move_content_types(apps, schema_editor, "traders", "core")


def content_types_to_traders(apps, schema_editor):
    _move_content_types(apps, schema_editor, "core", "traders")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0001_initial"),
        ("core", "0001_initial"),
        ("traders", "0003_importrun_progress"),
    ]

    state_operations = [
        migrations.AlterField(
            model_name="leadtraderregistration",
            name="import_run",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="core.importrun"),
        ),
        migrations.AlterField(
            model_name="tradingstats",
            name="import_run",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="core.importrun"),
        ),
        migrations.DeleteModel(name="RejectedRecord"),
        migrations.DeleteModel(name="ImportRun"),
        migrations.DeleteModel(name="ApiToken"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[]),
        migrations.RunPython(content_types_to_core, content_types_to_traders),
    ]
