"""The export log in Django's admin: readable by the admin role, never changed."""

import pytest

from cohort.models import ExportLog

pytestmark = pytest.mark.django_db


def test_admins_read_the_export_log_in_the_admin_and_cannot_change_it(client, make_user, user):
    log = ExportLog.objects.create(user=user, identified=True, file_format="csv", filters={}, rows=3)
    client.force_login(make_user("boss", role="admin", is_staff=True))
    assert client.get("/admin/cohort/exportlog/").status_code == 200
    assert client.post(f"/admin/cohort/exportlog/{log.pk}/delete/", {"post": "yes"}).status_code == 403
