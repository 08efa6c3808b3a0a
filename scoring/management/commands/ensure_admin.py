"""Create the first admin account on an empty database and print its password once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "On a database with no users, create an admin account and print its generated password once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        bar = "=" * 64
        self.stdout.write(
            f"{bar}\nFirst run: an admin account was created. Write the password down now;\n"
            f"it is shown only this once (change it after signing in).\n"
            f"  username: {username}\n  password: {password}\n{bar}"
        )
