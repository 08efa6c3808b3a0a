"""Each record's history page: every version, who saved it and when, what changed in words."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .. import selectors
from ..models import Fracture, Patient, Visit
from .base import requires


def _history_page(request, model, pk: int):
    record = get_object_or_404(model.objects.all(), pk=pk)
    page = selectors.history_page(model, pk, request.GET.get("page"))
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
