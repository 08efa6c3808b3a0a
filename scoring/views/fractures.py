"""A fracture's baseline assessment: its form, its timeline page and its print report."""


from __future__ import annotations

import logging

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods

from .. import presenters
from ..forms import (
    AssessmentForm,
)
from ..locking import StaleEdit, save_versioned
from ..models import (
    SCHEDULED_KINDS,
    Fracture,
    Patient,
    VisitKind,
    visit_schedule,
)

logger = logging.getLogger("nasovcf.views")


from .base import requires


def _assessment_page(request, patient: Patient, fracture: Fracture | None):
    initial = {}
    if fracture is None and request.method == "GET":
        initial = {name: value for name, value in request.GET.items() if name in AssessmentForm.CARRIED_FIELDS}
    form = AssessmentForm(request.POST or None, instance=fracture, patient=patient, initial=initial)
    card = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            card = presenters.score_card_from_result(form.result)
        else:
            try:
                with transaction.atomic():
                    fracture = form.save(commit=False)
                    # Score against the patient as stored now (locked): a date of birth corrected
                    # while this form was open changes the age the warnings use.
                    fracture.patient = Patient.objects.select_for_update().get(pk=patient.pk)
                    fracture.rescore()
                    save_versioned(fracture, form.seen_version(), request.user)
                    fracture.update_outcomes()  # visits compare against the baseline just saved
            except StaleEdit:
                form.refuse_stale()
            else:
                messages.success(request, f"Assessment saved: NASOVCF {fracture.total_score}, {fracture.risk_group} risk.")
                return redirect(fracture)
    return render(
        request,
        "scoring/fracture_form.html",
        {"form": form, "patient": patient, "fracture": fracture, "card": card},
    )


@requires("scoring.add_fracture")
@require_http_methods(["GET", "POST"])
def fracture_create(request, patient_pk: int):
    patient = get_object_or_404(Patient, pk=patient_pk)
    return _assessment_page(request, patient, None)


@requires("scoring.change_fracture")
@require_http_methods(["GET", "POST"])
def fracture_edit(request, pk: int):
    fracture = get_object_or_404(Fracture.objects.select_related("patient"), pk=pk)
    return _assessment_page(request, fracture.patient, fracture)


def _timeline_context(fracture: Fracture) -> dict:
    visits = list(fracture.visits.all())
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
        # The page's body and charts are kept in the cache ({% cache %} in the templates) under
        # this key: the fracture's and every visit's version, which every change through the app
        # bumps (locking.save_versioned, archiving), and the course computed from the visits
        # (update_outcomes saves it without a new version): a visit saved between the reads of
        # the fracture and of its visits must not leave an old course kept under the new key.
        # The charts are drawn only when their drawing is not kept.
        "charts": SimpleLazyObject(lambda: presenters.timeline_charts(fracture, visits)),
        "record_key": ":".join([
            str(fracture.version), *(str(getattr(fracture, name)) for name in Fracture.OUTCOME_FIELDS),
            ",".join(f"{visit.pk}.{visit.version}" for visit in visits),
        ]),
        "baseline_odi_answered": presenters.odi_answered(fracture.odi_sections),
        "missing_kinds": [kind for kind in SCHEDULED_KINDS if kind not in recorded],
        "schedule": [
            {"label": VisitKind(v.kind).label, "due": v.due(fracture.treatment_start_date),
             "recorded": v.kind in recorded}
            for v in visit_schedule()
        ],
    }


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def fracture_detail(request, pk: int):
    fracture = get_object_or_404(
        # Who entered and changed it shows in the cached body: read only when that is drawn.
        Fracture.objects.select_related("patient"), pk=pk
    )
    return render(request, "scoring/fracture_detail.html", _timeline_context(fracture))


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def fracture_print(request, pk: int):
    fracture = get_object_or_404(Fracture.objects.select_related("patient"), pk=pk)
    context = _timeline_context(fracture)
    context["printed_at"] = timezone.localtime()
    return render(request, "scoring/fracture_print.html", context)


