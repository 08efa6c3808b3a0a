"""A first history record for rows saved before the audit trail existed, so their first change
shows its before and after values (and a refused stale save can say what changed)."""

from django.db import migrations
from django.utils import timezone

MODELS = ["Patient", "Fracture", "Visit"]


def add_baselines(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("scoring", name)
        historical = apps.get_model("scoring", f"Historical{name}")
        tracked = [
            field.attname
            for field in historical._meta.fields
            if not field.name.startswith("history_") and field.attname != "history_id"
        ]
        has_history = set(historical.objects.values_list("id", flat=True).distinct())
        baselines = [
            historical(
                **{attname: getattr(row, attname) for attname in tracked},
                history_date=getattr(row, "updated_at", None) or timezone.now(),
                history_type="+",
                history_user_id=row.updated_by_id,
                history_change_reason="baseline: saved before the audit trail began",
            )
            for row in model.objects.exclude(pk__in=has_history)
        ]
        historical.objects.bulk_create(baselines, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0004_roles")]

    operations = [migrations.RunPython(add_baselines, migrations.RunPython.noop)]
