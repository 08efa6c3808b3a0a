"""English and Simplified Chinese (issue 16): the language a user sees, and the catalogue.

- A first visit follows the browser's Accept-Language; the navigation bar's switch sets the language
  cookie, and for a signed-in user remembers the choice, which wins at every later sign-in, on any
  computer, whatever that browser asks.
- The catalogue is complete: `manage.py messages` (makemessages for the templates, the Python and the
  JavaScript) on a scratch copy of the code leaves no entry untranslated or fuzzy, and the committed
  .mo files are their .po files compiled (`make run` needs no gettext tools).
- The pure core stays free of Django: scoring.wording's Text is rendered by nasovcf_site.i18n.words.
"""

from __future__ import annotations

import gettext as gnu_gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from nasovcf_site.i18n import SESSION_KEY, words
from scoring.models import UserLanguage
from scoring.wording import gettext_noop, text
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")


def page_text(response) -> str:
    return " ".join(response.content.decode().split())


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


# --- Which language a user sees ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_first_visit_follows_the_browsers_accept_language():
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5").get("/accounts/login/")
    assert html_lang(chinese) == "zh-hans"
    assert chinese["Content-Language"] == "zh-hans"
    assert "登录" in page_text(chinese)
    # The switch names the other language in itself, not in the page's language ("英语").
    assert re.search(r'value="en-gb" lang="en-gb"[^>]*>English</button>', chinese.content.decode())

    english = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").get("/accounts/login/")
    assert html_lang(english) == "en-gb"
    assert "Sign in" in page_text(english)

    # A language the app does not have falls back to English.
    assert html_lang(Client(HTTP_ACCEPT_LANGUAGE="fr-FR").get("/accounts/login/")) == "en-gb"


@pytest.mark.django_db
def test_the_switch_on_the_sign_in_page_sets_the_cookie_for_a_visitor():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/accounts/login/")
    assert 'name="language" value="zh-hans"' in page.content.decode()  # the other language's button
    assert 'name="language" value="en-gb"' not in page.content.decode()
    assert re.search(r'value="zh-hans" lang="zh-hans"[^>]*>简体中文</button>', page.content.decode())

    response = client.post("/i18n/language/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert html_lang(client.get("/accounts/login/")) == "zh-hans"
    assert not UserLanguage.objects.exists()


@pytest.mark.django_db
def test_a_signed_in_users_choice_is_remembered_at_the_next_sign_in_on_another_computer(user):
    ward = Client(HTTP_ACCEPT_LANGUAGE="en-GB")
    ward.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert html_lang(ward.get("/patients/")) == "en-gb"

    ward.post("/i18n/language/", {"language": "zh-hans", "next": "/patients/"})
    assert UserLanguage.objects.get(user=user).language == "zh-hans"
    page = ward.get("/patients/")
    assert html_lang(page) == "zh-hans"
    assert "患者" in page_text(page)

    # Another computer whose browser asks for English, with no cookie: the user's choice wins.
    office = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    office.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert html_lang(office.get("/patients/")) == "zh-hans"

    # Switching back is remembered the same way.
    office.post("/i18n/language/", {"language": "en-gb", "next": "/patients/"})
    assert UserLanguage.objects.get(user=user).language == "en-gb"
    tablet = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    tablet.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert html_lang(tablet.get("/patients/")) == "en-gb"


@pytest.mark.django_db
def test_a_user_who_never_chose_sees_what_their_browser_asks(user, make_user):
    colleague = make_user("colleague")
    UserLanguage.objects.create(user=user, language="zh-hans")  # someone else's choice changes nothing
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    client.post("/accounts/login/", {"username": colleague.username, "password": PASSWORD})
    assert html_lang(client.get("/patients/")) == "en-gb"
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "", "zh-hans' OR 1=1", "x" * 5000])
def test_a_language_the_app_does_not_have_changes_nothing_and_is_no_error(signed_in, user, language):
    response = signed_in.post("/i18n/language/", {"language": language, "next": "/patients/"})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert not UserLanguage.objects.exists()


@pytest.mark.django_db
def test_the_switch_sends_back_only_to_this_site(signed_in):
    response = signed_in.post("/i18n/language/", {"language": "zh-hans", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


@pytest.mark.django_db
def test_the_switch_takes_only_a_post(signed_in):
    assert signed_in.get("/i18n/language/?language=zh-hans").status_code == 405
    assert not UserLanguage.objects.exists()


@pytest.mark.django_db
def test_the_users_language_costs_no_query_per_page(user, make_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    chinese, english = Client(), Client()
    chinese.force_login(user)
    english.force_login(make_user("colleague"))
    chinese.post("/i18n/language/", {"language": "zh-hans", "next": "/calculator/"})
    english.get("/calculator/")
    with CaptureQueriesContext(connection) as chinese_queries:
        assert html_lang(chinese.get("/calculator/")) == "zh-hans"
    with CaptureQueriesContext(connection) as english_queries:
        assert html_lang(english.get("/calculator/")) == "en-gb"
    assert len(chinese_queries) == len(english_queries)


@pytest.mark.django_db
def test_the_javascript_catalogue_follows_the_language(signed_in):
    signed_in.post("/i18n/language/", {"language": "zh-hans", "next": "/calculator/"})
    response = signed_in.get("/jsi18n/")
    assert response.status_code == 200
    assert "django.catalog" in response.content.decode()
    # Chinese characters, written as JSON escapes (\u4e00-\u9fff) in the catalogue's script.
    assert re.search(r"\\u[4-9][0-9a-f]{3}", response.content.decode())


# --- Dates for the locale ----------------------------------------------------------------------


def test_dates_are_iso_in_english_and_written_the_chinese_way_in_chinese():
    import datetime

    from django.utils.formats import date_format

    day = datetime.date(2026, 12, 2)
    with translation.override("en-gb"):
        assert date_format(day, "SHORT_DATE_FORMAT") == "2026-12-02"
    with translation.override("zh-hans"):
        assert date_format(day, "SHORT_DATE_FORMAT") == "2026年12月2日"


# --- The pure core's words -------------------------------------------------------------------


def test_a_text_from_the_pure_core_is_rendered_in_the_active_language():
    msgid = gettext_noop("Sign in")  # a msgid the catalogue has (the sign-in button)
    with translation.override("zh-hans"):
        assert words(msgid) == translation.gettext("Sign in") != "Sign in"
        assert words(text(msgid)) == translation.gettext("Sign in")
        assert words(None) == ""
        assert words(42) == "42"
    with translation.override("en-gb"):
        assert words(text(msgid)) == "Sign in"
    assert str(text("%(n)s and %(m)s", n=1, m=text("Sign in"))) == "1 and Sign in"


# --- The catalogue ---------------------------------------------------------------------------


def _needs_gettext():
    missing = [tool for tool in ("xgettext", "msgattrib", "msgfmt", "msgmerge") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"GNU gettext's {', '.join(missing)} missing: .ci/run installs Debian's gettext")
        pytest.skip(f"needs GNU gettext ({', '.join(missing)}); .ci/run installs it")


def _scratch_copy(tmp_path: Path) -> Path:
    """The repository's files as git sees them (tracked, and new files not ignored): the code a
    commit would carry, without the virtualenv or runtime data."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    scratch = tmp_path / "scratch"
    for name in filter(None, listed):
        source = ROOT / os.fsdecode(name)
        if source.is_file():
            target = scratch / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return scratch


def _entries(po: Path, *flags: str) -> str:
    return subprocess.run(
        ["msgattrib", *flags, "--no-obsolete", "--no-wrap", str(po)], capture_output=True, text=True, check=True
    ).stdout


def test_makemessages_on_a_scratch_copy_leaves_nothing_untranslated_or_fuzzy(tmp_path):
    _needs_gettext()
    scratch = _scratch_copy(tmp_path)
    env = {**os.environ, "NASOVCF_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "nasovcf_site.settings"}
    run = subprocess.run(
        [sys.executable, "manage.py", "messages", "--no-compile"], cwd=scratch, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    for domain in DOMAINS:
        po = scratch / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"
        untranslated = _entries(po, "--untranslated")
        fuzzy = _entries(po, "--only-fuzzy")
        assert untranslated.strip() == "", (
            f"{domain}.po: untranslated entries (run manage.py messages):\n{untranslated}"
        )
        assert fuzzy.strip() == "", f"{domain}.po: fuzzy entries (check and unmark them):\n{fuzzy}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_is_the_po_compiled(tmp_path, domain):
    _needs_gettext()
    compiled = tmp_path / f"{domain}.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(CATALOGUES / f"{domain}.po")], check=True)
    with open(compiled, "rb") as fresh, open(CATALOGUES / f"{domain}.mo", "rb") as committed:
        assert gnu_gettext.GNUTranslations(committed)._catalog == gnu_gettext.GNUTranslations(fresh)._catalog, (
            f"locale/zh_Hans/LC_MESSAGES/{domain}.mo is not its .po compiled: run manage.py messages"
        )


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_translation_keeps_its_placeholders(domain):
    with open(CATALOGUES / f"{domain}.mo", "rb") as mo:
        catalog = gnu_gettext.GNUTranslations(mo)._catalog
    placeholder = re.compile(r"%\(\w+\)[sdf]|%[sd]|\{\w*\}")
    wrong = []
    for key, msgstr in catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if not msgid:
            continue  # the header
        msgid = msgid.split("\x04", 1)[-1]  # without its context
        if sorted(placeholder.findall(msgid)) != sorted(placeholder.findall(msgstr)):
            wrong.append((msgid, msgstr))
    assert not wrong, wrong


# The clinical terms the glossary (docs/glossary-zh-hans.md) fixes, each with the Chinese every
# translation of a sentence holding it must use: one term, one translation.
GLOSSARY_TERMS = {
    "osteoporotic vertebral compression fracture": "骨质疏松性椎体压缩骨折",
    "vertebral height loss": "椎体高度丢失",
    "kyphosis angle": "后凸角",
    "diffuse low": "弥漫性低信号",
    "T-score": "T 值",
    "non-union": "骨不连",
    "progressive kyphosis": "进行性后凸畸形",
    "conservative treatment": "保守治疗",
    "conservative care": "保守治疗",
    "vertebral augmentation": "椎体强化术",
    "bone union": "骨愈合",
    "low-energy": "低能量",
    "derivation cohort": "建模队列",
    "decision curve": "决策曲线",
    "vacuum cleft": "真空裂隙",
    "the paper": "论文",
    "risk group": "风险分组",
    "net benefit": "净获益",
    "threshold probability": "阈值概率",
    "pixel spacing": "像素间距",
    "first reader": "第一阅片者",
    "second reader": "第二阅片者",
    "treatment change": "治疗方案变更",
    "Oswestry": "Oswestry 功能障碍指数",
}


def test_the_glossarys_clinical_terms_are_translated_one_way_everywhere():
    glossary = (ROOT / "docs" / "glossary-zh-hans.md").read_text()
    assert all(chinese in glossary for chinese in GLOSSARY_TERMS.values()), "a term here is not the glossary's"
    with open(CATALOGUES / "django.mo", "rb") as mo:
        catalog = gnu_gettext.GNUTranslations(mo)._catalog
    other_ways = []
    for english, chinese in GLOSSARY_TERMS.items():
        term = re.compile(r"\b" + re.escape(english) + r"\b", re.IGNORECASE)
        for key, msgstr in catalog.items():
            msgid = (key[0] if isinstance(key, tuple) else key).split("\x04", 1)[-1]
            if msgid and term.search(msgid) and chinese not in msgstr:
                other_ways.append(f"{english} → {chinese}: {msgid!r} is {msgstr!r}")
    assert not other_ways, "\n".join(other_ways)


@pytest.mark.django_db
def test_a_visit_is_named_in_the_pages_language(case_two):
    """A visit's name (its history page's title and breadcrumb) had "visit" in English on a Chinese
    page: it is the deleted visit's wording, in the active language; the English is unchanged."""
    import datetime

    from scoring.models import Visit

    visit = Visit(fracture=case_two, kind="6m", visit_date=datetime.date(2025, 9, 10))
    with translation.override("en-gb"):
        assert str(visit) == f"{case_two} · 6 months visit 2025-09-10"
    with translation.override("zh-hans"):
        assert "visit" not in str(visit) and str(visit).endswith("随访 2025-09-10")
