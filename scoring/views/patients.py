"""The patient list, a patient's page, registering and editing a patient, archiving."""


from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from simple_history.utils import bulk_update_with_history

from .. import presenters
from ..forms import (
    PatientForm,
    PatientSearchForm,
)
from ..locking import StaleEdit, save_versioned
from ..models import (
    Fracture,
    Patient,
    Sex,
    patient_count_cache_key,
    worklist_changed,
)

logger = logging.getLogger("nasovcf.views")


from .base import KnownCountPaginator, _path_with_pk, requires


@requires("scoring.view_patient")
@require_GET
def patient_list(request):
    search = PatientSearchForm(request.GET or None)
    show_archived = request.GET.get("archived") == "1"
    patients = Patient.objects.order_by("mrn")
    patients = patients.filter(archived_at__isnull=False) if show_archived else patients.active()
    if search.is_valid():
        patients = patients.search(search.cleaned_data["q"])
        if search.cleaned_data["group"]:
            patients = patients.with_latest_group().filter(latest_group=search.cleaned_data["group"])
    elif search.is_bound:
        patients = patients.none()
    if search.is_bound and not (search.is_valid() and not any(search.cleaned_data.values())):
        paginator = Paginator(patients, settings.PAGE_SIZE)
    else:
        # The whole list's count scans every patient: kept in the cache until a patient is saved.
        count = cache.get_or_set(patient_count_cache_key(show_archived), patients.count, 60)
        paginator = KnownCountPaginator(patients, settings.PAGE_SIZE, count)
    page = paginator.get_page(request.GET.get("page"))
    shown = list(page.object_list)
    latest = Fracture.objects.latest_by_patient([patient.pk for patient in shown])
    rows = presenters.patient_rows(
        shown, latest, dict(Sex.choices), _path_with_pk("scoring:patient_detail"), _path_with_pk("scoring:fracture_detail")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scoring/patient_list.html",
        {"search": search, "page": page, "rows": rows, "query": query.urlencode(), "filtered": search.is_bound,
         "show_archived": show_archived},
    )


def _rescore_for_new_birth_date(patient: Patient, user) -> None:
    """Age feeds the population warnings: keep saved assessments true to a corrected date.

    The fractures are locked and their versions bumped, so an assessment edit opened before the
    correction (and so scored with the old age) is refused rather than saved over it.
    """
    fractures = list(patient.fractures.select_for_update())
    for fracture in fractures:
        fracture.patient = patient
        fracture.rescore()
        fracture.updated_by = user
        fracture.version += 1
    bulk_update_with_history(
        fractures, Fracture,
        ["age_at_assessment", "population_warnings", "score_components", "total_score", "risk_group",
         "rules_version", "updated_by", "version"],
        default_user=user,
    )


@requires("scoring.add_patient")
@require_http_methods(["GET", "POST"])
def patient_create(request):
    form = PatientForm(request.POST or None)
    # Values carried from the quick calculator go on to the new assessment once the patient exists.
    carry = (request.POST.get("carry") or request.GET.get("carry") or "")[:2000]
    if request.method == "POST" and form.is_valid():
        patient = form.save(commit=False)
        save_versioned(patient, None, request.user)
        messages.success(request, f"Patient {patient.mrn} registered.")
        if carry:
            return redirect(f"{patient.get_absolute_url()}assessments/new/?{QueryDict(carry).urlencode()}")
        return redirect(patient)
    return render(request, "scoring/patient_form.html", {"form": form, "patient": None, "carry": carry})


@requires("scoring.change_patient")
@require_http_methods(["GET", "POST"])
def patient_edit(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                patient = form.save(commit=False)
                save_versioned(patient, form.seen_version(), request.user)
                if "date_of_birth" in form.changed_data:
                    _rescore_for_new_birth_date(patient, request.user)
        except StaleEdit:
            form.refuse_stale()
        else:
            messages.success(request, f"Patient {patient.mrn} saved.")
            return redirect(patient)
    return render(request, "scoring/patient_form.html", {"form": form, "patient": patient})


@requires("scoring.view_patient", "scoring.view_fracture")
@require_GET
def patient_detail(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    fractures = list(patient.fractures.order_by("-assessment_date", "-pk"))
    return render(
        request,
        "scoring/patient_detail.html",
        {"patient": patient, "fractures": [f for f in fractures if not f.is_archived],
         "archived_fractures": [f for f in fractures if f.is_archived]},
    )


def _archive_toggle(request, model, pk: int, archive: bool):
    """Archive or restore under the row lock, saving only those fields and bumping the version,
    so an edit opened before is refused instead of undoing the archive (or being undone by it)."""
    with transaction.atomic():
        record = get_object_or_404(model.objects.select_for_update(), pk=pk)
        if archive:
            record.archive(request.user)
        else:
            record.restore()
        record.updated_by = request.user
        record.version += 1
        record.save(update_fields=["archived_at", "archived_by", "updated_by", "updated_at", "version"])
    worklist_changed()
    return record


@requires("scoring.change_patient")
@require_POST
def patient_archive(request, pk: int):
    patient = _archive_toggle(request, Patient, pk, archive=request.POST.get("restore") != "1")
    messages.success(
        request,
        f"Patient {patient.mrn} {'archived: hidden from the lists, kept in full' if patient.is_archived else 'restored'}.",
    )
    return redirect(patient)


@requires("scoring.change_fracture")
@require_POST
def fracture_archive(request, pk: int):
    fracture = _archive_toggle(request, Fracture, pk, archive=request.POST.get("restore") != "1")
    messages.success(request, f"Assessment {'archived' if fracture.is_archived else 'restored'}.")
    return redirect(fracture.patient if fracture.is_archived else fracture)


