"""The patient list, a patient's page, registering and editing a patient, archiving."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services
from ..forms import PatientForm, PatientSearchForm
from ..locking import StaleEdit
from ..models import Fracture, Patient
from .base import requires


def archived_refusal(request, refusal: services.ArchivedRecord) -> HttpResponse:
    """The answer to opening or posting a change to an archived record: 409, saying what to do."""
    return render(
        request,
        "scoring/archived.html",
        {"message": str(refusal), "record": refusal.record, "posted": request.method == "POST"},
        status=409,
    )


def refusal_if_archived(request, record: Patient | Fracture) -> HttpResponse | None:
    """The refusal page when `record` (or, for an assessment, its patient) is archived; else None."""
    try:
        services.refuse_archived(record)
    except services.ArchivedRecord as refused:
        return archived_refusal(request, refused)
    return None


@requires("scoring.view_patient")
@require_GET
def patient_list(request):
    search = PatientSearchForm(request.GET or None)
    show_archived = request.GET.get("archived") == "1"
    criteria = search.cleaned_data if search.is_valid() else ({} if not search.is_bound else None)
    page, rows = selectors.patient_list_page(
        search=criteria, archived=show_archived, page_number=request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scoring/patient_list.html",
        {
            "search": search,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "filtered": search.is_bound,
            "show_archived": show_archived,
        },
    )


@requires("scoring.add_patient")
@require_http_methods(["GET", "POST"])
def patient_create(request):
    form = PatientForm(request.POST or None)
    # Values carried from the quick calculator go on to the new assessment once the patient exists.
    carry = (request.POST.get("carry") or request.GET.get("carry") or "")[:2000]
    if request.method == "POST" and form.is_valid():
        patient = services.register_patient(form=form, user=request.user)
        messages.success(request, f"Patient {patient.mrn} registered.")
        if carry:
            return redirect(f"{patient.get_absolute_url()}assessments/new/?{QueryDict(carry).urlencode()}")
        return redirect(patient)
    return render(request, "scoring/patient_form.html", {"form": form, "patient": None, "carry": carry})


@requires("scoring.change_patient")
@require_http_methods(["GET", "POST"])
def patient_edit(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    if refusal := refusal_if_archived(request, patient):
        return refusal
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.update_patient(form=form, user=request.user)
        except StaleEdit:
            form.refuse_stale()
        except services.ArchivedRecord as refused:
            return archived_refusal(request, refused)
        else:
            messages.success(request, f"Patient {patient.mrn} saved.")
            return redirect(patient)
    return render(request, "scoring/patient_form.html", {"form": form, "patient": patient})


@requires("scoring.view_patient", "scoring.view_fracture")
@require_GET
def patient_detail(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    return render(request, "scoring/patient_detail.html", selectors.patient_page(patient))


@requires("scoring.change_patient")
@require_POST
def patient_archive(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    patient = services.set_archived(record=patient, archived=request.POST.get("restore") != "1", user=request.user)
    messages.success(
        request,
        f"Patient {patient.mrn} {'archived: hidden from the lists, kept in full' if patient.is_archived else 'restored'}.",
    )
    return redirect(patient)


@requires("scoring.change_fracture")
@require_POST
def fracture_archive(request, pk: int):
    fracture = get_object_or_404(Fracture, pk=pk)
    fracture = services.set_archived(record=fracture, archived=request.POST.get("restore") != "1", user=request.user)
    messages.success(request, f"Assessment {'archived' if fracture.is_archived else 'restored'}.")
    return redirect(fracture.patient if fracture.is_archived else fracture)
