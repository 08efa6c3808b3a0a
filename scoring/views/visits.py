"""Follow-up visits and the treatment change of a fracture."""


from __future__ import annotations

import logging

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from ..forms import (
    TreatmentChangeForm,
    VisitForm,
)
from ..locking import StaleEdit, save_versioned
from ..models import (
    Fracture,
    Visit,
    VisitKind,
    worklist_changed,
)

logger = logging.getLogger("nasovcf.views")


from .base import requires


def _visit_records(fracture_pk: int | None, visit_pk: int | None, *, lock: bool) -> tuple[Fracture, Visit | None]:
    """The fracture (with its patient) and the visit edited, if any; `lock` takes the fracture's
    row lock as it is read (inside the caller's transaction)."""
    if visit_pk is not None and not lock:
        visit = get_object_or_404(Visit.objects.select_related("fracture__patient"), pk=visit_pk)
        return visit.fracture, visit
    fractures = Fracture.objects.select_related("patient")
    if lock:
        fractures = fractures.select_for_update(of=("self",))
    if visit_pk is None:
        return get_object_or_404(fractures, pk=fracture_pk), None
    visit = get_object_or_404(Visit.objects.all(), pk=visit_pk)
    visit.fracture = fractures.get(pk=visit.fracture_id)
    return visit.fracture, visit


def _visit_page(request, *, fracture_pk: int | None = None, visit_pk: int | None = None):
    saved = None
    if request.method == "POST":
        try:
            with transaction.atomic():
                # The fracture is locked as it is read, once: two visits saved at once are
                # validated and recompute its course one after the other, each seeing the other's.
                fracture, visit = _visit_records(fracture_pk, visit_pk, lock=True)
                form = VisitForm(request.POST, instance=visit, fracture=fracture)
                if form.is_valid():
                    saved = form.save(commit=False)
                    save_versioned(saved, form.seen_version(), request.user)
                    fracture.update_outcomes()
        except IntegrityError:
            saved = None
            if not form.instance.kind or form.instance.kind == VisitKind.UNSCHEDULED:
                raise
            # Two people recorded the same scheduled visit at once: the other one was first.
            if not fracture.visits.filter(kind=form.instance.kind).exclude(pk=form.instance.pk).exists():
                raise
            form.add_error("kind", "This fracture already has this scheduled visit: it was just recorded.")
        except StaleEdit:
            saved = None
            form.refuse_stale()
        if saved is not None:
            messages.success(request, f"{saved.get_kind_display()} visit of {saved.visit_date:%Y-%m-%d} saved.")
            return redirect(fracture)
    else:
        fracture, visit = _visit_records(fracture_pk, visit_pk, lock=False)
        initial = {}
        if visit is None and request.GET.get("kind") in VisitKind.values:
            initial["kind"] = request.GET["kind"]
        form = VisitForm(instance=visit, fracture=fracture, initial=initial)
    return render(
        request,
        "scoring/visit_form.html",
        {"form": form, "fracture": fracture, "patient": fracture.patient, "visit": visit,
         "after_change": fracture.treatment_changed_on},
    )


@requires("scoring.add_visit")
@require_http_methods(["GET", "POST"])
def visit_create(request, fracture_pk: int):
    return _visit_page(request, fracture_pk=fracture_pk)


@requires("scoring.change_visit")
@require_http_methods(["GET", "POST"])
def visit_edit(request, pk: int):
    return _visit_page(request, visit_pk=pk)


@requires("scoring.change_fracture")
@require_http_methods(["GET", "POST"])
def treatment_change(request, fracture_pk: int):
    fracture = get_object_or_404(Fracture.objects.select_related("patient"), pk=fracture_pk)
    if not fracture.under_conservative_care:
        raise Http404("Only conservative care can be recorded as abandoned.")
    form = TreatmentChangeForm(request.POST or None, fracture=fracture)
    if request.method == "POST" and form.is_valid():
        try:
            form.apply()
            save_versioned(fracture, form.seen_version(), request.user, update_fields=TreatmentChangeForm.FIELDS)
            worklist_changed()
        except StaleEdit:
            form.refuse_stale()
            return render(
                request, "scoring/treatment_change.html", {"form": form, "fracture": fracture, "patient": fracture.patient}
            )
        messages.success(
            request,
            f"Treatment changed to {fracture.get_current_treatment_display().lower()} on "
            f"{fracture.treatment_changed_on:%Y-%m-%d}: the fracture leaves the worklist.",
        )
        return redirect(fracture)
    return render(
        request, "scoring/treatment_change.html", {"form": form, "fracture": fracture, "patient": fracture.patient}
    )


