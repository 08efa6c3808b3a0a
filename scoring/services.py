"""Every write of the clinical app: one function per action, each owning its transaction and its
lock, scoring once, and keeping what is derived (a fracture's course, its expected visits) in step.

Views validate the request with a form and call one of these; nothing else writes patients,
assessments, visits or expected visits. A save based on an older version of a record raises
`locking.StaleEdit` and writes nothing; a write to an archived patient or assessment (or to what
belongs to one) raises `ArchivedRecord` and writes nothing: restoring it (`set_archived`) is the
one change an archived record takes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from . import followup, measurements, outcomes, presenters, radiograph
from .forms import AssessmentForm, PatientForm, TreatmentChangeForm, VisitForm
from .locking import StaleEdit, save_versioned
from .models import (
    ExpectedVisit,
    Film,
    FilmReading,
    FilmSource,
    Fracture,
    Patient,
    Submission,
    Visit,
    VisitKind,
    name_words,
    visit_schedule,
)

if TYPE_CHECKING:
    from . import films

# The language of the reasons the app stores in a record's history (history.reason_words says the
# ones it knows again in the reader's language; a sentence stored whole is shown as stored).
STORED_LANGUAGE = "en-gb"


class ArchivedRecord(Exception):
    """The patient or assessment written to is archived: read-only until it is restored."""

    def __init__(self, record: Patient | Fracture):
        self.record = record
        if isinstance(record, Patient):
            message = _("Patient %(mrn)s is archived: restore it first to change it.") % {"mrn": record.mrn}
        else:
            message = _("The assessment of %(date)s (%(level)s) is archived: restore it first to change it.") % {
                "date": date_format(record.assessment_date, "SHORT_DATE_FORMAT"),
                "level": record.level,
            }
        super().__init__(message)


def refuse_archived(record: Patient | Fracture) -> None:
    """ArchivedRecord if the record, read as stored now, is archived (an assessment: or its patient)."""
    archived = record.archived_record
    if archived is not None:
        raise ArchivedRecord(archived)


class AlreadySubmitted(Exception):
    """This very form was saved before (a double-click, a resent request): nothing is saved
    again; `url` is where the first submission went."""

    def __init__(self, url: str):
        self.url = url
        super().__init__("This form was already saved.")


class CourseChangeToConfirm(Exception):
    """The save would move an outcome of the fracture's course that is already known (spec §2: a
    new or changed reader of a film the outcome depends on): say what, and save only when the
    person confirms (the form's confirmation `key`)."""

    def __init__(self, key: str, text: str):
        self.key, self.text = key, text
        super().__init__(text)


def _token(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def data_digest(data) -> str:
    """A hash of what a form sent (its fields but the CSRF token), to tell a resent form from the
    same form changed and sent again."""
    items = sorted((key, value) for key in data if key != "csrfmiddlewaretoken" for value in data.getlist(key))
    return hashlib.sha256(repr(items).encode()).hexdigest()


@dataclass(frozen=True)
class FirstSubmission:
    url: str  # where the first save went
    same_data: bool  # the same values sent again (a double-click), or other values


def submitted_before(token, user, data=None) -> FirstSubmission | None:
    """The first save of this form, when this user saved it before; else None."""
    token = _token(token)
    if token is None:
        return None
    first = Submission.objects.filter(token=token, user=user).values_list("result_url", "data_digest").first()
    if first is None:
        return None
    url, digest = first
    return FirstSubmission(url, data is None or not digest or digest == data_digest(data))


def claim_submission(token, user, data=None) -> Submission | None:
    """Record that this form is being saved, in the caller's transaction; AlreadySubmitted if it
    was saved before. Two submissions at once: the second waits on the unique token until the
    first commits, then finds it."""
    token = _token(token)
    if token is None:
        return None
    try:
        with transaction.atomic():
            return Submission.objects.create(token=token, user=user, data_digest=data_digest(data) if data else "")
    except IntegrityError:
        first = submitted_before(token, user)
        raise AlreadySubmitted(first.url if first else "") from None


def complete_submission(submission: Submission | None, url: str) -> None:
    if submission is not None:
        submission.result_url = url
        submission.save(update_fields=["result_url"])


def note_result(token, user, url: str) -> None:
    """Where a saved form finally led (the view's redirect, when it is more than the record)."""
    if (token := _token(token)) is not None:
        Submission.objects.filter(token=token, user=user).update(result_url=url)


def _course_of(fracture: Fracture) -> outcomes.FractureOutcome:
    """The course as stored on the fracture."""
    return outcomes.FractureOutcome(
        fracture.progressive_kyphosis,
        fracture.progressive_kyphosis_on,
        fracture.non_union,
        fracture.non_union_on,
        fracture.kyphosis_difference_six_months_deg,
        fracture.vhl_difference_six_months_percent,
    )


def _confirm_course_change(form, stored: Fracture, fracture: Fracture, visits: list[Visit], records: list) -> str:
    """Compare the course `stored` has with the one `fracture` (as edited) and `visits` give; a
    known outcome that would change is announced (CourseChangeToConfirm) unless the person has
    confirmed exactly that, and is then the reason in the records' history (in English, as the app
    stores its reasons); returns it ("" when no outcome changes)."""
    for visit in visits:
        visit.compute_outcomes(fracture)
    after = outcomes.fracture_outcome(visit.outcome_input(fracture) for visit in visits)
    changes = [change for change in outcomes.course_changes(_course_of(stored), after) if change.before is not None]
    if not changes:
        return ""
    text = presenters.course_change_text(changes)  # in the language of the person asked
    with translation.override(STORED_LANGUAGE):
        stored_text = presenters.course_change_text(changes)
    key = form.confirmation_key("course", stored_text)  # the same whichever language asked
    if not form.is_confirmed(key):
        raise CourseChangeToConfirm(key, text)
    for record in records:
        record._change_reason = stored_text
    return stored_text


def lock_fracture(fracture_pk: int) -> Fracture:
    """Lock the fracture's patient, then the fracture (the order every service locks them in: a
    patient's archive or edit and a write to one of its fractures go one after the other), and
    return the fracture as stored now, with its patient."""
    Patient.objects.select_for_update(of=("self",)).only("pk").get(fractures__pk=fracture_pk)
    return Fracture.objects.select_related("patient").select_for_update(of=("self",)).get(pk=fracture_pk)


VISIT_OUTCOME_FIELDS = ["kyphosis_difference_deg", "vhl_difference_percent", "progressive_kyphosis"]
# What a patient's date of birth feeds in a saved score (the age and its warning).
RESCORED_FIELDS = ["age_at_assessment", "population_warnings", "updated_by", "version"]


# -- patients ----------------------------------------------------------------------------------------


def register_patient(*, form: PatientForm, user) -> Patient:
    with transaction.atomic():
        submission = claim_submission(form.submission_token(), user, form.data)
        patient = form.save(commit=False)
        save_versioned(patient, None, user)
        complete_submission(submission, patient.get_absolute_url())
    return patient


def update_patient(*, form: PatientForm, user) -> Patient:
    """Save the patient's edit; a corrected date of birth updates their assessments' age and
    population warnings (their recorded scores stay as they are), under the fractures' locks and
    with new versions, so an assessment edit opened before the correction is refused rather than
    saved over it."""
    with transaction.atomic():
        refuse_archived(Patient.objects.select_for_update().get(pk=form.instance.pk))
        submission = claim_submission(form.submission_token(), user, form.data)
        patient = form.save(commit=False)
        save_versioned(patient, form.seen_version(), user)
        if "date_of_birth" in form.changed_data:
            fractures = list(patient.fractures.select_for_update())
            for fracture in fractures:
                fracture.patient = patient
                fracture.refresh_age()
                fracture.updated_by = user
                fracture.version += 1
            bulk_update_with_history(fractures, Fracture, RESCORED_FIELDS, default_user=user)
        complete_submission(submission, patient.get_absolute_url())
    return patient


def set_archived(*, record: Patient | Fracture, archived: bool, user, reason: str = "") -> Patient | Fracture:
    """Archive (hide from the lists and the worklist, keep in full) or restore a patient or an
    assessment, under the row lock and with a new version, so an edit opened before is refused
    instead of undoing the archive (or being undone by it). The reason is kept on the record and
    in its history."""
    model = type(record)
    with transaction.atomic():
        record = model.objects.select_for_update().get(pk=record.pk)
        if record.is_archived == archived:
            return record  # a second click, or somebody else was first: nothing to change
        if archived:
            record.archive(user, reason)
            record._change_reason = f"Archived: {reason}" if reason else "Archived"
        else:
            record.restore()
            record._change_reason = "Restored"
        record.updated_by = user
        record.version += 1
        record.save(
            update_fields=["archived_at", "archived_by", "archive_reason", "updated_by", "updated_at", "version"]
        )
        fractures = record.fractures.all() if isinstance(record, Patient) else [record]
        for fracture in Fracture.objects.select_related("patient").filter(pk__in=[f.pk for f in fractures]):
            sync_expected_visits(fracture)
    return record


# -- assessments -------------------------------------------------------------------------------------


def save_assessment(*, form: AssessmentForm, user, film_pk: int | None = None) -> Fracture:
    """Score and save a new or edited baseline assessment, then refresh its course (the visits
    compare against the baseline just saved). An edit that would move a known outcome of the
    course raises CourseChangeToConfirm until the person confirms it; a form saved before raises
    AlreadySubmitted. Either way nothing is written."""
    with transaction.atomic():
        # Scored against the patient as stored now (locked): a date of birth corrected while the
        # form was open changes the age the warnings use.
        patient = Patient.objects.select_for_update().get(pk=form.patient.pk)
        submission = claim_submission(form.submission_token(), user, form.data)
        refuse_archived(patient)
        stored = None
        if form.instance.pk is not None:
            stored = Fracture.objects.select_related("patient").select_for_update(of=("self",)).get(pk=form.instance.pk)
            refuse_archived(stored)
        fracture = form.save()
        fracture.patient = patient
        fracture.rescore()
        reason = ""
        if stored is not None:
            visits = list(stored.visits.all())
            reason = _confirm_course_change(form, stored, fracture, visits, [fracture])
            fracture.refresh_outcomes(visits)  # saved with the edit: one history row, its course included
        save_versioned(fracture, form.seen_version(), user)
        refresh_course(fracture, reason=reason)
        if stored is None and film_pk is not None:
            _take_new_assessments_film(film_pk, fracture, user)
        complete_submission(submission, fracture.get_absolute_url())
    return fracture


def change_treatment(*, form: TreatmentChangeForm, user) -> Fracture:
    """Record that conservative care was abandoned: the fracture leaves the worklist."""
    fracture = form.fracture
    with transaction.atomic():
        refuse_archived(lock_fracture(fracture.pk))
        submission = claim_submission(form.submission_token(), user, form.data)
        fracture.treatment_changed_to = form.cleaned_data["treatment"]
        fracture.treatment_changed_on = form.cleaned_data["changed_on"]
        fracture.treatment_change_reason = form.cleaned_data["reason"]
        save_versioned(fracture, form.seen_version(), user, update_fields=TreatmentChangeForm.FIELDS)
        sync_expected_visits(fracture)
        complete_submission(submission, fracture.get_absolute_url())
    return fracture


# -- visits ------------------------------------------------------------------------------------------


def save_visit(*, fracture_id: int, visit: Visit | None, data: QueryDict, user) -> tuple[VisitForm, Visit | None]:
    """Validate a visit against its fracture as locked now and save it; returns the bound form
    (with its errors when nothing was saved, a stale version or a duplicate among them) and the
    visit saved, or None.

    The fracture is locked as it is read, once: two visits saved at once are validated and
    recompute its course one after the other, each seeing the other's.
    """
    form = None
    try:
        with transaction.atomic():
            fracture = lock_fracture(fracture_id)
            # Before validating: a second click must not be told its visit already exists.
            submission = claim_submission(data.get("submission"), user, data)
            refuse_archived(fracture)
            if visit is not None:
                visit.fracture = fracture
            form = VisitForm(data, instance=visit, fracture=fracture)
            if not form.is_valid():
                transaction.set_rollback(True)  # nor the claim: nothing was saved
                return form, None
            saved = form.save()
            others = [other for other in fracture.visits.all() if other.pk != saved.pk]
            reason = _confirm_course_change(form, fracture, fracture, [*others, saved], [saved, fracture])
            saved.compute_outcomes(fracture)
            save_versioned(saved, form.seen_version(), user)
            refresh_course(fracture, reason=reason)
            complete_submission(submission, fracture.get_absolute_url())
            return form, saved
    except CourseChangeToConfirm as change:
        form.ask_to_confirm(
            change.key,
            _("Not saved yet: %(change)s Save again to confirm, or correct the values.") % {"change": change.text},
        )
        return form, None
    except StaleEdit:
        form.refuse_stale()
        return form, None
    except IntegrityError:
        kind = form.instance.kind if form is not None else ""
        if not kind or kind == VisitKind.UNSCHEDULED:
            raise
        if not Visit.objects.filter(fracture_id=fracture_id, kind=kind).exclude(pk=form.instance.pk).exists():
            raise
        # Two people recorded the same scheduled visit at once: the other one was first.
        form.add_error("kind", _("This fracture already has this scheduled visit: it was just recorded."))
        return form, None


# -- what is derived -------------------------------------------------------------------------------


def refresh_course(fracture: Fracture, reason: str = "") -> None:
    """Recompute every visit's differences against the baseline, the fracture's course and its
    expected visits, and save what changed (through save(), so the audit trail records it, with
    `reason` where a change turned an outcome around)."""
    visits = list(fracture.visits.all())
    before = [getattr(fracture, name) for name in Fracture.OUTCOME_FIELDS]
    for visit in fracture.refresh_outcomes(visits):
        if reason:
            visit._change_reason = reason
        visit.save(update_fields=VISIT_OUTCOME_FIELDS)
    if [getattr(fracture, name) for name in Fracture.OUTCOME_FIELDS] != before:
        fracture.save(update_fields=Fracture.OUTCOME_FIELDS)
    sync_expected_visits(fracture, visits)


def expected_visits_of(fracture: Fracture, visits: list[Visit]) -> list[ExpectedVisit]:
    """The expected visits the schedule gives a fracture (unsaved), each linked to the recorded
    visit of its kind: one per scheduled visit while the fracture is active and under conservative
    care, none otherwise."""
    if not fracture.under_conservative_care or fracture.is_archived or fracture.patient.is_archived:
        return []
    recorded = {visit.kind: visit for visit in visits if visit.kind != VisitKind.UNSCHEDULED}
    try:
        schedule = followup.expected_visits(
            fracture.treatment_start_date, visit_schedule(), overdue_days=settings.NASOVCF_WORKLIST_OVERDUE_DAYS
        )
    except followup.ScheduleOutOfRange:
        # A start date past the calendar's end (only written behind the forms' back): no visit of
        # it can fall due, so none is expected; its page says the schedule cannot be computed.
        return []
    return [
        ExpectedVisit(
            fracture=fracture,
            kind=dates.kind,
            due_date=dates.due,
            window_opens=dates.window_opens,
            window_closes=dates.window_closes,
            listed_until=dates.listed_until,
            visit=recorded.get(dates.kind),
        )
        for dates in schedule
    ]


EXPECTED_FIELDS = ["due_date", "window_opens", "window_closes", "listed_until", "visit_id"]


def sync_expected_visits(fracture: Fracture, visits: list[Visit] | None = None) -> None:
    """Make the fracture's stored expected visits what the schedule gives it (expected_visits_of),
    writing only the rows that differ."""
    visits = list(fracture.visits.all()) if visits is None else visits
    stored = {row.kind: row for row in fracture.expected_visits.all()}
    wanted = {row.kind: row for row in expected_visits_of(fracture, visits)}
    stale = [row.pk for kind, row in stored.items() if kind not in wanted]
    if stale:
        ExpectedVisit.objects.filter(pk__in=stale).delete()
    for kind, row in wanted.items():
        old = stored.get(kind)
        if old is None:
            row.save()
        elif [getattr(old, name) for name in EXPECTED_FIELDS] != [getattr(row, name) for name in EXPECTED_FIELDS]:
            row.pk = old.pk
            row.save()


def refresh_all_expected_visits() -> int:
    """Recompute every fracture's expected visits (after the window settings changed); returns how
    many fractures were looked at."""
    count = 0
    fractures = Fracture.objects.select_related("patient").prefetch_related("visits", "expected_visits")
    for fracture in fractures.iterator(chunk_size=500):
        with transaction.atomic():
            sync_expected_visits(fracture, list(fracture.visits.all()))
        count += 1
    return count


# -- films and their readings (spec §9) ------------------------------------------------------------


class SameReader(Exception):
    """The second reader of a film must be another person than its first (spec §2: two readers)."""

    def __init__(self, other_reader: int):
        if other_reader == FilmReading.Reader.FIRST:
            message = _("You measured this film as the first reader: the other reading must be made by someone else.")
        else:
            message = _("You measured this film as the second reader: the other reading must be made by someone else.")
        super().__init__(message)


def film_identity_mismatch(patient: Patient, decoded: films.DecodedFilm) -> str:
    """What the DICOM says about its patient that the record does not, in words ("" when they
    agree, or the file names no one). In the language of the person asked: what they confirm is
    kept as they read it."""
    return identity_mismatch_words(patient, decoded.patient_id, decoded.patient_name)


def identity_mismatch_words(patient: Patient, file_patient_id: str, file_patient_name: str) -> str:
    """The MRN against the file's PatientID, the name's words against its PatientName's (case,
    accents and word order aside: "CHEN^MARGARET" is Margaret Chen), in the active language: at the
    upload's question, and on the film's page from what the film keeps of its file."""
    differences = []
    if file_patient_id and file_patient_id.strip().upper() != patient.mrn.upper():
        differences.append(
            _("the file's PatientID is %(file_id)s, the patient's MRN is %(mrn)s")
            % {"file_id": file_patient_id.strip(), "mrn": patient.mrn}
        )
    from . import films  # pydicom, numpy and Pillow: loaded when a film is, not at every start

    name = films.name_words_of_dicom(file_patient_name)
    file_words, record_words = set(name_words(name)), set(name_words(patient.name))
    if file_words and record_words and file_words != record_words:
        differences.append(
            _("the file's PatientName is %(file_name)s, the patient is %(name)s")
            % {"file_name": name, "name": patient.name}
        )
    return translation.pgettext("between differences", "; ").join(differences)


def ingest_film(*, source: Path, declared_name: str) -> tuple[uuid.UUID, films.DecodedFilm]:
    """Check and decode a film into a new private directory (films.ingest; FilmRefused if not)."""
    from . import films

    key = uuid.uuid4()
    decoded = films.ingest(source, settings.FILMS_DIR / str(key), declared_name=declared_name)
    return key, decoded


def add_film(
    *,
    fracture_pk: int | None = None,
    patient_pk: int | None = None,
    visit_pk: int | None = None,
    key: uuid.UUID,
    decoded: films.DecodedFilm,
    source: str,
    original_name: str,
    mismatch_confirmed: str,
    user,
) -> Film:
    """Keep a decoded film as an assessment's baseline film, a visit's film, or (a patient and no
    assessment) the film a new assessment will be measured on. A film whose DICOM names another
    patient is kept only when the user confirmed it (`mismatch_confirmed` says what differed),
    and its history says so."""
    directory = settings.FILMS_DIR / str(key)
    original = directory / "original"  # films.ingest keeps the file as it came
    with transaction.atomic():
        if fracture_pk is not None:
            fracture = lock_fracture(fracture_pk)
            patient = fracture.patient
            refuse_archived(fracture)
        else:
            fracture = None
            patient = Patient.objects.select_for_update().get(pk=patient_pk)
            refuse_archived(patient)
        visit = fracture.visits.get(pk=visit_pk) if fracture is not None and visit_pk else None
        film = Film(
            patient=patient,
            fracture=fracture,
            visit=visit,
            storage_key=key,
            source=source,
            original_name=original_name[:255],
            file_format=decoded.file_format,
            size_bytes=original.stat().st_size,
            sha256=hashlib.sha256(original.read_bytes()).hexdigest(),
            width=decoded.width,
            height=decoded.height,
            pixel_spacing_row_mm=decoded.pixel_spacing_mm[0] if decoded.pixel_spacing_mm else None,
            pixel_spacing_column_mm=decoded.pixel_spacing_mm[1] if decoded.pixel_spacing_mm else None,
            spacing_tag=decoded.spacing_tag,
            window_center=decoded.window_center,
            window_width=decoded.window_width,
            value_min=decoded.value_min,
            value_max=decoded.value_max,
            transfer_syntax=decoded.transfer_syntax,
            study_instance_uid=decoded.study_instance_uid,
            series_instance_uid=decoded.series_instance_uid,
            sop_instance_uid=decoded.sop_instance_uid,
            file_patient_id=decoded.patient_id[:64],
            file_patient_name=decoded.patient_name[:200],
            identity_mismatch_confirmed=mismatch_confirmed[:500],
        )
        how = "Opened from the PACS" if source == FilmSource.PACS else "Uploaded"
        film._change_reason = (
            f"{how}; kept although {mismatch_confirmed} (confirmed by {user.get_username()})"
            if mismatch_confirmed
            else how
        )
        save_versioned(film, None, user)
    return film


def _take_new_assessments_film(film_pk: int, fracture: Fracture, user) -> None:
    """The film a new assessment was measured on becomes its baseline film (one of its patient's
    films on no assessment yet; anything else is left as it is)."""
    film = (
        Film.objects.select_for_update()
        .filter(pk=film_pk, patient_id=fracture.patient_id, fracture__isnull=True, archived_at__isnull=True)
        .first()
    )
    if film is None:
        return
    film.fracture = fracture
    film._change_reason = (
        f"The baseline film of the assessment of {fracture.assessment_date:%Y-%m-%d} ({fracture.level})"
    )
    save_versioned(film, film.version, user)


def remove_film(*, film: Film, user, reason: str = "") -> Film:
    """Take a film off its record (archived: kept in full with its readings, shown nowhere)."""
    with transaction.atomic():
        film = (
            Film.objects.select_related("fracture__patient", "patient").select_for_update(of=("self",)).get(pk=film.pk)
        )
        refuse_archived(film.owner)
        if film.is_archived:
            return film
        film.archive(user, reason)
        film._change_reason = f"Removed: {reason}" if reason else "Removed"
        save_versioned(film, film.version, user)
    return film


def save_reading(
    *, film: Film, reader: int, reader_name: str, points: dict, seen_version: int | None, user
) -> FilmReading:
    """Measure the twelve corners (radiograph.measure, on this film's spacing and size: the
    computation of the API and the page) and keep them with what they gave, as this reader's
    reading of the film. radiograph.ImplausibleMeasurement if they do not make three vertebrae;
    SameReader if the other reading of the film is this user's; StaleEdit if the reading changed
    since the page was opened."""
    result = radiograph.measure(points, film.pixel_spacing_mm, (film.width, film.height))
    with transaction.atomic():
        film = (
            Film.objects.select_related("fracture__patient", "patient").select_for_update(of=("self",)).get(pk=film.pk)
        )
        refuse_archived(film.owner)
        other = film.readings.exclude(reader=reader).first()
        if other is not None and user.pk in (other.created_by_id, other.updated_by_id):
            raise SameReader(other.reader)
        reading = film.readings.filter(reader=reader).first() or FilmReading(film=film, reader=reader)
        if reading.pk is None and seen_version is not None:
            raise StaleEdit
        reading.reader_name = reader_name
        reading.points = {
            vertebra: {corner: [float(value) for value in points[vertebra][corner]] for corner in radiograph.CORNERS}
            for vertebra in radiograph.VERTEBRAE
        }
        reading.unit = result.unit
        for name in measurements.HEIGHT_FIELDS:
            setattr(reading, name, getattr(result.heights, name))
        reading.vhl_percent = result.vhl_percent
        reading.kyphosis_angle_deg = result.kyphosis_angle_deg
        reading.genant_grade = result.genant.grade
        reading.anterior_reduction_percent = result.genant.anterior_reduction_percent
        reading.posterior_reduction_percent = result.genant.posterior_reduction_percent
        save_versioned(reading, seen_version if reading.pk else None, user)
    return reading
