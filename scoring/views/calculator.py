"""The quick calculator: a score with nothing saved, handed on to a new or an existing patient."""

from __future__ import annotations

from django.http import QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from .. import presenters
from ..forms import CalculatorForm, PatientSearchForm
from ..models import Patient
from .base import requires

# Enough to pick the patient meant from a name shared by a few; a longer list asks for the MRN.
PATIENTS_OFFERED = 10


def _calculator_values(data: QueryDict) -> QueryDict:
    """The calculator's own fields as submitted: carried by the patient search (a GET form) so the
    page it returns to shows the same result."""
    values = QueryDict(mutable=True)
    for name in CalculatorForm.base_fields:
        if data.get(name) not in (None, ""):
            values[name] = data[name]
    return values


def _patients_offered(query: str, carry: str) -> list[dict]:
    """Active patients matching the search (MRN prefix or name words, as the patient list finds
    them), each with the link to their new assessment filled with the calculator's values."""
    search = PatientSearchForm({"q": query})
    if not search.is_valid() or not search.cleaned_data["q"].strip():
        return []
    patients = Patient.objects.active().search(search.cleaned_data["q"]).order_by("mrn")[:PATIENTS_OFFERED]
    return [
        {
            "mrn": patient.mrn,
            "name": patient.name,
            "date_of_birth": patient.date_of_birth,
            "url": f"{reverse('scoring:fracture_create', args=[patient.pk])}?{carry}",
        }
        for patient in patients
    ]


@requires("scoring.view_fracture")
@require_http_methods(["GET", "POST"])
def calculator(request):
    """A quick score for a corridor consult: the same inputs and rules, nothing saved.

    The result offers its values to a new patient record, or (found by MRN or name through a GET
    form carrying the values as `calc`) to an existing patient's new assessment."""
    if request.method == "POST":
        data = request.POST
    elif "calc" in request.GET:
        data = QueryDict(request.GET.get("calc", "")[:2000])
    else:
        data = None
    form = CalculatorForm(data)
    card = carry = None
    calc = ""
    patient_query = ""
    patients: list[dict] = []
    if data is not None and form.is_valid():
        card = presenters.score_card_from_result(form.result)
        carry = form.carry_over()
        calc = _calculator_values(data).urlencode()
        if request.user.has_perms(["scoring.add_fracture", "scoring.view_patient"]):
            patient_query = request.GET.get("patient", "").strip()[:100]
            patients = _patients_offered(patient_query, carry)
    return render(
        request,
        "scoring/calculator.html",
        {
            "form": form,
            "card": card,
            "carry": carry,
            "calc": calc,
            "patient_query": patient_query,
            "patients": patients,
            "patients_limit": PATIENTS_OFFERED,
        },
    )
