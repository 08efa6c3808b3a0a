"""The import pages (issue 13) through the test client: clinicians only, upload → preview → confirm,
the records it writes (with their history), the stored file's permissions, the progress JSON, the
template downloads, and a second import of the same file that changes nothing.

Background work runs at once (tests/conftest.py sets django-tasks' immediate backend); the upload
starts its check on commit, so each upload runs under `django_capture_on_commit_callbacks`.
"""

from __future__ import annotations

import csv
import datetime
import io
import stat
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from cohort import exports
from cohort.models import CohortImport
from scoring.models import Fracture, Patient, Visit

pytestmark = pytest.mark.django_db

IMPORT_URL = "/cohort/import/"
FILENAME = "three-past-patients.csv"


def three_patients(today: datetime.date) -> list[dict[str, str]]:
    """Three new patients as a clinician would type them into the template, dated from `today`:
    IMP-0001 assessed 35 days ago, nothing since (its 1-month visit is due now); IMP-0002 assessed
    100 days ago, seen at 1 and 3 months; IMP-0003 assessed 200 days ago, seen at 6 months with
    bone union (a complete outcome: counted on the cohort page). Only the columns a person fills:
    every computed column is left empty."""

    def day(offset: int) -> str:
        return (today - datetime.timedelta(days=offset)).isoformat()

    def fracture(mrn, name, sex, born, assessed, level, **more):
        return {
            "patient": mrn,
            "name": name,
            "sex": sex,
            "date_of_birth": born,
            "assessment_date": day(assessed),
            "injury_date": day(assessed + 4),
            "level": level,
            "low_energy_trauma": "1",
            "fracture_type": "compression",
            "vhl_pre_percent": "17.8",
            "ka_pre_deg": "19.6",
            "t2_signal": "diffuse_low",
            "bmd_t_score": "-3.6",
            "vas_pre": "8",
            "odi_pre_percent": "62",
            "treatment": "conservative",
            "treatment_start_date": day(assessed),
            **more,
        }

    return [
        fracture("IMP-0001", "Ana Imported", "F", "1950-04-02", 35, "T12"),
        fracture(
            "IMP-0002",
            "Ben Imported",
            "M",
            "1948-11-20",
            100,
            "L1",
            visit_1m_date=day(70),
            visit_1m_vas="6",
            visit_3m_date=day(8),
            visit_3m_vas="4",
            visit_3m_odi_percent="40",
            visit_3m_ka_deg="21.0",
            visit_3m_vhl_percent="20.0",
        ),
        fracture(
            "IMP-0003",
            "Cleo Imported",
            "F",
            "1944-01-09",
            200,
            "L2",
            bmd_t_score="-1.5",
            visit_6m_date=day(19),
            visit_6m_vas="1",
            visit_6m_odi_percent="10",
            visit_6m_ka_deg="21.2",
            visit_6m_vhl_percent="19.0",
            visit_6m_union="united",
            visit_6m_vacuum_cleft_mri="0",
            visit_6m_vacuum_cleft_ct="0",
            visit_6m_anterior_height_change="0",
        ),
    ]


def as_csv(rows: list[dict[str, str]]) -> bytes:
    """The rows under the template's header (every identified column, in order), as a CSV file."""
    columns = exports.identified_columns()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return text.getvalue().encode("utf-8")


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def clinician(make_user):
    return make_user("dr.lin", first_name="Mei", last_name="Lin")


@pytest.fixture
def as_clinician(client, clinician):
    client.force_login(clinician)
    return client


@pytest.fixture
def upload(as_clinician, django_capture_on_commit_callbacks):
    """Upload a file as the clinician: the response (the check has run) and its CohortImport."""

    def send(content: bytes, name: str = FILENAME):
        with django_capture_on_commit_callbacks(execute=True):
            response = as_clinician.post(IMPORT_URL, {"file": io_file(content, name)})
        assert response.status_code == 302, response.content.decode()[:2000]
        made = CohortImport.objects.latest("created_at")
        assert response.url == made.get_absolute_url()
        return made

    return send


@pytest.fixture
def confirm(as_clinician, django_capture_on_commit_callbacks):
    def send(made: CohortImport):
        with django_capture_on_commit_callbacks(execute=True):
            response = as_clinician.post(reverse("cohort:import_confirm", args=[made.pk]))
        assert response.status_code == 302 and response.url == made.get_absolute_url()
        made.refresh_from_db()
        return made

    return send


def io_file(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")


def history_rows() -> tuple[int, int, int]:
    return (Patient.history.count(), Fracture.history.count(), Visit.history.count())


def counts_on_page(content: str) -> dict[str, tuple[int, int, int]]:
    """The preview's table of counts: {record: (created, updated, unchanged)}."""
    import re

    rows = re.findall(
        r'<tr data-record="(\w+)">.*?<td[^>]*>([\d,]+)</td><td[^>]*>([\d,]+)</td><td[^>]*>([\d,]+)</td>',
        content,
        re.S,
    )
    return {record: tuple(int(n.replace(",", "")) for n in numbers) for record, *numbers in rows}


# -- who may use the import ------------------------------------------------------------------------


def every_import_url(made: CohortImport) -> list[tuple[str, str]]:
    return [
        ("get", IMPORT_URL),
        ("post", IMPORT_URL),
        ("get", reverse("cohort:import_detail", args=[made.pk])),
        ("get", reverse("cohort:import_progress", args=[made.pk])),
        ("post", reverse("cohort:import_confirm", args=[made.pk])),
        ("post", reverse("cohort:import_discard", args=[made.pk])),
    ]


@pytest.fixture
def checked_import(clinician, settings):
    """A CohortImport waiting for confirmation, written directly (no file needed to refuse it)."""
    return CohortImport.objects.create(
        created_by=clinician, filename="waiting.csv", size_bytes=10, sha256="0" * 64, status="checked"
    )


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_who_is_not_a_clinician_gets_403_on_every_import_url_and_no_link_on_the_cohort_page(
    client, make_user, checked_import, role
):
    client.force_login(make_user(role, role=role))
    for method, url in every_import_url(checked_import):
        response = getattr(client, method)(url)
        assert response.status_code == 403, (method, url, response.status_code)
    checked_import.refresh_from_db()
    assert checked_import.status == "checked"  # neither confirmed nor discarded
    page = client.get("/cohort/").content.decode()
    assert "Import past patients" not in page and IMPORT_URL not in page


def test_a_clinician_sees_the_link_on_the_cohort_page(as_clinician):
    page = as_clinician.get("/cohort/").content.decode()
    assert f'href="{IMPORT_URL}">Import past patients</a>' in page
    assert as_clinician.get(IMPORT_URL).status_code == 200


def test_anonymous_is_sent_to_sign_in(client, checked_import):
    for method, url in every_import_url(checked_import):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/?next="), (method, url)
    checked_import.refresh_from_db()
    assert checked_import.status == "checked"


# -- upload, preview, confirm ----------------------------------------------------------------------


def test_upload_shows_the_preview_and_writes_nothing(upload, as_clinician):
    before = history_rows()
    made = upload(as_csv(three_patients(timezone.localdate())))
    assert made.status == "checked", (made.message, made.report.get("problems"))
    assert (made.filename, made.done_rows, made.total_rows) == (FILENAME, 3, 3)
    assert not Patient.objects.exists() and history_rows() == before

    page = as_clinician.get(made.get_absolute_url()).content.decode()
    assert counts_on_page(page) == {"patients": (3, 0, 0), "fractures": (3, 0, 0), "visits": (3, 0, 0)}
    assert "3 rows. patients: 3 to create; fractures: 3 to create; visits: 3 to create." in page
    assert "Import these records" in page and "problem" not in page.split('data-testid="import-summary"')[1]
    assert "data-progress-url" not in page  # not working: no progress bar, no polling


def test_confirm_imports_the_records_with_their_values_and_history(upload, confirm, clinician):
    today = timezone.localdate()
    made = confirm(upload(as_csv(three_patients(today))))
    assert made.status == "imported", made.message
    assert (made.imported_by, made.imported_at is not None) == (clinician, True)
    assert not made.path.exists()  # the records hold the data now: no second copy

    assert sorted(Patient.objects.values_list("mrn", "name", "sex", "date_of_birth")) == [
        ("IMP-0001", "Ana Imported", "F", datetime.date(1950, 4, 2)),
        ("IMP-0002", "Ben Imported", "M", datetime.date(1948, 11, 20)),
        ("IMP-0003", "Cleo Imported", "F", datetime.date(1944, 1, 9)),
    ]
    fractures = {f.patient.mrn: f for f in Fracture.objects.select_related("patient")}
    first = fractures["IMP-0001"]
    assert (first.assessment_date, first.injury_date, first.level, first.treatment) == (
        today - datetime.timedelta(days=35),
        today - datetime.timedelta(days=39),
        "T12",
        "conservative",
    )
    assert (first.vhl_percent, first.kyphosis_angle_deg, first.bmd_t_score, first.vas_pain) == (
        Decimal("17.8"),
        Decimal("19.6"),
        Decimal("-3.6"),
        Decimal("8"),
    )
    assert (first.total_score, first.risk_group) == (10, "high")  # scored by the rules, as a save does
    assert fractures["IMP-0003"].total_score == 6  # T −1.5 scores 0
    visits = sorted(
        (v.fracture.patient.mrn, v.kind, v.visit_date, v.vas_pain)
        for v in Visit.objects.select_related("fracture__patient")
    )
    assert visits == [
        ("IMP-0002", "1m", today - datetime.timedelta(days=70), Decimal("6")),
        ("IMP-0002", "3m", today - datetime.timedelta(days=8), Decimal("4")),
        ("IMP-0003", "6m", today - datetime.timedelta(days=19), Decimal("1")),
    ]
    six = Visit.objects.get(fracture=fractures["IMP-0003"], kind="6m")
    assert six.bone_union == "united"

    reason = f"Imported from {FILENAME} by Mei Lin"
    for model in (Patient, Fracture):
        for record in model.objects.all():
            latest = record.history.latest()
            assert (latest.history_user, latest.history_change_reason) == (clinician, reason), record
    for visit in Visit.objects.all():
        latest = visit.history.latest()
        assert (latest.history_user, latest.history_change_reason) == (clinician, reason), visit


def test_the_result_page_says_what_was_imported(upload, confirm, as_clinician):
    made = confirm(upload(as_csv(three_patients(timezone.localdate()))))
    page = as_clinician.get(made.get_absolute_url()).content.decode()
    assert "3 rows. patients: 3 created; fractures: 3 created; visits: 3 created." in page
    assert "Import these records" not in page and "Discard the file" not in page
    assert "The stored copy of the file was deleted" in page
    for link in ("/patients/", "/worklist/", "/cohort/"):
        assert f'href="{link}"' in page


def test_a_second_confirm_does_nothing(upload, confirm, as_clinician):
    made = confirm(upload(as_csv(three_patients(timezone.localdate()))))
    counts = (Patient.objects.count(), Fracture.objects.count(), Visit.objects.count(), *history_rows())
    again = confirm(made)
    assert again.status == "imported"
    assert (Patient.objects.count(), Fracture.objects.count(), Visit.objects.count(), *history_rows()) == counts
    page = as_clinician.get(made.get_absolute_url()).content.decode()
    assert "This file is not waiting to be imported" in page


def test_discard_deletes_the_stored_file(upload, as_clinician):
    made = upload(as_csv(three_patients(timezone.localdate())))
    assert made.path.exists()
    response = as_clinician.post(reverse("cohort:import_discard", args=[made.pk]))
    assert response.status_code == 302 and response.url == IMPORT_URL
    made.refresh_from_db()
    assert made.status == "discarded" and not made.path.exists()
    assert not Patient.objects.exists()
    page = as_clinician.get(made.get_absolute_url()).content.decode()
    assert "Discarded: the stored copy of the file was deleted and nothing was imported." in page
    assert "Import these records" not in page
    assert as_clinician.post(reverse("cohort:import_confirm", args=[made.pk])).status_code == 302
    made.refresh_from_db()
    assert made.status == "discarded" and not Patient.objects.exists()  # a discarded file cannot be imported


def test_the_stored_file_is_private_while_it_waits(upload):
    content = as_csv(three_patients(timezone.localdate()))
    made = upload(content)
    assert made.path.read_bytes() == content
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(made.path.parent.stat().st_mode) == 0o700


def test_a_file_with_a_problem_is_refused_with_its_row_and_column(upload, confirm, as_clinician):
    rows = three_patients(timezone.localdate())
    rows[1]["bmd_t_score"] = "-8.2"
    made = upload(as_csv(rows))
    assert made.status == "refused"
    page = as_clinician.get(made.get_absolute_url()).content.decode()
    assert "row 3, bmd_t_score" in page and "nothing will be written" in page
    assert "Import these records" not in page and "Upload a corrected file" in page
    assert page.index("row 3, bmd_t_score") < page.index('data-testid="import-counts"')  # the problems first
    assert "What the rows without a problem would do" in page
    confirm(made)
    assert made.status == "refused" and not Patient.objects.exists()


def test_a_file_the_check_stopped_on_can_be_uploaded_again_or_discarded(as_clinician, clinician, settings):
    made = CohortImport.objects.create(
        created_by=clinician,
        filename="odd.csv",
        size_bytes=10,
        sha256="0" * 64,
        status="failed",
        message="The check stopped on an unexpected error: nothing was written.",
    )
    made.path.parent.mkdir(parents=True)
    made.path.write_bytes(b"patient\n")
    page = as_clinician.get(made.get_absolute_url()).content.decode()
    assert "The check stopped on an unexpected error: nothing was written." in page
    assert "Upload the file again" in page and "Discard the file" in page
    as_clinician.post(reverse("cohort:import_discard", args=[made.pk]))
    made.refresh_from_db()
    assert made.status == "discarded" and not made.path.exists()  # no copy of patient data left behind


# -- the progress bar's JSON -----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["checking", "importing"])
def test_progress_while_working(as_clinician, clinician, status):
    made = CohortImport.objects.create(
        created_by=clinician,
        filename="big.csv",
        size_bytes=10,
        sha256="0" * 64,
        status=status,
        done_rows=1250,
        total_rows=5000,
    )
    response = as_clinician.get(reverse("cohort:import_progress", args=[made.pk]))
    assert response.status_code == 200
    assert response.json() == {"status": status, "working": True, "done": 1250, "total": 5000, "percent": 25}
    page = as_clinician.get(made.get_absolute_url()).content.decode()
    assert f'data-progress-url="{reverse("cohort:import_progress", args=[made.pk])}"' in page
    assert 'value="25"' in page and "1,250 of 5,000 rows" in page
    assert "js/import-progress.js" in page

    CohortImport.objects.filter(pk=made.pk).update(status="checked")
    assert as_clinician.get(reverse("cohort:import_progress", args=[made.pk])).json()["working"] is False


def test_before_the_file_is_read_the_page_says_so_not_0_of_0_rows(as_clinician, clinician):
    made = CohortImport.objects.create(
        created_by=clinician, filename="big.csv", size_bytes=10, sha256="0" * 64, status="checking"
    )
    page = as_clinician.get(made.get_absolute_url()).content.decode()
    assert "Checking every row:" in page and "reading the file" in page and "0 of 0" not in page
    assert "Nothing is written while the file is checked." in page


# -- the upload form -------------------------------------------------------------------------------


def test_the_file_field_is_described_by_its_help_and_its_error(as_clinician):
    import re

    page = as_clinician.get(IMPORT_URL).content.decode()
    described = re.search(r'<input type="file"[^>]*aria-describedby="([^"]+)"', page).group(1).split()
    assert described == ["id_file_helptext"] and 'id="id_file_helptext"' in page
    assert "Up to 25 MB here" in page

    response = as_clinician.post(IMPORT_URL, {"note": "no file chosen"})
    assert response.status_code == 400
    page = response.content.decode()
    described = re.search(r'<input type="file"[^>]*aria-describedby="([^"]+)"', page).group(1).split()
    for target in described:
        assert f'id="{target}"' in page, target
    assert 'id="id_file_error" role="alert">This field is required.</div>' in page


# -- the template ------------------------------------------------------------------------------------


def test_the_csv_template_downloads_with_the_columns_and_two_rows(as_clinician):
    response = as_clinician.get(reverse("cohort:import_template", args=["csv"]))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="nasovcf-import-template.csv"'
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == exports.identified_columns()
    assert [row[0] for row in rows] == ["EXAMPLE-1", "EXAMPLE-2"]


def test_the_xlsx_template_downloads_with_the_columns_two_rows_and_the_dictionary(as_clinician):
    response = as_clinician.get(reverse("cohort:import_template", args=["xlsx"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="nasovcf-import-template.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["fractures", "dictionary"]
    header, *rows = list(book["fractures"].iter_rows(values_only=True))
    assert list(header) == exports.identified_columns()
    assert [row[0] for row in rows] == ["EXAMPLE-1", "EXAMPLE-2"]
    described = [row[0] for row in book["dictionary"].iter_rows(min_row=2, values_only=True)]
    assert described == exports.identified_columns()


def test_an_unknown_template_format_is_not_found(as_clinician):
    assert as_clinician.get("/cohort/import/template.xls").status_code == 404


# -- the same file again ---------------------------------------------------------------------------


def test_the_same_file_again_is_all_unchanged_and_importing_it_changes_nothing(upload, confirm, as_clinician):
    content = as_csv(three_patients(timezone.localdate()))
    confirm(upload(content))
    records = (Patient.objects.count(), Fracture.objects.count(), Visit.objects.count())
    history = history_rows()
    versions = sorted(Fracture.objects.values_list("pk", "version"))

    again = upload(content)
    assert again.status == "checked", again.message
    page = as_clinician.get(again.get_absolute_url()).content.decode()
    assert counts_on_page(page) == {"patients": (0, 0, 3), "fractures": (0, 0, 3), "visits": (0, 0, 3)}

    again = confirm(again)
    assert again.status == "imported", again.message
    assert (Patient.objects.count(), Fracture.objects.count(), Visit.objects.count()) == records
    assert history_rows() == history
    assert sorted(Fracture.objects.values_list("pk", "version")) == versions


def test_a_worker_stopped_mid_check_leaves_the_import_marked_stopped(make_user, tmp_path, settings, monkeypatch):
    """Ctrl-C (or a shutdown) in the worker: the page says the work was cut short, never 'checking' for ever."""
    import hashlib

    from cohort import importing, tasks
    from cohort.models import CohortImport

    settings.VAR_DIR = tmp_path
    content = b"patient\nP1\n"
    upload = CohortImport.objects.create(
        created_by=make_user("dr.stop", role="clinician"),
        filename="past.csv",
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    upload.path.parent.mkdir(parents=True, exist_ok=True)
    upload.path.write_bytes(content)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importing, "check", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tasks.check_import.func(str(upload.pk))
    upload.refresh_from_db()
    assert upload.status == CohortImport.Status.FAILED
    assert "cut short" in upload.message
