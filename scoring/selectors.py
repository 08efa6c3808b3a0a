"""The reads the pages need, each with a query budget that does not grow with the number of
patients (tests/scoring/test_selectors.py and the query guards in the view tests hold them to it).

Selectors read and shape; they never write (that is services.py).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Case, F, Max, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import followup, history, presenters
from .models import (
    SCHEDULED_KINDS,
    ExpectedVisit,
    Fracture,
    Patient,
    RiskGroup,
    Sex,
    Visit,
    VisitKind,
    visit_schedule,
)

# -- the patient list ------------------------------------------------------------------------------


def patient_list_page(*, search: dict | None, archived: bool, page_number: str | None) -> tuple[Page, list]:
    """A page of patients in MRN order, and a row for each with their latest assessment: three
    queries (the count, the page, the latest assessments). `search` is the search form's cleaned
    data, {} for no search, None for a search that is not valid (nothing matches it)."""
    patients = Patient.objects.order_by("mrn")
    patients = patients.filter(archived_at__isnull=False) if archived else patients.active()
    if search is None:
        patients = patients.none()
    elif search:
        patients = patients.search(search.get("q", ""))
        if search.get("group"):
            patients = patients.with_latest_group().filter(latest_group=search["group"])
    page = Paginator(patients, settings.PAGE_SIZE).get_page(page_number)
    shown = list(page.object_list)
    latest = Fracture.objects.latest_by_patient([patient.pk for patient in shown])
    return page, presenters.patient_rows(
        shown,
        latest,
        dict(Sex.choices),
        presenters.path_with_pk("scoring:patient_detail"),
        presenters.path_with_pk("scoring:fracture_detail"),
    )


def patient_page(patient: Patient, today: datetime.date) -> dict:
    """A patient's page: their age, their assessments newest first (each with its course, outcome
    so far and next visit), the same fractures in time order, the archived ones apart, who archived
    the patient, and the films measured for a new assessment not saved yet: four queries at most
    (the assessments with who archived them, their next visits, those films, and for an archived
    patient the user who archived them, read on first use)."""
    fractures = list(patient.fractures.select_related("archived_by").order_by("-assessment_date", "-pk"))
    active = [fracture for fracture in fractures if not fracture.is_archived]
    # The first visit each fracture still expects that the worklist lists or will list (a missed
    # one, past its listing, is not "next"); rows exist only under conservative care.
    next_visits: dict[int, ExpectedVisit] = {}
    missed: set[int] = set()  # fractures with a scheduled visit never recorded and no longer listed
    not_recorded = ExpectedVisit.objects.open().filter(fracture__in=[fracture.pk for fracture in active])
    for expected in not_recorded.order_by("due_date", "kind"):
        if expected.listed_until >= today:
            next_visits.setdefault(expected.fracture_id, expected)
        else:
            missed.add(expected.fracture_id)
    summaries = presenters.fracture_summaries(
        active, next_visits, today, settings.NASOVCF_WORKLIST_SOON_DAYS, missed=missed
    )
    return {
        "patient": patient,
        "age_today": patient.age_on(today),
        "fractures": summaries,
        "fracture_timeline": presenters.fracture_timeline_entries(active),
        "archived_fractures": [fracture for fracture in fractures if fracture.is_archived],
        "new_assessment_films": list(patient.films.active().filter(fracture__isnull=True)),
    }


def archive_scope(record: Patient | Fracture, today: datetime.date) -> dict:
    """What archiving a patient or an assessment takes out of sight, for its confirmation page:
    the assessments (of a patient), their recorded visits and the visits the worklist lists or
    will list for them; one query a count."""
    if isinstance(record, Patient):
        fractures = record.fractures.filter(archived_at__isnull=True)
        expected = ExpectedVisit.objects.filter(fracture__in=fractures)
        assessments, visits = fractures.count(), Visit.objects.filter(fracture__in=fractures).count()
    else:
        expected = ExpectedVisit.objects.filter(fracture=record)
        assessments, visits = None, record.visits.count()
    return {
        "assessments_count": assessments,
        "visits_count": visits,
        "worklist_count_hidden": expected.open().filter(listed_until__gte=today).count(),
    }


# -- a record's history ----------------------------------------------------------------------------


def history_page(model, pk: int, page_number: str | None) -> Page:
    """A page of a record's history in words (history.entries), newest first: one query."""
    records = model.history.filter(id=pk).select_related("history_user").order_by("history_date", "history_id")
    return Paginator(history.entries(model, records), 50).get_page(page_number)


# -- records deleted in the admin, read from their history alone -----------------------------------

HISTORY_PAGES = {
    Patient: "scoring:patient_history",
    Fracture: "scoring:fracture_history",
    Visit: "scoring:visit_history",
}


@dataclass(frozen=True)
class DeletedRecord:
    """A record deleted in the admin, as its last historical version keeps it."""

    pk: int
    text: str  # what names it on its pages: "MRN001 Test Patient", "MRN001 T11 2025-03-10", "… · 1 month visit …"
    deleted_at: datetime.datetime
    deleted_by: str
    history_url: str
    last_version: tuple[tuple[str, str], ...] = ()  # (label, value) of each field that held a value


def _latest_versions(model, ids) -> dict:
    """The latest historical row of each id, deleted or not: one query."""
    latest = model.history.filter(id__in=ids).order_by().values("id").annotate(last=Max("history_id")).values("last")
    return {row.id: row for row in model.history.filter(history_id__in=latest)}


def _mrns(patient_ids) -> dict[int, str]:
    """Each patient's MRN, from the live row or else from the last version: two queries at most."""
    mrns = dict(Patient.objects.filter(pk__in=patient_ids).values_list("pk", "mrn"))
    missing = set(patient_ids) - mrns.keys()
    if missing:
        mrns |= {pk: row.mrn for pk, row in _latest_versions(Patient, missing).items()}
    return mrns


def _fracture_text(mrn: str, level: str, assessment_date: datetime.date) -> str:
    return f"{mrn} {level} {assessment_date:%Y-%m-%d}"  # as Fracture.__str__


def _fracture_texts(fracture_ids) -> dict[int, str]:
    """Each fracture named as its pages name it, deleted or not: four queries at most."""
    columns = ("pk", "patient_id", "level", "assessment_date")
    rows = {values[0]: values[1:] for values in Fracture.objects.filter(pk__in=fracture_ids).values_list(*columns)}
    missing = set(fracture_ids) - rows.keys()
    if missing:
        latest = _latest_versions(Fracture, missing)
        rows |= {pk: (row.patient_id, row.level, row.assessment_date) for pk, row in latest.items()}
    mrns = _mrns({patient_id for patient_id, _, _ in rows.values()})
    return {
        pk: _fracture_text(mrns.get(patient_id, f"#{patient_id}"), level, day)
        for pk, (patient_id, level, day) in rows.items()
    }


def _parents(model, rows) -> dict[int, str]:
    """What each historical row belongs to, named: a fracture's patient (MRN), a visit's fracture."""
    if model is Fracture:
        mrns = _mrns({row.patient_id for row in rows})
        return {row.id: mrns.get(row.patient_id, f"#{row.patient_id}") for row in rows}
    if model is Visit:
        fractures = _fracture_texts({row.fracture_id for row in rows})
        return {row.id: fractures.get(row.fracture_id, f"#{row.fracture_id}") for row in rows}
    return {}


def _record_text(model, row, parent: str) -> str:
    """A historical row named as its record's __str__ names the live record."""
    if model is Patient:
        return f"{row.mrn} {row.name}".strip()
    if model is Fracture:
        return _fracture_text(parent, row.level, row.assessment_date)
    return _("%(fracture)s · %(kind)s visit %(date)s") % {  # as Visit.__str__, its date ISO
        "fracture": parent,
        "kind": dict(VisitKind.choices).get(row.kind, row.kind),
        "date": f"{row.visit_date:%Y-%m-%d}",
    }


def _in_words(model, row, parent: str) -> tuple[tuple[str, str], ...]:
    """Each field of a historical row that holds a value, labelled and written as the history writes it."""
    fields = []
    for field in model._meta.concrete_fields:
        if field.name in history.HIDDEN_FIELDS:
            continue
        value = getattr(row, field.attname)
        if value is None or value == "":
            continue
        if field.name in ("patient", "fracture"):
            fields.append((history._label(model, field.name), parent))
        else:
            fields.append((history._label(model, field.name), history._value(model, field.name, value)))
    return tuple(fields)


def _deleted(model, row, text: str, last_version=()) -> DeletedRecord:
    user = row.history_user
    return DeletedRecord(
        pk=row.id,
        text=text,
        deleted_at=row.history_date,
        deleted_by=presenters.person(user) if user else history.system(),
        history_url=reverse(HISTORY_PAGES[model], args=[row.id]),
        last_version=last_version,
    )


def deleted_record(model, pk: int) -> DeletedRecord | None:
    """A record deleted in the admin, with its last version in words; None unless its history ends
    with a deletion: five queries at most (the deletion, and what it belonged to)."""
    row = model.history.filter(id=pk).select_related("history_user").order_by("history_date", "history_id").last()
    if row is None or row.history_type != "-":
        return None
    parent = _parents(model, [row]).get(row.id, "")
    return _deleted(model, row, _record_text(model, row, parent), _in_words(model, row, parent))


def deleted_records_page(model, page_number: str | None) -> Page:
    """A page of the records of one kind deleted in the admin, the latest deletion first, as
    DeletedRecords: six queries at most (the count, the page, what the rows belong to)."""
    deletions = model.history.filter(history_type="-").select_related("history_user")
    page = Paginator(deletions.order_by("-history_date", "-history_id"), 50).get_page(page_number)
    rows = list(page.object_list)
    parents = _parents(model, rows)
    page.object_list = [_deleted(model, row, _record_text(model, row, parents.get(row.id, ""))) for row in rows]
    return page


# -- a fracture's timeline -------------------------------------------------------------------------


def fracture_timeline(fracture: Fracture, today: datetime.date | None = None) -> dict:
    """What a fracture's page and its print report show: the score card, the visits (each film
    with how its readers' values came about), the schedule and what became of each visit, the
    visit "Record visit" opens, and the course charts (three queries beside the fracture's own:
    its visits with the entering users, its expected visits). ScheduleOutOfRange for a treatment
    start past the calendar's end."""
    today = today or timezone.localdate()
    visits = list(fracture.visits.select_related("created_by", "updated_by"))
    films = list(fracture.films.active().order_by("created_at", "pk"))
    for visit in visits:
        visit.fracture = fracture  # the timeline reads the baseline from the row already loaded
        visit.film_list = [film for film in films if film.visit_id == visit.pk]
        for film in visit.film_list:
            film.visit = visit
        visit.odi_answered = presenters.odi_answered(visit.odi_sections)
        visit.reading = presenters.film_reading(visit)
    schedule = presenters.schedule_rows(
        fracture,
        visits,
        visit_schedule(),
        today,
        soon_days=settings.NASOVCF_WORKLIST_SOON_DAYS,
        overdue_days=settings.NASOVCF_WORKLIST_OVERDUE_DAYS,
    )
    return {
        "fracture": fracture,
        "patient": fracture.patient,
        "card": presenters.score_card_from_fracture(fracture),
        "classifications": presenters.other_classifications(fracture),
        "reading": presenters.film_reading(fracture),
        "baseline_films": [film for film in films if film.visit_id is None],
        "rules_note": presenters.rules_note(fracture),
        "visits": visits,
        "charts": presenters.timeline_charts(fracture, visits),
        "baseline_odi_answered": presenters.odi_answered(fracture.odi_sections),
        # The worklist's rows, as stored (services.sync_expected_visits keeps them in step).
        "next_visit": presenters.next_visit(fracture.visit_kind_due(today)),
        "schedule": schedule,
        "schedule_note": presenters.schedule_note(fracture),
        "timeline_rows": presenters.timeline_rows(visits, schedule),
    }


# -- the worklist ----------------------------------------------------------------------------------

# ?sort= → the order of the rows; ties are broken so that paging never repeats or skips a row.
WORKLIST_SORTS = {
    "due": ["due_date", "fracture__patient__mrn", "fracture_id", "kind"],
    "mrn": ["fracture__patient__mrn", "due_date", "fracture_id", "kind"],
    "visit": ["kind", "due_date", "fracture__patient__mrn", "fracture_id"],
    "status": ["status_order", "due_date", "fracture__patient__mrn", "fracture_id", "kind"],
    # High risk first, then medium, then low; within a group the earliest due first.
    "group": ["group_order", "due_date", "fracture__patient__mrn", "fracture_id", "kind"],
}
# The risk groups' order for ?sort=group, highest risk first (a CASE on the joined fracture: the
# sort cannot read the due-date index, but it stays one query whatever the number of rows).
GROUP_ORDER = Case(
    When(fracture__risk_group=RiskGroup.HIGH, then=Value(0)),
    When(fracture__risk_group=RiskGroup.MEDIUM, then=Value(1)),
    default=Value(2),
)
# The order of the scheduled kinds' codes ("1m" < "3m" < "6m") is the visits' order in time.
assert sorted(SCHEDULED_KINDS) == SCHEDULED_KINDS, "sorting by kind must sort the visits in time"


WORKLIST_COLUMNS = [
    "kind",
    "due_date",
    "window_opens",
    "window_closes",
    "listed_until",
    "fracture__level",
    "fracture__assessment_date",
    "fracture__total_score",
    "fracture__risk_group",
    "fracture__patient__mrn",
    "fracture__patient__name",
]


@dataclass(frozen=True)
class Worklist:
    page: Page
    counts: dict[str, int]  # followup.DueStatus value → rows
    today: datetime.date
    until: datetime.date


def worklist_horizon(today: datetime.date) -> datetime.date:
    return today + datetime.timedelta(days=settings.NASOVCF_WORKLIST_AHEAD_DAYS)


LISTED = (followup.DueStatus.OVERDUE, followup.DueStatus.DUE_SOON, followup.DueStatus.UPCOMING)


def worklist_rows(today: datetime.date, status: str) -> QuerySet[ExpectedVisit]:
    """The expected visits the worklist lists today, those of one status, or (for "missed") those
    it no longer lists."""
    statuses = (followup.DueStatus(status),) if status else LISTED
    return ExpectedVisit.objects.in_status(
        today, worklist_horizon(today), settings.NASOVCF_WORKLIST_SOON_DAYS, statuses
    )


def worklist(*, today: datetime.date, status: str, sort: str, page_number: str | None) -> Worklist:
    """A page of the worklist in the order asked, and the counts of each status: two queries."""
    until = worklist_horizon(today)
    soon_days = settings.NASOVCF_WORKLIST_SOON_DAYS
    counts = ExpectedVisit.objects.status_counts(today, until, soon_days)
    rows = worklist_rows(today, status)
    if sort.lstrip("-") == "status":
        rows = rows.with_status_order(today, until, soon_days)
    if sort.lstrip("-") == "group":
        rows = rows.alias(group_order=GROUP_ORDER)
    keys = WORKLIST_SORTS[sort.lstrip("-")]
    ordering = [F(key).desc() if sort.startswith("-") else F(key).asc() for key in keys]
    rows = rows.select_related("fracture__patient").only(*WORKLIST_COLUMNS).order_by(*ordering)
    paginator = Paginator(rows, settings.PAGE_SIZE)
    # The count is known from the counts above: the paginator need not count again.
    paginator.count = counts[status] if status else sum(counts[s] for s in LISTED)
    return Worklist(paginator.get_page(page_number), counts, today, until)


def worklist_count(today: datetime.date) -> int:
    """Visits overdue or due within the coming week: the count in the navigation bar."""
    due = (followup.DueStatus.OVERDUE, followup.DueStatus.DUE_SOON)
    counts = ExpectedVisit.objects.status_counts(
        today, worklist_horizon(today), settings.NASOVCF_WORKLIST_SOON_DAYS, statuses=due
    )
    return sum(counts.values())
