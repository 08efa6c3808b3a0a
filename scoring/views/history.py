"""Each record's history page: every version, who saved it and when, what changed in words. A
record deleted in the admin keeps its page, built from its history alone and marked as deleted."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from .. import selectors
from ..models import Fracture, Patient, Visit
from .base import requires

# What each page calls its record ("History of this patient"): the models' names, in the user's language.
KINDS = {
    Patient: pgettext_lazy("record kind", "patient"),
    Fracture: pgettext_lazy("record kind", "fracture"),
    Visit: pgettext_lazy("record kind", "visit"),
}


def _history_page(request, model, pk: int):
    record = model.objects.filter(pk=pk).first()
    deleted = selectors.deleted_record(model, pk) if record is None else None
    if record is None and deleted is None:
        raise Http404(f"No {model._meta.verbose_name} {pk}.")
    page = selectors.history_page(model, pk, request.GET.get("page"))
    return render(
        request,
        "scoring/history.html",
        {"record": record, "deleted": deleted, "page": page, "kind": KINDS[model], "query": ""},
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
