"""The three roles of scoring/roles.py as groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from scoring.roles import ROLES, ensure_roles


def make_roles(apps, schema_editor):
    # Permissions are made after migrations on a new database; make them now to hand them out.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    ensure_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0003_audit_versions_archive"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("axes", "0010_accessattemptexpiration"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(make_roles, remove_roles)]
