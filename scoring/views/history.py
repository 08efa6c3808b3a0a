"""Each record's history page."""


from __future__ import annotations

import logging

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .. import history
from ..models import (
    Fracture,
    Patient,
    Visit,
)

logger = logging.getLogger("nasovcf.views")


from .base import requires

HISTORY_PAGES = {
    "patient": (Patient, "scoring.view_patient"),
    "fracture": (Fracture, "scoring.view_fracture"),
    "visit": (Visit, "scoring.view_visit"),
}


def _history_page(request, model, pk: int):
    record = get_object_or_404(model.objects.all(), pk=pk)
    records = model.history.filter(id=pk).select_related("history_user").order_by("history_date", "history_id")
    page = Paginator(history.entries(model, records), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "scoring/history.html",
        {"record": record, "page": page, "kind": model._meta.verbose_name, "query": ""},
    )


@requires("scoring.view_patient")
@require_GET
def patient_history(request, pk: int):
    return _history_page(request, Patient, pk)


@requires("scoring.view_fracture")
@require_GET
def fracture_history(request, pk: int):
    return _history_page(request, Fracture, pk)


@requires("scoring.view_visit")
@require_GET
def visit_history(request, pk: int):
    return _history_page(request, Visit, pk)


