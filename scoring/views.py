"""HTML pages: thin function views, request → form → model → template."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import DatabaseError, connection, transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import presenters
from .forms import AssessmentForm, PatientForm, PatientSearchForm
from .models import Fracture, Patient

logger = logging.getLogger("nasovcf.views")


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 once the database answers; 503 otherwise. Public: for load balancers and monitors."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: the database did not answer")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@require_GET
def patient_list(request):
    search = PatientSearchForm(request.GET or None)
    patients = Patient.objects.with_latest_assessment().order_by("mrn")
    if search.is_valid():
        patients = patients.search(search.cleaned_data["q"])
        if search.cleaned_data["group"]:
            patients = patients.filter(latest_group=search.cleaned_data["group"])
    elif search.is_bound:
        patients = patients.none()
    page = Paginator(patients, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scoring/patient_list.html",
        {"search": search, "page": page, "query": query.urlencode(), "filtered": search.is_bound},
    )


@require_http_methods(["GET", "POST"])
def patient_create(request):
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = form.save(commit=False)
        patient.created_by = patient.updated_by = request.user
        patient.save()
        messages.success(request, f"Patient {patient.mrn} registered.")
        return redirect(patient)
    return render(request, "scoring/patient_form.html", {"form": form, "patient": None})


@require_http_methods(["GET", "POST"])
def patient_edit(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            patient = form.save(commit=False)
            patient.updated_by = request.user
            patient.save()
            if "date_of_birth" in form.changed_data:
                # Age feeds the population warnings: keep saved assessments true to the new date.
                for fracture in patient.fractures.all():
                    fracture.rescore()
                    fracture.updated_by = request.user
                    fracture.save()
        messages.success(request, f"Patient {patient.mrn} saved.")
        return redirect(patient)
    return render(request, "scoring/patient_form.html", {"form": form, "patient": patient})


@require_GET
def patient_detail(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    fractures = patient.fractures.order_by("-assessment_date", "-pk")
    return render(request, "scoring/patient_detail.html", {"patient": patient, "fractures": fractures})


def _assessment_page(request, patient: Patient, fracture: Fracture | None):
    form = AssessmentForm(request.POST or None, instance=fracture, patient=patient)
    card = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            card = presenters.score_card_from_result(form.result)
        else:
            fracture = form.save(commit=False)
            if fracture.pk is None:
                fracture.created_by = request.user
            fracture.updated_by = request.user
            fracture.save()
            messages.success(request, f"Assessment saved: NASOVCF {fracture.total_score}, {fracture.risk_group} risk.")
            return redirect(fracture)
    return render(
        request,
        "scoring/fracture_form.html",
        {"form": form, "patient": patient, "fracture": fracture, "card": card},
    )


@require_http_methods(["GET", "POST"])
def fracture_create(request, patient_pk: int):
    patient = get_object_or_404(Patient, pk=patient_pk)
    return _assessment_page(request, patient, None)


@require_http_methods(["GET", "POST"])
def fracture_edit(request, pk: int):
    fracture = get_object_or_404(Fracture.objects.select_related("patient"), pk=pk)
    return _assessment_page(request, fracture.patient, fracture)


@require_GET
def fracture_detail(request, pk: int):
    fracture = get_object_or_404(
        Fracture.objects.select_related("patient", "created_by", "updated_by"), pk=pk
    )
    return render(
        request,
        "scoring/fracture_detail.html",
        {
            "fracture": fracture,
            "patient": fracture.patient,
            "card": presenters.score_card_from_fracture(fracture),
        },
    )
