"""Bring the Chinese catalogue up to date with the code (issue 16): `manage.py messages`.

Runs Django's makemessages for the templates and Python (domain "django") and for the app's own
JavaScript (domain "djangojs"), for every language of settings.LANGUAGES but the source language,
then compilemessages. Needs GNU gettext (Debian's `gettext` package; `.ci/run` installs it). Then
translate every new or changed entry in locale/zh_Hans/LC_MESSAGES/*.po following
docs/glossary-zh-hans.md, remove any "#, fuzzy" mark after checking its translation, and run the
command again to compile: tests/test_i18n.py fails on an untranslated or fuzzy entry and on a .mo
that is not the .po compiled. `--no-compile` leaves the .mo files alone (the test uses it).
"""

from django.conf import settings
from django.core.management import BaseCommand, call_command

# What is not the app's own text: the virtualenv, collected static files (Bootstrap), the tests,
# the benchmark and tool code, runtime data.
IGNORE = [".venv", "staticfiles", "var", "tests", "tools", "bench", "docs", "deploy", "locale", "static/bootstrap"]


def catalogue_languages() -> list[str]:
    """The translated languages in gettext's locale spelling (zh-hans → zh_Hans)."""
    from django.utils.translation import to_locale

    return [to_locale(code) for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class Command(BaseCommand):
    help = "makemessages (django and djangojs) for the translated languages, then compilemessages."

    def add_arguments(self, parser):
        parser.add_argument("--no-compile", action="store_true", help="do not compile the .mo files")

    def handle(self, *args, **options):
        common = {"locale": catalogue_languages(), "ignore_patterns": IGNORE, "no_obsolete": True, "verbosity": 0}
        call_command("makemessages", domain="django", extensions=["html", "txt", "py"], **common)
        call_command("makemessages", domain="djangojs", extensions=["js"], **common)
        if not options["no_compile"]:
            call_command("compilemessages", locale=catalogue_languages(), ignore_patterns=[".venv"], verbosity=0)
