"""ExportLog moved from scoring to cohort on the same table: the rows and the admin role's right
to read them survive the migration."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def _node(executor, app_label: str, suffix: str) -> tuple[str, str]:
    return next(key for key in executor.loader.graph.nodes if key[0] == app_label and key[1].endswith(suffix))


@pytest.mark.django_db(transaction=True)
def test_export_log_rows_survive_the_move_to_cohort():
    executor = MigrationExecutor(connection)
    move = _node(executor, "scoring", "_move_exportlog_to_cohort")
    (before,) = executor.loader.graph.node_map[move].parents
    after = ("cohort", "0001_initial")
    try:
        executor.migrate([before.key])
        old = executor.loader.project_state([before.key]).apps
        user = old.get_model("auth", "User").objects.create(username="exporter")
        old.get_model("scoring", "ExportLog").objects.create(
            user_id=user.pk, identified=True, file_format="xlsx", filters={"sex": "F"}, rows=12
        )
        # As before the move: the admin role reads the log through scoring's permission.
        admin, _ = old.get_model("auth", "Group").objects.get_or_create(name="admin")
        admin.permissions.add(
            old.get_model("auth", "Permission").objects.get(
                content_type__app_label="scoring", codename="view_exportlog"
            )
        )

        executor = MigrationExecutor(connection)
        executor.migrate([after])
        new = executor.loader.project_state([after]).apps
        log = new.get_model("cohort", "ExportLog").objects.get()
        assert (log.user_id, log.identified, log.file_format, log.filters, log.rows) == (
            user.pk,
            True,
            "xlsx",
            {"sex": "F"},
            12,
        )
        content_types = new.get_model("contenttypes", "ContentType").objects
        assert not content_types.filter(app_label="scoring", model="exportlog").exists()
        admin = new.get_model("auth", "Group").objects.get(name="admin")
        assert admin.permissions.filter(content_type__app_label="cohort", codename="view_exportlog").exists()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()
