"""ExportLog, moved from the scoring app: created in this app's state only, on the table it has
(scoring_exportlog). Its content type moves with it, so its permissions, and the admin role that
holds them, are the same rows as before."""

import django.core.serializers.json
import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

from scoring.roles import ensure_roles


def _move_content_type(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    moving = ContentType.objects.filter(app_label=source, model="exportlog")
    if moving.exists():
        # One made for the target already (it cannot normally be) would clash: the moved one wins.
        ContentType.objects.filter(app_label=target, model="exportlog").delete()
        moving.update(app_label=target)
    ContentType.objects.clear_cache()


def move_to_cohort(apps, schema_editor):
    _move_content_type(apps, "scoring", "cohort")
    # On a new database the permission is made now, to hand it to the admin role (scoring/roles.py).
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    ensure_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def move_back_to_scoring(apps, schema_editor):
    _move_content_type(apps, "cohort", "scoring")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("scoring", "0012_move_exportlog_to_cohort"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ExportLog",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("identified", models.BooleanField()),
                        ("file_format", models.CharField(max_length=8)),
                        (
                            "filters",
                            models.JSONField(default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder),
                        ),
                        ("rows", models.PositiveIntegerField()),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "scoring_exportlog", "ordering": ["-created_at"]},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_to_cohort, move_back_to_scoring),
    ]
