"""ExportLog moves to the cohort app: gone from this app's state only, its table kept as it is
(cohort's 0001 takes it over, with the same table name)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scoring", "0011_worklist_awaiting_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ExportLog")],
            database_operations=[],
        ),
    ]
