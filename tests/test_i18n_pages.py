"""Every page in Chinese (issue 16): no sentence of the English catalogue is left untranslated.

The records of the every-page sweep (tests/seeding_issue11.py: long names, two readers who differ,
four visits, films, import previews with differences and problems) are shown to a clinician and a
viewer whose language is 简体中文, page by page, with the error pages, the downloads a person reads
(the data dictionary, the import template, the report) and the cohort page's plots' alternative
texts. A page fails if any English sentence the catalogue translates appears in its text or in
an attribute a person reads (title, aria-label, placeholder, alt): a string someone forgot to mark
shows in English to a Chinese reader, and the catalogue's own English is the list of sentences
that must not appear.
"""

from __future__ import annotations

import gettext as gnu_gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.browser.test_every_page import PACS, PAGES
from tests.orthanc import free_port
from tests.seeding_issue11 import seed

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
MO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
# Attributes whose values a person reads (or a screen reader says).
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description"}
# What splits a msgid into the fragments that appear on a page as they are: its placeholders and tags.
SPLIT = re.compile(r"%\(\w+\)[sdf]|%[sd]|\{\w*\}|<[^>]*>")
WORD = re.compile(r"[A-Za-z]{2,}")


def english_sentences() -> set[str]:
    """Each catalogue entry's fragments of two words or more whose translation differs from them:
    the English a Chinese page must not show."""
    with open(MO, "rb") as mo:
        catalog = gnu_gettext.GNUTranslations(mo)._catalog
    sentences = set()
    for key, msgstr in catalog.items():
        msgid = (key[0] if isinstance(key, tuple) else key).split("\x04", 1)[-1]
        if not msgid or msgid == msgstr:
            continue
        for fragment in SPLIT.split(msgid):
            fragment = " ".join(fragment.split()).strip(" .,:;()·—–-")
            # A name the translation keeps as it is ("NASOVCF Clinic", "manage.py import_cohort") is no English left.
            if len(WORD.findall(fragment)) >= 2 and len(fragment) >= 8 and fragment not in msgstr:
                sentences.add(fragment)
    return sentences


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class ReadText(HTMLParser):
    """The text a person reads on a page in its language: text nodes (not scripts or styles) and
    read attributes, leaving out what is marked as English on purpose (`lang="en…"`: the paper's
    citation, the language switch's button for English)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # open elements, and whether each is left out

    def _skipping(self) -> bool:
        return any(skipped for _tag, skipped in self._stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skipped = tag in ("script", "style") or (attributes.get("lang") or "").startswith("en")
        if tag == "html":
            skipped = False
        if not (self._skipping() or skipped):
            self.parts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]
        if tag not in VOID:
            self._stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        if not self._skipping():
            self.parts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        for i in range(len(self._stack) - 1, -1, -1):  # close up to the matching open element
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping():
            self.parts.append(data)


def read_text(html: str) -> str:
    parser = ReadText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def chinese_client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


def test_no_page_shows_an_english_sentence_of_the_catalogue_in_chinese(settings):
    sentences = english_sentences()
    assert len(sentences) > 300, "the catalogue's English sentences were not read"
    seeded = seed()
    settings.DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"  # the PACS's error, in words
    clients = {"clinician": chinese_client(seeded.clinician), "viewer": chinese_client(seeded.viewer)}
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

    pages = {name: (role, url(seeded)) for name, (role, url) in PAGES.items() if PACS.get(name) != "orthanc"}
    pages |= {
        "not found": ("clinician", "/patients/999999/"),
        "forbidden (a viewer on the registration form)": ("viewer", "/patients/new/"),
        "a form with its errors": ("clinician", f"/patients/{seeded.long_word.pk}/assessments/new/"),
    }
    found = {}
    for name, (role, url) in pages.items():
        client = clients[role] if role else anonymous
        if name == "a form with its errors":
            response = client.post(url, {"bmd_t_score": "-8.2", "kyphosis_angle_deg": "95"})
        else:
            response = client.get(url)
        assert response.status_code in (200, 403, 404), f"{name}: {url} answered {response.status_code}"
        assert 'lang="zh-hans"' in response.content.decode(), f"{name}: not in Chinese"
        text = read_text(response.content.decode())
        left = sorted(sentence for sentence in sentences if sentence in text)
        if left:
            found[name] = left
    assert not found, "English left on Chinese pages:\n" + "\n".join(
        f"- {name}: {left[:8]}" for name, left in found.items()
    )


def test_the_downloads_a_person_reads_are_in_chinese_with_the_columns_as_they_are():
    """The report download, the data dictionary and the import template (CSV) in Chinese: no
    English sentence of the catalogue, Chinese descriptions, the column names unchanged."""
    sentences = english_sentences()
    seeded = seed()
    client = chinese_client(seeded.clinician)
    english = Client()
    english.force_login(seeded.clinician)
    found = {}
    for name, url in {
        "report download": "/cohort/report.html",
        "data dictionary": "/cohort/dictionary.csv",
    }.items():
        response = client.get(url)
        assert response.status_code == 200, f"{name}: {response.status_code}"
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8-sig")
        if name == "report download":
            text = read_text(text)
        left = sorted(sentence for sentence in sentences if sentence in " ".join(text.split()))
        if left:
            found[name] = left
        assert re.search(r"[\u4e00-\u9fff]", text), f"{name}: no Chinese"
        if name != "report download":
            in_english = english.get(url)
            english_body = (
                b"".join(in_english.streaming_content) if in_english.streaming else in_english.content
            ).decode("utf-8-sig")
            # The first column (the column names, a data contract) is the same in both languages.
            first = [line.split(",", 1)[0] for line in text.splitlines()[:40]]
            assert first == [line.split(",", 1)[0] for line in english_body.splitlines()[:40]], name
    # The import template's workbook: its dictionary sheet in Chinese, the table's header as it is.
    import io

    import openpyxl

    response = client.get("/cohort/import/template.xlsx")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    sheets = {
        sheet.title: [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
        for sheet in workbook
    }
    table, *others = sheets.values()
    dictionary_text = " ".join(str(cell) for rows in others for row in rows for cell in row)
    assert re.search(r"[\u4e00-\u9fff]", dictionary_text), "the template's dictionary is not in Chinese"
    assert "bmd_t_score" in table[0], "the template's header lost its column names"
    left = sorted(sentence for sentence in sentences if sentence in " ".join(dictionary_text.split()))
    if left:
        found["import template (XLSX)"] = left
    assert not found, "English left in Chinese downloads:\n" + "\n".join(f"- {n}: {s[:8]}" for n, s in found.items())


def test_the_admins_pages_for_the_clinics_records_are_in_chinese(django_user_model):
    """The admin's lists, change forms and index in Chinese: our models' and fields' labels come from
    the catalogue (Django's own admin words from Django's)."""
    sentences = english_sentences()
    seeded = seed()
    admin = django_user_model.objects.create_superuser("admin.zh", password="x-long-enough-password-42")
    client = chinese_client(admin)
    fracture = seeded.disagreement
    found = {}
    for url in [
        "/admin/",
        "/admin/scoring/patient/",
        "/admin/scoring/fracture/",
        f"/admin/scoring/fracture/{fracture.pk}/change/",
        "/admin/scoring/visit/",
        f"/admin/scoring/visit/{seeded.visits['3m'].pk}/change/",
        "/admin/cohort/exportlog/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        text = read_text(response.content.decode())
        left = sorted(sentence for sentence in sentences if sentence in text)
        if left:
            found[url] = left
    assert not found, "English left in the admin in Chinese:\n" + "\n".join(f"- {u}: {s[:8]}" for u, s in found.items())
