"""The reads the pages need, each with a query budget that does not grow with the number of
patients (tests/scoring/test_selectors.py and the query guards in the view tests hold them to it).

Selectors read and shape; they never write (that is services.py).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet

from . import followup, history, presenters
from .models import (
    SCHEDULED_KINDS,
    ExpectedVisit,
    Fracture,
    Patient,
    Sex,
    VisitKind,
    due_within_bounds,
    status_conditions,
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


def patient_page(patient: Patient) -> dict:
    """A patient's page: their assessments, newest first, the archived ones apart (one query)."""
    fractures = list(patient.fractures.order_by("-assessment_date", "-pk"))
    return {
        "patient": patient,
        "fractures": [fracture for fracture in fractures if not fracture.is_archived],
        "archived_fractures": [fracture for fracture in fractures if fracture.is_archived],
    }


# -- a record's history ----------------------------------------------------------------------------


def history_page(model, pk: int, page_number: str | None) -> Page:
    """A page of a record's history in words (history.entries), newest first: one query."""
    records = model.history.filter(id=pk).select_related("history_user").order_by("history_date", "history_id")
    return Paginator(history.entries(model, records), 50).get_page(page_number)


# -- a fracture's timeline -------------------------------------------------------------------------


def fracture_timeline(fracture: Fracture) -> dict:
    """What a fracture's page and its print report show: the score card, the visits, the schedule
    and the course charts (two queries beside the fracture's own: its visits, the entering users)."""
    visits = list(fracture.visits.select_related("created_by", "updated_by"))
    for visit in visits:
        visit.fracture = fracture  # the timeline reads the baseline from the row already loaded
        visit.odi_answered = presenters.odi_answered(visit.odi_sections)
    recorded = {visit.kind for visit in visits}
    return {
        "fracture": fracture,
        "patient": fracture.patient,
        "card": presenters.score_card_from_fracture(fracture),
        "classifications": presenters.other_classifications(fracture),
        "visits": visits,
        "charts": presenters.timeline_charts(fracture, visits),
        "baseline_odi_answered": presenters.odi_answered(fracture.odi_sections),
        "missing_kinds": [kind for kind in SCHEDULED_KINDS if kind not in recorded],
        "schedule": [
            {
                "label": VisitKind(v.kind).label,
                "due": v.due(fracture.treatment_start_date),
                "recorded": v.kind in recorded,
            }
            for v in visit_schedule()
        ],
    }


# -- the worklist ----------------------------------------------------------------------------------

# ?sort= → the order of the rows; ties are broken so that paging never repeats or skips a row.
WORKLIST_SORTS = {
    "due": ["due_date", "fracture__patient__mrn", "fracture_id", "kind"],
    "mrn": ["fracture__patient__mrn", "due_date", "fracture_id", "kind"],
    "visit": ["kind", "due_date", "fracture__patient__mrn", "fracture_id"],
    "status": ["status_order", "due_date", "fracture__patient__mrn", "fracture_id", "kind"],
}
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


def worklist_rows(today: datetime.date, status: str) -> QuerySet[ExpectedVisit]:
    """The expected visits the worklist lists today, those of one status, or (for "missed") those
    it no longer lists."""
    until = worklist_horizon(today)
    if status:
        condition = status_conditions(today, until, settings.NASOVCF_WORKLIST_SOON_DAYS)[followup.DueStatus(status)]
        return ExpectedVisit.objects.open().filter(due_date__lte=due_within_bounds(today, until)[1]).filter(condition)
    return ExpectedVisit.objects.listed(today, until)


def worklist(*, today: datetime.date, status: str, sort: str, page_number: str | None) -> Worklist:
    """A page of the worklist in the order asked, and the counts of each status: two queries."""
    until = worklist_horizon(today)
    soon_days = settings.NASOVCF_WORKLIST_SOON_DAYS
    counts = ExpectedVisit.objects.status_counts(today, until, soon_days)
    rows = worklist_rows(today, status)
    if sort.lstrip("-") == "status":
        rows = rows.with_status_order(today, until, soon_days)
    keys = WORKLIST_SORTS[sort.lstrip("-")]
    ordering = [F(key).desc() if sort.startswith("-") else F(key).asc() for key in keys]
    rows = rows.select_related("fracture__patient").only(*WORKLIST_COLUMNS).order_by(*ordering)
    paginator = Paginator(rows, settings.PAGE_SIZE)
    # The count is known from the counts above: the paginator need not count again.
    listed = (followup.DueStatus.OVERDUE, followup.DueStatus.DUE_SOON, followup.DueStatus.UPCOMING)
    paginator.count = counts[status] if status else sum(counts[s] for s in listed)
    return Worklist(paginator.get_page(page_number), counts, today, until)


def worklist_count(today: datetime.date) -> int:
    """Visits overdue or due within the coming week: the count in the navigation bar."""
    due = (followup.DueStatus.OVERDUE, followup.DueStatus.DUE_SOON)
    counts = ExpectedVisit.objects.status_counts(
        today, worklist_horizon(today), settings.NASOVCF_WORKLIST_SOON_DAYS, statuses=due
    )
    return sum(counts.values())
