"""The records a clinic morning leaves behind, for the whole-app guards of issue 11 (the viewer's
crawl in tests/test_viewer_crawl.py, every page at three widths in tests/browser/test_every_page.py).

Made through the models as the app saves them (scored, outcomes and expected visits refreshed), with
what stretches a page: long patient names (with spaces, and one word without), reader names of the
full 100 characters, two readers that disagree, four visits on one fracture, a treatment change,
an archived patient and an archived assessment, a worklist row in every status, and the lateral
films of issue 15: a baseline film read by two readers (two users, one with the 100-character name,
their values apart), a visit film read by the first reader only, and a visit film whose DICOM names
another patient, kept with the mismatch confirmed.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from nasovcf_site.private_files import private_directory
from scoring import measurements, services
from scoring.models import Film, FilmReading, FilmSource, Fracture, Patient, Visit
from scoring.roles import ensure_roles
from tests.films import WORKED_EXAMPLE_CORNERS, dicom_film

PASSWORD = "correct-horse-battery-staple"

# 80+ characters with spaces, and one word of 90 characters with nowhere to wrap.
LONG_NAME = "Maria-Fernanda Alexandrina Konstantinopoulou-Vanderbilt de la Cruz y Montenegro-Ashworth"
LONG_WORD = "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaftschaferswessenschafewar"
# Reader names at the field's limit (100 characters): one with spaces, one without.
LONG_READER = ("Dr Bartholomew Maximilian Featherstonehaugh-Cholmondeley of the Royal Infirmary Radiology Dept")[
    :100
].ljust(100, "x")
LONG_READER_WORD = ("Radiologistwithaverylongunbrokenname" * 3)[:100]
LONG_MRN = "LONGMRN-2026-0000000000000000001"  # 32 characters, the field's limit


@dataclass
class Seeded:
    """What was made: the users and the records the guards open."""

    clinician: object
    viewer: object
    long_name: Patient
    long_word: Patient
    archived_patient: Patient
    disagreement: Fracture  # two readers that disagree, four visits, long reader names
    treatment_changed: Fracture
    archived_fracture: Fracture
    overdue: Fracture
    visits: dict[str, Visit] = field(default_factory=dict)  # the disagreement fracture's, by kind
    imports: dict[str, object] = field(default_factory=dict)  # CohortImport rows, by status
    # The disagreement fracture's films: "baseline" (both readers), "visit" (the 3-month visit's,
    # first reader only), "mismatch" (the 6-month visit's, another patient's DICOM, kept).
    films: dict[str, Film] = field(default_factory=dict)

    def patients(self) -> list[Patient]:
        return [self.long_name, self.long_word, self.archived_patient, self.overdue.patient]

    def fractures(self) -> list[Fracture]:
        return [self.disagreement, self.treatment_changed, self.archived_fracture, self.overdue]


def _user(username: str, role: str, **names):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **names)
    user.groups.add(Group.objects.get(name=role))
    return user


def _patient(user, mrn: str, name: str, born=datetime.date(1950, 2, 2)) -> Patient:
    return Patient.objects.create(mrn=mrn, name=name, sex="F", date_of_birth=born, created_by=user, updated_by=user)


def _fracture(user, patient: Patient, start: datetime.date, **fields) -> Fracture:
    values = {
        "assessment_date": start,
        "treatment_start_date": start,
        "level": "T12",
        "low_energy_trauma": True,
        "fracture_type": "compression",
        "vhl_percent": Decimal("17.8"),
        "kyphosis_angle_deg": Decimal("19.6"),
        "t2_signal": "diffuse_low",
        "bmd_t_score": Decimal("-3.1"),
        "vas_pain": Decimal("7"),
        "odi_percent": Decimal("48"),
        "treatment": "conservative",
        "of_class": "OF3",
    }
    values.update(fields)
    fracture = Fracture(patient=patient, created_by=user, updated_by=user, **values)
    fracture.rescore()
    fracture.save()
    services.refresh_course(fracture)  # its expected visits, as a save through the app makes them
    return fracture


def _two_readers(first_vhl: str, second_vhl: str, first_ka: str, second_ka: str) -> dict:
    """A film read twice, as the form keeps it: each reader's values and their (scored) mean."""
    first_vhl, second_vhl, first_ka, second_ka = map(Decimal, (first_vhl, second_vhl, first_ka, second_ka))
    return {
        "first_reader_name": LONG_READER,
        "second_reader_name": LONG_READER_WORD,
        "vhl_entered_percent": first_vhl,
        "first_vhl_percent": first_vhl,
        "first_kyphosis_angle_deg": first_ka,
        "second_vhl_entered_percent": second_vhl,
        "second_vhl_percent": second_vhl,
        "second_kyphosis_angle_deg": second_ka,
        "vhl_percent": measurements.mean_of_readers(first_vhl, second_vhl),
        "kyphosis_angle_deg": measurements.mean_of_readers(first_ka, second_ka),
    }


def _visit(user, fracture: Fracture, kind: str, day: datetime.date, **fields) -> Visit:
    visit = Visit(fracture=fracture, kind=kind, visit_date=day, created_by=user, updated_by=user, **fields)
    visit.compute_outcomes(fracture)
    visit.save()
    return visit


def seed(*, extra_patients: int = 0) -> Seeded:
    """Make the users (a clinician with a long full name, a viewer) and the records; `extra_patients`
    more plain patients give the patient list a second page."""
    ensure_roles(Group, Permission)  # a transactional test flushed the groups the migration made
    clinician = _user(
        "dr.morning",
        "clinician",
        first_name="Alexandrina Konstantinopoulou",
        last_name="Featherstonehaugh-Cholmondeley-Vanderbilt",
    )
    viewer = _user("viewer.morning", "viewer", first_name="Vera", last_name="Viewer")
    today = timezone.localdate()

    def ago(days: int) -> datetime.date:
        return today - datetime.timedelta(days=days)

    long_name = _patient(clinician, LONG_MRN, LONG_NAME)
    long_word = _patient(clinician, "LONGWORD-1", LONG_WORD)

    # Four visits (1, 3, 6 months and one unscheduled) on a fracture read twice, the readers apart.
    start = ago(200)
    disagreement = _fracture(clinician, long_name, start, **_two_readers("17.8", "25.0", "19.6", "26.0"))

    def day(days: int) -> datetime.date:
        return start + datetime.timedelta(days=days)

    visits = {
        "1m": _visit(clinician, disagreement, "1m", day(30), vas_pain=Decimal(6), odi_percent=Decimal(40)),
        "3m": _visit(
            clinician,
            disagreement,
            "3m",
            day(90),
            vas_pain=Decimal(4),
            odi_percent=Decimal(30),
            **_two_readers("20.0", "27.0", "24.0", "31.0"),
        ),
        "unscheduled": _visit(
            clinician, disagreement, "unscheduled", day(120), vas_pain=Decimal(5), notes="Fell at home. " * 20
        ),
        "6m": _visit(
            clinician,
            disagreement,
            "6m",
            day(185),
            vas_pain=Decimal(2),
            odi_percent=Decimal(18),
            bone_union="united",
            **_two_readers("22.0", "23.0", "30.0", "33.0"),
        ),
    }
    services.refresh_course(disagreement)

    # Vertebroplasty at week 3 of conservative care, a visit after it.
    treatment_changed = _fracture(clinician, long_word, ago(120), level="L1")
    treatment_changed.treatment_changed_to = "vertebroplasty"
    treatment_changed.treatment_changed_on = ago(99)
    treatment_changed.treatment_change_reason = "Pain not controlled after three weeks of bracing. " * 5
    treatment_changed.save()
    _visit(clinician, treatment_changed, "1m", ago(90), vas_pain=Decimal(2), kyphosis_angle_deg=Decimal("20.5"))
    services.refresh_course(treatment_changed)

    # An archived assessment beside the active ones, and an archived patient.
    archived_fracture = _fracture(clinician, long_name, ago(60), level="L2")
    services.set_archived(record=archived_fracture, archived=True, user=clinician, reason="Entered twice by mistake.")
    archived_patient = _patient(clinician, "ARCHIVED-1", "Archie Archived")
    _fracture(clinician, archived_patient, ago(40))
    services.set_archived(record=archived_patient, archived=True, user=clinician, reason="Moved to another clinic.")

    # A worklist row in every status: 1-month overdue, due today, upcoming, and missed (with the
    # 3-month visit then due).
    overdue = _fracture(clinician, _patient(clinician, "OVERDUE-1", f"Overdue {LONG_NAME}"), ago(45))
    _fracture(clinician, _patient(clinician, "DUE-1", "Dora Due-Today"), ago(30))
    _fracture(clinician, _patient(clinician, "UPCOMING-1", "Uma Upcoming"), ago(10))
    _fracture(clinician, _patient(clinician, "MISSED-1", "Milo Missed"), ago(100), level="L3")

    for number in range(extra_patients):
        _patient(clinician, f"EXTRA-{number:03d}", f"Extra Patient {number:03d}")

    return Seeded(
        clinician=clinician,
        viewer=viewer,
        long_name=Patient.objects.get(pk=long_name.pk),
        long_word=long_word,
        archived_patient=Patient.objects.get(pk=archived_patient.pk),
        disagreement=Fracture.objects.get(pk=disagreement.pk),
        treatment_changed=Fracture.objects.get(pk=treatment_changed.pk),
        archived_fracture=Fracture.objects.get(pk=archived_fracture.pk),
        overdue=overdue,
        visits=visits,
        imports=_imports(clinician),
        films=_films(clinician, Fracture.objects.get(pk=disagreement.pk), visits),
    )


def _film(user, fracture: Fracture, visit: Visit | None, dicom: bytes, *, confirm_mismatch: bool = False) -> Film:
    """A film as the upload keeps it: decoded by services.ingest_film from a private copy, then
    services.add_film (with the mismatch the user would have confirmed, if any)."""
    incoming = settings.FILMS_DIR / "incoming"
    private_directory(incoming)
    descriptor, name = tempfile.mkstemp(dir=incoming, suffix=".dcm")  # 0600, as the upload's copy
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(dicom)
    try:
        key, decoded = services.ingest_film(source=Path(name), declared_name="lateral.dcm")
    finally:
        Path(name).unlink(missing_ok=True)
    mismatch = services.film_identity_mismatch(fracture.patient, decoded)
    assert bool(mismatch) == confirm_mismatch, mismatch
    return services.add_film(
        fracture_pk=fracture.pk,
        visit_pk=visit.pk if visit else None,
        key=key,
        decoded=decoded,
        source=FilmSource.UPLOAD,
        original_name="lateral-spine-standing-" + "long-file-name-" * 6 + ".dcm",
        mismatch_confirmed=mismatch,
        user=user,
    )


def _corners(**moved: tuple[int, int]) -> dict:
    """The drawn corners (tests/films.py) as spec §9 JSON; `moved` replaces some
    ("fractured__anterior_superior": (x, y))."""
    points = {
        vertebra: {corner: list(xy) for corner, xy in corners.items()}
        for vertebra, corners in WORKED_EXAMPLE_CORNERS.items()
    }
    for key, xy in moved.items():
        vertebra, corner = key.split("__")
        points[vertebra][corner] = list(xy)
    return points


def _films(clinician, fracture: Fracture, visits: dict[str, Visit]) -> dict[str, Film]:
    """The disagreement fracture's films: the baseline read by two readers who disagree (the second
    a different user, as the app requires), the 3-month visit's read once, the 6-month visit's a
    DICOM of another patient kept with the mismatch confirmed. Portrait films, as a lateral
    radiograph of the spine is."""
    second_reader = _user("dr.second", "clinician", first_name="Sam", last_name="Second")
    own = {"patient_id": fracture.patient.mrn, "patient_name": ""}  # the name is longer than a PN component
    baseline = _film(clinician, fracture, None, dicom_film(rows=640, **own))
    services.save_reading(
        film=baseline, reader=FilmReading.Reader.FIRST, reader_name=LONG_READER, points=_corners(),
        seen_version=None, user=clinician,
    )  # fmt: skip
    services.save_reading(
        film=baseline,
        reader=FilmReading.Reader.SECOND,
        reader_name="Dr Sam Second",
        points=_corners(fractured__anterior_superior=(216, 250), fractured__posterior_superior=(296, 240)),
        seen_version=None,
        user=second_reader,
    )
    visit_film = _film(clinician, fracture, visits["3m"], dicom_film(rows=640, **own))
    services.save_reading(
        film=visit_film, reader=FilmReading.Reader.FIRST, reader_name=LONG_READER_WORD, points=_corners(),
        seen_version=None, user=clinician,
    )  # fmt: skip
    other = dicom_film(patient_id="OTHER-PATIENT-0000000000000000000099", patient_name="Otherperson^Olivia")
    mismatch = _film(clinician, fracture, visits["6m"], other, confirm_mismatch=True)
    return {"baseline": baseline, "visit": visit_film, "mismatch": mismatch}


def _imports(clinician) -> dict:
    """Imports waiting to be confirmed, refused and under way, with long file names and messages:
    what the import's pages show at their widest."""
    from cohort import importing, tables
    from cohort.models import CohortImport
    from cohort.tables import Message
    from scoring.forms.fields import MIN_VALUE_MESSAGE
    from scoring.wording import gettext_noop

    checked = importing.Report(rows=1200)
    checked.counts["patients"].update(create=1150, unchanged=50)
    checked.counts["fractures"].update(create=1180, update=20)
    checked.counts["visits"].update(create=3400, update=12, unchanged=100)
    # The messages as the checker makes them: their parts, shown in the reader's language (issue 16).
    encoding_note = tables._decode(b"Mu\xf1oz")[1]
    checked.notes.append(encoding_note)
    scores = [
        ("fracture_type", "compression", "", 0),
        ("vertebral_height_loss", "17.8", " %", 2),
        ("kyphosis_angle", "19.6", "°", 2),
    ]
    scores += [("t2_signal", "diffuse_low", "", 2), ("bmd", "-3.6", "", 4)]
    reason = importing.joined(
        [
            Message(
                gettext_noop("%(label)s %(value)s%(unit)s scores %(points)s"),
                {"label": Message(importing.COMPONENT_WORDS[name][0]), "value": value, "unit": unit, "points": points},
            )
            for name, value, unit, points in scores
        ]
    )
    for row in range(2, 40):
        checked.add_difference(importing.Difference(row, "nasovcf_total", "8", "10", reason))
    refused = importing.Report(rows=40)
    refused.counts["patients"].update(create=38)
    below = Message(MIN_VALUE_MESSAGE, {"limit_value": "-7.0", "unit": ""})
    for row in range(2, 30):
        refused.add_problem(
            importing.Problem(
                row,
                "bmd_t_score",
                Message(gettext_noop("“%(value)s”: %(message)s"), {"value": "-8.2", "message": below}),
            )
        )
    refused.add_problem(
        importing.Problem(
            31,
            "",
            Message(
                gettext_noop("the same patient, level and assessment date as row %(row)s: one row per fracture."),
                {"row": 4},
            ),
        )
    )
    name = "cohort-2016-2021-spine-centre-shaoxing-retrospective-conservative-care-final-v3.xlsx"
    common = {"created_by": clinician, "filename": name, "size_bytes": 1_234_567, "sha256": "0" * 64}
    return {
        "checked": CohortImport.objects.create(
            **common, status="checked", report=checked.as_dict(), done_rows=1200, total_rows=1200
        ),
        "refused": CohortImport.objects.create(**common, status="refused", report=refused.as_dict()),
        "importing": CohortImport.objects.create(**common, status="importing", done_rows=300, total_rows=1200),
    }
