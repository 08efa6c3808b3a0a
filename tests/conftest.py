import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from scoring import services
from scoring.models import Fracture, Patient
from scoring.roles import ensure_roles

# A real PACS (Debian's Orthanc with its DICOMweb plugin), started by the tests that ask for it.
pytest_plugins = ["tests.orthanc"]

PASSWORD = "correct-horse-battery-staple"

D = Decimal

# spec §6, second worked case: 71-year-old woman, T11, fall, score 10 (high).
SECOND_CASE = {
    "assessment_date": "2025-03-10",
    "level": "T11",
    "injury_date": "2025-03-02",
    "low_energy_trauma": "yes",
    "fracture_type": "compression",
    "vhl_percent": "17.8",
    "kyphosis_angle_deg": "19.6",
    "t2_signal": "diffuse_low",
    "bmd_t_score": "-3.6",
    "vas_pain": "8",
    "odi_percent": "62",
    "height_cm": "152",
    "weight_kg": "50",
    "treatment": "conservative",
}


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request in Chinese leaves Chinese active in the thread (LocaleMiddleware activates the
    language and nothing deactivates it): the next test starts in the default language again."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path_factory):
    """Tests do not run collectstatic: serve static files by name (production uses the manifest).
    A fast password hasher: the production one is slow on purpose. Background tasks run at once,
    in the test's own process and transaction, when enqueued: no worker to start, nothing to wait
    for (django_tasks drops its cached backends when TASKS changes, on Django's setting_changed)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # The cohort report's cache in memory, emptied for each test: a test's database is rolled back,
    # and the next test's history rows may take the same ids, hence the same data version.
    settings.CACHES = {
        **settings.CACHES,
        "cohort": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cohort-tests"},
    }
    from django.core.cache import caches

    caches["cohort"].clear()
    # Each test keeps its radiographs in a directory of its own; no test asks a PACS unless it
    # starts one (tests/orthanc.py).
    settings.FILMS_DIR = tmp_path_factory.mktemp("films")
    settings.DICOMWEB_URL = ""


@pytest.fixture
def make_user(django_user_model):
    """A user in one of the roles made by migration 0004: clinician, viewer or admin."""

    def make(username="clinician", role="clinician", **extra):
        user = django_user_model.objects.create_user(username=username, password=PASSWORD, **extra)
        if role:
            if not Group.objects.filter(name=role).exists():
                ensure_roles(Group, Permission)  # a transactional test flushed what the migration made
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def make_patient(user):
    def make(mrn="MRN001", name="Test Patient", sex="F", date_of_birth=datetime.date(1953, 6, 1), **extra):
        return Patient.objects.create(
            mrn=mrn, name=name, sex=sex, date_of_birth=date_of_birth, created_by=user, updated_by=user, **extra
        )

    return make


@pytest.fixture
def make_fracture(user):
    """A saved assessment scored through the rules, as the form would save it."""

    def make(patient, **fields):
        values = {
            "assessment_date": datetime.date(2025, 3, 10),
            "level": "T11",
            "low_energy_trauma": True,
            "fracture_type": "compression",
            "vhl_percent": Decimal("17.8"),
            "kyphosis_angle_deg": Decimal("19.6"),
            "t2_signal": "diffuse_low",
            "bmd_t_score": Decimal("-3.6"),
            "treatment": "conservative",
        }
        values.update(fields)
        values.setdefault("treatment_start_date", values["assessment_date"])
        fracture = Fracture(patient=patient, created_by=user, updated_by=user, **values)
        fracture.rescore()
        fracture.save()
        services.refresh_course(fracture)  # its expected visits, as a save through the app makes them
        return fracture

    return make


@pytest.fixture
def patient(make_patient):
    # 71 on 2025-03-10, the second worked case's age.
    return make_patient()


@pytest.fixture
def second_case():
    return dict(SECOND_CASE)


# -- the worked cases as saved fractures, and a fracture whose treatment started days ago ---------


@pytest.fixture
def case_one(make_patient, make_fracture):
    """Spec §6, first case: L2, T −1.5, VHL 0.5 %, KA 4.6°, diffuse high signal: score 0."""
    patient = make_patient(mrn="CASE1", date_of_birth=datetime.date(1945, 1, 15))
    return make_fracture(
        patient,
        assessment_date=datetime.date(2024, 6, 1),
        level="L2",
        vhl_percent=D("0.5"),
        kyphosis_angle_deg=D("4.6"),
        t2_signal="diffuse_high",
        bmd_t_score=D("-1.5"),
    )


@pytest.fixture
def case_two(patient, make_fracture):
    """Spec §6, second case: score 10."""
    return make_fracture(patient)


def started(make_patient, make_fracture, mrn, days_ago, **fields):
    """A new patient's fracture assessed, and treated from, `days_ago` days before today."""
    patient = make_patient(mrn=mrn)
    start = timezone.localdate() - datetime.timedelta(days=days_ago)
    return make_fracture(patient, assessment_date=start, treatment_start_date=start, **fields)
