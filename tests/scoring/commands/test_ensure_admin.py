"""manage.py ensure_admin: the first run's administrator."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_ensure_admin_creates_one_admin_on_an_empty_database_and_prints_its_password(capsys, django_user_model):
    call_command("ensure_admin")
    out = capsys.readouterr().out
    admin = django_user_model.objects.get()
    assert admin.is_superuser and admin.username == "admin"
    password = out.split("password: ")[1].split()[0]
    assert admin.check_password(password)
    call_command("ensure_admin")
    assert capsys.readouterr().out == ""
    assert django_user_model.objects.count() == 1
