"""A fracture's baseline assessment: its form, its timeline page and its print report."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from nasovcf_site.i18n import words

from .. import followup, presenters, selectors, services
from ..forms import AssessmentForm
from ..locking import StaleEdit
from ..models import Fracture, Patient
from .base import already_saved, fill_from_reading, requires, sent_before, treatment_in_sentence
from .patients import archived_refusal, refusal_if_archived

# The message after a save, one whole sentence a risk group.
SAVED = {
    "low": gettext_lazy("Assessment saved: NASOVCF %(total)s, low risk."),
    "medium": gettext_lazy("Assessment saved: NASOVCF %(total)s, medium risk."),
    "high": gettext_lazy("Assessment saved: NASOVCF %(total)s, high risk."),
}


def _assessment_page(request, patient: Patient, fracture: Fracture | None):
    if "preview" not in request.POST and (resent := sent_before(request, fracture or patient)):
        return resent
    if refusal := refusal_if_archived(request, fracture or patient):
        return refusal
    initial = {}
    if fracture is None and request.method == "GET":
        initial = {name: value for name, value in request.GET.items() if name in AssessmentForm.CARRIED_FIELDS}
    form = AssessmentForm(request.POST or None, instance=fracture, patient=patient, initial=initial)
    # A film's reading fills the form: the assessment's own films, or for a new assessment the
    # patient's film measured for it, which the saved assessment then takes (services.save_assessment).
    new_films = patient.films.filter(fracture__isnull=True)
    if request.method == "GET":
        fill_from_reading(request, form, fracture.films if fracture is not None else new_films)
    film_pk = request.POST.get("film", "")
    film_pk = int(film_pk) if fracture is None and film_pk.isdigit() else None
    card = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            card = presenters.score_card_from_result(form.result)
        else:
            try:
                fracture = services.save_assessment(form=form, user=request.user, film_pk=film_pk)
            except StaleEdit:
                form.refuse_stale()
            except services.CourseChangeToConfirm as change:
                form.ask_to_confirm(
                    change.key,
                    _("Not saved yet: %(change)s Save again to confirm, or correct the values.")
                    % {"change": words(change.text)},
                )
            except services.AlreadySubmitted as first:
                return already_saved(request, first.url, fracture or patient)
            except services.ArchivedRecord as refused:
                return archived_refusal(request, refused)
            else:
                messages.success(request, SAVED[fracture.risk_group] % {"total": fracture.total_score})
                for notice in form.notices:
                    messages.warning(request, words(notice))
                return redirect(fracture)
    if form.errors and "preview" not in request.POST and (resent := sent_before(request, fracture or patient)):
        return resent  # the first click committed while this one was being checked
    reading = getattr(form, "filled_from_reading", None)
    return render(
        request,
        "scoring/fracture_form.html",
        {
            "form": form,
            "patient": patient,
            "fracture": fracture,
            "card": card,
            # The new assessment's film: from its reading (GET), or as posted (a form sent back).
            "film_pk": reading.film_id if reading is not None else film_pk,
            "can_add_film": request.user.has_perm("scoring.add_film"),
        },
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


def _fracture(pk: int) -> Fracture:
    return get_object_or_404(
        Fracture.objects.select_related("patient", "created_by", "updated_by", "archived_by"), pk=pk
    )


def _treatments_named(fracture: Fracture) -> dict:
    """The first treatment and the one changed to, as a sentence names them (the course, the report)."""
    return {
        "treatment_named": treatment_in_sentence(fracture.treatment),
        "changed_to_named": treatment_in_sentence(fracture.treatment_changed_to),
    }


def _unschedulable(request, fracture: Fracture):
    """A fracture whose stored treatment start date is past the calendar's end (written behind the
    forms' back): its timeline cannot be drawn; the page says so and where to correct it."""
    return render(request, "scoring/fracture_unschedulable.html", {"fracture": fracture, "patient": fracture.patient})


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def fracture_detail(request, pk: int):
    fracture = _fracture(pk)
    try:
        context = selectors.fracture_timeline(fracture)
    except followup.ScheduleOutOfRange:
        return _unschedulable(request, fracture)
    return render(request, "scoring/fracture_detail.html", {**context, **_treatments_named(fracture)})


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def fracture_print(request, pk: int):
    fracture = _fracture(pk)
    try:
        context = selectors.fracture_timeline(fracture)
    except followup.ScheduleOutOfRange:
        return _unschedulable(request, fracture)
    context["printed_at"] = timezone.localtime()
    return render(request, "scoring/fracture_print.html", {**context, **_treatments_named(fracture)})
