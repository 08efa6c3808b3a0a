"""The worklist of visits due under conservative care (spec §3)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from .. import presenters, selectors
from ..models import visit_schedule
from .base import requires

# The table's caption names its order for a screen reader: "Visits due, sorted by due" (in English
# the ?sort= key as it is, "-" for the reverse order); in Chinese the column's name, not the key.
SORT_WORDS = {
    "due": pgettext_lazy("worklist sorted by", "due"),
    "-due": pgettext_lazy("worklist sorted by", "-due"),
    "mrn": pgettext_lazy("worklist sorted by", "mrn"),
    "-mrn": pgettext_lazy("worklist sorted by", "-mrn"),
    "visit": pgettext_lazy("worklist sorted by", "visit"),
    "-visit": pgettext_lazy("worklist sorted by", "-visit"),
    "status": pgettext_lazy("worklist sorted by", "status"),
    "-status": pgettext_lazy("worklist sorted by", "-status"),
    "group": pgettext_lazy("worklist sorted by", "group"),
    "-group": pgettext_lazy("worklist sorted by", "-group"),
}


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def worklist(request):
    """Visits overdue, due this week and upcoming; and, on its own tab, those missed."""
    status = request.GET.get("status", "")
    if status not in presenters.STATUS_LABELS:
        status = ""
    sort = request.GET.get("sort", "due")
    if sort.lstrip("-") not in selectors.WORKLIST_SORTS:
        sort = "due"
    worklist = selectors.worklist(
        today=timezone.localdate(), status=status, sort=sort, page_number=request.GET.get("page")
    )
    page = worklist.page
    page.object_list = presenters.worklist_rows(page.object_list, worklist.today, settings.NASOVCF_WORKLIST_SOON_DAYS)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scoring/worklist.html",
        {
            "page": page,
            "query": query.urlencode(),
            "sort": sort,
            "sort_words": SORT_WORDS.get(sort, sort),
            "status_filter": status,
            "statuses": [(value, label, worklist.counts[value]) for value, label in presenters.STATUS_LABELS.items()],
            "today": worklist.today,
            "until": worklist.until,
            "windows": visit_schedule(),
            "overdue_days": settings.NASOVCF_WORKLIST_OVERDUE_DAYS,
            # The navigation's count (overdue or due this week) is two of the counts: not counted again.
            "worklist_count": worklist.counts["overdue"] + worklist.counts["due_soon"],
        },
    )
