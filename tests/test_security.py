"""Patient data safety: roles, audit trail, no lost updates, archiving, sessions, lockout, headers.

At the top of tests/ on purpose: these guard every page, form and module at once, not one of them.
"""

import datetime
import logging
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import resolve

from nasovcf_site.middleware import SESSION_STARTED_KEY
from scoring import services
from scoring.models import Fracture, Patient, Visit
from tests.conftest import PASSWORD
from tests.films import WORKED_EXAMPLE_CORNERS, dicom_film
from tests.nasovcf_site.test_access import ALL, EXAMPLE_UUID
from tests.orthanc import free_port

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def text(response) -> str:
    return response.content.decode()


# -- roles -----------------------------------------------------------------------------------------


@pytest.fixture
def records(patient, make_fracture, user, make_user, settings, tmp_path):
    fracture = make_fracture(patient)
    visit = Visit.objects.create(
        fracture=fracture,
        kind="1m",
        visit_date=datetime.date(2025, 4, 10),
        vas_pain=Decimal(5),
        created_by=user,
        updated_by=user,
    )
    from cohort.models import CohortImport

    upload = CohortImport.objects.create(
        pk=EXAMPLE_UUID, created_by=user, filename="past.csv", size_bytes=1, sha256="0" * 64, status="checked"
    )
    # A film read by two readers (its compare page), and a PACS that does not answer (its page says so).
    source = tmp_path / "film.dcm"
    source.write_bytes(dicom_film())
    key, decoded = services.ingest_film(source=source, declared_name="film.dcm")
    film = services.add_film(
        fracture_pk=fracture.pk,
        visit_pk=None,
        key=key,
        decoded=decoded,
        source="upload",
        original_name="film.dcm",
        mismatch_confirmed="",
        user=user,
    )
    points = {
        vertebra: {corner: list(xy) for corner, xy in corners.items()}
        for vertebra, corners in WORKED_EXAMPLE_CORNERS.items()
    }
    for reader, who in ((1, user), (2, make_user("second-reader"))):
        services.save_reading(
            film=film, reader=reader, reader_name=who.username, points=points, seen_version=None, user=who
        )
    settings.DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    return {"patient": patient, "fracture": fracture, "visit": visit, "import": upload, "film": film}


def concrete(url: str, records) -> str:
    """The walked URL with each '1' replaced by the id of the record its segment names."""
    parts = url.split("/")
    owner = {"patients": "patient", "assessments": "fracture", "visits": "visit", "films": "film"}
    for i, part in enumerate(parts):
        if part == "1" and i > 0 and parts[i - 1] in owner:
            parts[i] = str(records[owner[parts[i - 1]]].pk)
    return "/".join(parts)


APP_PAGES = [(name, url) for name, url in ALL if name.startswith(("scoring:", "cohort:"))]


def required(url):
    return getattr(resolve(url).func, "required_permissions", None)


def test_every_app_page_names_the_permission_it_needs():
    missing = [name for name, url in APP_PAGES if not required(url)]
    assert missing == []


@pytest.mark.parametrize(("name", "url"), APP_PAGES)
def test_a_viewer_reads_every_page_but_gets_403_on_every_write(client, make_user, records, name, url):
    client.force_login(make_user("reader", role="viewer"))
    url = concrete(url, records)
    writes = any(not p.split(".")[1].startswith("view_") for p in required(url))
    get, post = client.get(url), client.post(url)
    if writes:
        assert (get.status_code, post.status_code) == (403, 403), name
    else:
        assert get.status_code == 200, name


@pytest.mark.parametrize(("name", "url"), APP_PAGES)
def test_a_clinician_may_open_every_page(client, user, records, name, url):
    client.force_login(user)
    response = client.get(concrete(url, records))
    assert response.status_code in (200, 405), name  # 405: the archive actions take POST only


def test_a_viewer_sees_no_edit_buttons(client, make_user, records):
    client.force_login(make_user("reader", role="viewer"))
    pages = [
        text(client.get(path))
        for path in ("/patients/", records["patient"].get_absolute_url(), records["fracture"].get_absolute_url())
    ]
    for page in pages:
        for word in ("Edit", "New patient", "New assessment", "Record visit", "Archive", "Treatment change"):
            assert f">{word}<" not in page and f">{word} " not in page, word
        assert 'data-testid="record-visit"' not in page and ">Record " not in page


def test_a_user_without_a_role_sees_no_patient_data(client, make_user, records):
    client.force_login(make_user("nobody", role=None))
    assert client.get("/patients/").status_code == 403
    assert client.get(records["fracture"].get_absolute_url()).status_code == 403


def test_the_api_answers_403_json_to_a_user_without_a_role(client, make_user):
    client.force_login(make_user("nobody", role=None))
    response = client.post("/api/score/", "{}", content_type="application/json")
    assert response.status_code == 403
    assert "errors" in response.json()


# -- audit trail -----------------------------------------------------------------------------------


def test_every_change_is_recorded_with_who_when_and_what(signed_in, user, patient, second_case, make_user):
    signed_in.post(
        f"/patients/{patient.pk}/assessments/new/", {**second_case, "bmd_t_score": "-2.4", "vhl_percent": "3"}
    )
    fracture = Fracture.objects.get()
    assert fracture.total_score == 4
    other = make_user("second")
    signed_in.force_login(other)
    signed_in.post(
        f"/assessments/{fracture.pk}/edit/", {**second_case, "bmd_t_score": "-2.6", "vhl_percent": "3", "version": "1"}
    )
    records = list(fracture.history.order_by("history_date"))
    assert [r.history_type for r in records] == ["+", "~"]
    assert [r.history_user for r in records] == [user, other]
    assert records[-1].history_date.tzinfo is not None  # stored in UTC
    page = text(signed_in.get(f"/assessments/{fracture.pk}/history/"))
    assert "<li>BMD T-score −2.4 → −2.6</li>" in page and "<li>Total score 4 → 6 (computed)</li>" in page
    assert "<li>Risk group medium risk → high risk (computed)</li>" in page
    assert ">second<" in page and ">clinician<" in page


def test_patient_and_visit_history_pages(signed_in, records):
    signed_in.post(
        f"/patients/{records['patient'].pk}/edit/",
        {"mrn": "MRN001", "name": "New Name", "sex": "F", "date_of_birth": "1953-06-01", "version": "1"},
    )
    assert "Name Test Patient → New Name" in text(signed_in.get(f"/patients/{records['patient'].pk}/history/"))
    visit = records["visit"]
    signed_in.post(
        f"/visits/{visit.pk}/edit/", {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "3", "version": "1"}
    )
    assert "VAS pain 5.0 → 3.0" in text(signed_in.get(f"/visits/{visit.pk}/history/"))


def test_history_cannot_be_edited_through_the_app(signed_in, records, make_user):
    url = f"/assessments/{records['fracture'].pk}/history/"
    assert signed_in.post(url).status_code == 405
    admin = make_user("boss", role="admin", is_staff=True)
    signed_in.force_login(admin)
    assert signed_in.get("/admin/scoring/historicalfracture/").status_code == 404  # not in the admin at all


def test_sign_ins_failures_and_sign_outs_are_logged(client, user, caplog):
    from axes.models import AccessFailureLog, AccessLog

    with caplog.at_level(logging.INFO, logger="nasovcf.auth"):
        client.post("/accounts/login/", {"username": "clinician", "password": "wrong"}, REMOTE_ADDR="10.9.8.7")
        client.post("/accounts/login/", {"username": "clinician", "password": PASSWORD}, REMOTE_ADDR="10.9.8.7")
        client.post("/accounts/logout/", REMOTE_ADDR="10.9.8.7")
    messages = [r.getMessage() for r in caplog.records if r.name == "nasovcf.auth"]
    assert messages == [
        "failed sign-in user=clinician address=10.9.8.7",
        "sign-in user=clinician address=10.9.8.7",
        "sign-out user=clinician address=10.9.8.7",
    ]
    assert PASSWORD not in caplog.text and "wrong" not in " ".join(messages)
    assert AccessFailureLog.objects.filter(username="clinician").count() == 1
    log = AccessLog.objects.get(username="clinician")
    assert log.attempt_time and log.logout_time


# -- no silent lost update -------------------------------------------------------------------------


def test_the_second_of_two_concurrent_assessment_edits_is_refused_and_shows_the_first(
    client, patient, second_case, make_user, make_fracture
):
    fracture = make_fracture(patient, bmd_t_score=Decimal("-2.4"), vhl_percent=Decimal("3"))
    alice, bob = Client(), Client()
    alice.force_login(make_user("alice"))
    bob.force_login(make_user("bob"))
    # Both open the form at version 1.
    assert 'name="version" value="1"' in text(alice.get(f"/assessments/{fracture.pk}/edit/"))
    assert 'name="version" value="1"' in text(bob.get(f"/assessments/{fracture.pk}/edit/"))
    first = alice.post(
        f"/assessments/{fracture.pk}/edit/", {**second_case, "bmd_t_score": "-2.6", "vhl_percent": "3", "version": "1"}
    )
    assert first.status_code == 302
    second = bob.post(
        f"/assessments/{fracture.pk}/edit/",
        {**second_case, "bmd_t_score": "-1.5", "kyphosis_angle_deg": "5", "vhl_percent": "3", "version": "1"},
    )
    page = text(second)
    assert second.status_code == 200
    assert "Not saved: alice changed it (" in page
    assert "T-score −2.4 → −2.6" in page and "score 4 → 6" in page
    assert 'name="version" value="2"' in page  # saving again now is a deliberate choice
    fracture.refresh_from_db()
    assert (fracture.bmd_t_score, fracture.kyphosis_angle_deg, fracture.version) == (
        Decimal("-2.6"),
        Decimal("19.6"),
        2,
    )
    assert fracture.updated_by.username == "alice"


def test_a_stale_visit_edit_is_refused(client, records, make_user):
    visit = records["visit"]
    alice, bob = Client(), Client()
    alice.force_login(make_user("alice"))
    bob.force_login(make_user("bob"))
    data = {"kind": "1m", "visit_date": "2025-04-10", "version": "1"}
    assert alice.post(f"/visits/{visit.pk}/edit/", {**data, "vas_pain": "2"}).status_code == 302
    response = bob.post(f"/visits/{visit.pk}/edit/", {**data, "vas_pain": "9"})
    assert "Not saved: alice changed it (" in text(response) and "VAS pain 5.0 → 2.0" in text(response)
    visit.refresh_from_db()
    assert visit.vas_pain == Decimal("2.0")


def test_a_stale_patient_edit_is_refused(signed_in, patient):
    data = {"mrn": "MRN001", "sex": "F", "date_of_birth": "1953-06-01", "version": "1"}
    signed_in.post(f"/patients/{patient.pk}/edit/", {**data, "name": "First"})
    response = signed_in.post(f"/patients/{patient.pk}/edit/", {**data, "name": "Second"})
    assert "Not saved" in text(response)
    patient.refresh_from_db()
    assert patient.name == "First"


# -- archiving -------------------------------------------------------------------------------------


def test_archiving_hides_a_patient_from_the_lists_but_keeps_everything(signed_in, records, user):
    patient = records["patient"]
    response = signed_in.post(f"/patients/{patient.pk}/archive/", {"reason": "Registered twice"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.is_archived and patient.archived_by == user
    assert ">MRN001</a>" not in text(signed_in.get("/patients/"))
    assert ">MRN001</a>" in text(signed_in.get("/patients/?archived=1"))
    assert Patient.objects.filter(pk=patient.pk).exists() and Fracture.objects.count() == 1
    assert "Archived: Registered twice" in text(signed_in.get(f"/patients/{patient.pk}/history/"))
    signed_in.post(f"/patients/{patient.pk}/archive/", {"restore": "1"})
    assert ">MRN001</a>" in text(signed_in.get("/patients/"))


def test_an_archived_assessment_leaves_the_worklist_and_the_latest_score(signed_in, make_patient, make_fracture):
    from django.utils import timezone

    start = timezone.localdate() - datetime.timedelta(days=30)
    fracture = make_fracture(make_patient(mrn="DUE"), assessment_date=start, treatment_start_date=start)
    assert 'data-row="DUE-1m"' in text(signed_in.get("/worklist/"))
    signed_in.post(f"/assessments/{fracture.pk}/archive/", {"reason": "Entered twice"})
    assert 'data-row="DUE-1m"' not in text(signed_in.get("/worklist/"))
    row = text(signed_in.get("/patients/?q=DUE"))
    assert "none yet" in row


def test_only_an_admin_deletes_and_only_through_the_admin(client, records, make_user):
    visit = records["visit"]
    client.force_login(make_user("doc", role="clinician", is_staff=True))
    assert client.post(f"/admin/scoring/visit/{visit.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Visit.objects.filter(pk=visit.pk).exists()
    admin = make_user("boss", role="admin", is_staff=True)
    client.force_login(admin)
    assert client.post(f"/admin/scoring/visit/{visit.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Visit.objects.filter(pk=visit.pk).exists()
    deleted = Visit.history.get(id=visit.pk, history_type="-")
    assert deleted.history_user == admin


# -- sessions --------------------------------------------------------------------------------------


def test_the_idle_timeout_is_15_minutes_on_the_server(client, user):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.post("/accounts/login/", {"username": "clinician", "password": PASSWORD})
    stored = Session.objects.get(session_key=client.cookies["sessionid"].value)
    left = (stored.expire_date - timezone.now()).total_seconds()
    assert 15 * 60 - 30 < left <= 15 * 60


def test_a_session_idle_past_its_expiry_is_signed_out(client, user):
    import datetime

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.post("/accounts/login/", {"username": "clinician", "password": PASSWORD})
    assert client.get("/patients/").status_code == 200
    Session.objects.filter(session_key=client.cookies["sessionid"].value).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = client.get("/patients/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_session_older_than_12_hours_is_signed_out_whatever_the_activity(client, user):
    client.post("/accounts/login/", {"username": "clinician", "password": PASSWORD})
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - 12 * 3600 - 5
    session.save()
    response = client.get("/patients/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_session_key_is_renewed_at_sign_in_and_destroyed_at_sign_out(client, user):
    from django.contrib.sessions.models import Session

    client.get("/accounts/login/")
    client.cookies["sessionid"] = "anonymouskeyfromsomewhere"
    client.post("/accounts/login/", {"username": "clinician", "password": PASSWORD})
    key = client.cookies["sessionid"].value
    assert key != "anonymouskeyfromsomewhere"
    assert Session.objects.filter(session_key=key).exists()
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()


def test_pages_carry_the_idle_warning(signed_in):
    page = text(signed_in.get("/patients/"))
    assert 'data-idle-seconds="900"' in page and "js/session.js" in page
    assert signed_in.post("/accounts/keepalive/").status_code == 204


# -- brute force -----------------------------------------------------------------------------------


def _fail(client, username, address):
    return client.post("/accounts/login/", {"username": username, "password": "nope"}, REMOTE_ADDR=address)


def test_five_failures_lock_that_username_from_that_address_for_15_minutes(client, make_user, settings, caplog):
    make_user("alice")
    make_user("bob")
    for _ in range(4):
        assert _fail(client, "alice", "10.0.0.1").status_code == 200
    with caplog.at_level(logging.WARNING, logger="axes"):
        locked = _fail(client, "alice", "10.0.0.1")
    assert locked.status_code == 429
    assert "locked for 15 minutes" in text(locked)
    assert any("lock" in r.getMessage().lower() for r in caplog.records)  # the lockout is logged
    # even the right password is refused while locked
    right = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
    assert right.status_code == 429
    # another user from that address, and the same user from elsewhere, are not locked
    assert (
        client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1").status_code
        == 302
    )
    other = Client()
    assert (
        other.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2").status_code
        == 302
    )
    assert settings.AXES_COOLOFF_TIME == datetime.timedelta(minutes=15)


# -- headers ---------------------------------------------------------------------------------------


def test_strict_content_security_policy_on_every_page(signed_in):
    csp = signed_in.get("/patients/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_no_inline_script_or_style_in_any_template():
    import re

    # The downloadable validation report is the exception: a file to open from disk (sent as an
    # attachment, never shown as a page of the app), so it carries its own styles.
    standalone = {ROOT / "templates" / "cohort" / "report_download.html"}
    for path in set((ROOT / "templates").rglob("*.html")) - standalone:
        source = path.read_text()
        assert not re.search(r"<script>|<script [^>]*>[^<]|style=\"|<style", source), path


@pytest.mark.parametrize("url", ["/patients/", "/worklist/", "/api/score/"])
def test_pages_with_patient_data_are_never_cached(signed_in, url):
    response = (
        signed_in.get(url) if url != "/api/score/" else signed_in.post(url, "{}", content_type="application/json")
    )
    assert response["Cache-Control"] == "no-store"


def test_deploy_check_passes_with_no_warning_behind_tls(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(NASOVCF_VAR_DIR=str(tmp_path), DJANGO_DEBUG="0", DJANGO_HTTPS="1", DJANGO_ALLOWED_HOSTS="clinic.example")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_an_admin_cannot_make_anyone_superuser_or_change_the_sign_in_log(client, make_user, django_user_model):
    from axes.models import AccessLog

    admin = make_user("boss", role="admin", is_staff=True)
    client.force_login(admin)
    response = client.post(
        f"/admin/auth/user/{admin.pk}/change/",
        {
            "username": "boss",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [],
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    admin.refresh_from_db()
    assert not admin.is_superuser
    assert response.status_code in (200, 302)
    root = django_user_model.objects.create_superuser("root", password="x" * 12)
    assert client.post(f"/admin/auth/user/{root.pk}/change/", {"username": "hijacked"}).status_code == 403
    log = AccessLog.objects.create(username="someone", ip_address="10.0.0.1", user_agent="x", path_info="/")
    assert client.post(f"/admin/axes/accesslog/{log.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccessLog.objects.filter(pk=log.pk).exists()


def test_rows_saved_before_the_audit_trail_get_a_baseline_history_record(signed_in, patient):
    import importlib

    from django.apps import apps

    patient.history.all().delete()  # as if saved before migration 0003
    importlib.import_module("scoring.migrations.0005_history_baseline").add_baselines(apps, None)
    (baseline,) = patient.history.all()
    assert (baseline.history_type, baseline.mrn, baseline.name) == ("+", "MRN001", "Test Patient")
    signed_in.post(
        f"/patients/{patient.pk}/edit/",
        {"mrn": "MRN001", "name": "Renamed", "sex": "F", "date_of_birth": "1953-06-01", "version": "1"},
    )
    assert "Name Test Patient → Renamed" in text(signed_in.get(f"/patients/{patient.pk}/history/"))
