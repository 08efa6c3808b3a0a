"""The worklist of visits due under conservative care."""


from __future__ import annotations

import datetime
import heapq
import itertools
import logging
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import followup, presenters
from ..models import (
    Fracture,
    VisitKind,
    visit_schedule,
    worklist_status_cache_key,
)

logger = logging.getLogger("nasovcf.views")


from .base import KnownCountPaginator, _path_with_pk, requires


class _Listed(NamedTuple):
    """A fracture listing one scheduled visit, before it is made a row: what the sort compares."""

    values: tuple  # models.WORKLIST_COLUMNS
    visit: followup.ScheduledVisit
    kind_order: int
    status_order: int

    @property
    def due(self):
        return self.visit.due(self.values[1])

    @property
    def mrn(self) -> str:
        return self.values[7]

    @property
    def pk(self) -> int:
        return self.values[0]


# ?sort= → how rows compare (the first visit of a page is found by merging the three scheduled
# visits' own sorted lists); ties are broken so that paging never repeats or skips a row.
WORKLIST_SORTS = {
    "due": lambda row: (row.due, row.mrn, row.pk, row.kind_order),
    "mrn": lambda row: (row.mrn, row.due, row.pk, row.kind_order),
    "visit": lambda row: (row.kind_order, row.due, row.mrn, row.pk),
    "status": lambda row: (row.status_order, row.due, row.mrn, row.pk, row.kind_order),
}


def _worklist_rows(today, until, status: str, sort: str, first: int, stop: int) -> list:
    """Rows `first` to `stop` of the worklist in the order asked.

    Each scheduled visit's fractures come from the database already in this order (by start
    date, which orders them by due date and by status too; or by MRN), `stop` at most, so only
    about a page of rows is read whatever the worklist's length; heapq merges the three lists,
    and only the rows shown are made.
    """
    descending = sort.startswith("-")
    labels = dict(VisitKind.choices)
    soon_days = settings.NASOVCF_WORKLIST_SOON_DAYS
    statuses = list(followup.DueStatus)
    parts = []
    for order, visit in enumerate(visit_schedule()):
        found = Fracture.objects.worklist_part(
            visit.kind, today, until, status=status, by_mrn=sort.lstrip("-") == "mrn", descending=descending, stop=stop
        )
        bounds = followup.status_bounds(visit, today, soon_days)
        parts.append([
            _Listed(values, visit, order, statuses.index(followup.status_for_start(values[1], bounds)))
            for values in found
        ])
    merged = heapq.merge(*parts, key=WORKLIST_SORTS[sort.lstrip("-")], reverse=descending)
    return [
        presenters.worklist_row(row.values, row.visit, statuses[row.status_order], today, labels[row.visit.kind])
        for row in itertools.islice(merged, first, stop)
    ]


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def worklist(request):
    """Visits due under conservative care: overdue, due this week, upcoming (spec §3).

    The database sorts and pages the rows; only the page shown is read."""
    today = timezone.localdate()
    until = today + datetime.timedelta(days=settings.NASOVCF_WORKLIST_AHEAD_DAYS)
    status_filter = request.GET.get("status", "")
    if status_filter not in presenters.STATUS_LABELS:
        status_filter = ""
    # Counted once and kept (like the navigation's count) until something moves the worklist.
    counts = cache.get_or_set(
        worklist_status_cache_key(today), lambda: Fracture.objects.worklist_status_counts(today, until), 60
    )
    sort = request.GET.get("sort", "due")
    if sort.lstrip("-") not in WORKLIST_SORTS:
        sort = "due"
    total = counts[status_filter] if status_filter else sum(counts.values())
    paginator = KnownCountPaginator(range(total), settings.PAGE_SIZE, total)
    page = paginator.get_page(request.GET.get("page"))
    first = (page.number - 1) * settings.PAGE_SIZE
    page.object_list = _worklist_rows(today, until, status_filter, sort, first, first + settings.PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scoring/worklist.html",
        {
            "page": page, "query": query.urlencode(), "sort": sort, "status_filter": status_filter,
            "statuses": [(status.value, label, counts[status.value]) for status, label in presenters.STATUS_LABELS.items()],
            "today": today, "until": until, "windows": visit_schedule(),
            "overdue_days": settings.NASOVCF_WORKLIST_OVERDUE_DAYS,
            "record_url": _path_with_pk("scoring:visit_create"),
        },
    )


