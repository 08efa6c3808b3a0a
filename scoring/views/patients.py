"""The patient list, a patient's page, registering and editing a patient, archiving."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import selectors, services
from ..forms import ArchiveForm, PatientForm, PatientSearchForm
from ..locking import StaleEdit
from ..models import Fracture, Patient
from .base import already_saved, requires, sent_before


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
    if resent := sent_before(request, reverse("scoring:patient_list")):
        return resent
    form = PatientForm(request.POST or None)
    # Values carried from the quick calculator go on to the new assessment once the patient exists.
    carry = (request.POST.get("carry") or request.GET.get("carry") or "")[:2000]
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.register_patient(form=form, user=request.user)
        except services.AlreadySubmitted as first:
            return already_saved(request, first.url, reverse("scoring:patient_list"))
        messages.success(request, _("Patient %(mrn)s registered.") % {"mrn": patient.mrn})
        if carry:
            then = f"{patient.get_absolute_url()}assessments/new/?{QueryDict(carry).urlencode()}"
            services.note_result(request.POST.get("submission"), request.user, then)  # a resend goes there too
            return redirect(then)
        return redirect(patient)
    if form.errors and (resent := sent_before(request, reverse("scoring:patient_list"))):
        return resent  # the first click committed while this one was being checked (its MRN now taken)
    return render(request, "scoring/patient_form.html", {"form": form, "patient": None, "carry": carry})


@requires("scoring.change_patient")
@require_http_methods(["GET", "POST"])
def patient_edit(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    if resent := sent_before(request, patient):
        return resent
    if refusal := refusal_if_archived(request, patient):
        return refusal
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.update_patient(form=form, user=request.user)
        except services.AlreadySubmitted as first:
            return already_saved(request, first.url, patient)
        except StaleEdit:
            form.refuse_stale()
        except services.ArchivedRecord as refused:
            return archived_refusal(request, refused)
        else:
            messages.success(request, _("Patient %(mrn)s saved.") % {"mrn": patient.mrn})
            return redirect(patient)
    return render(request, "scoring/patient_form.html", {"form": form, "patient": patient})


@requires("scoring.view_patient", "scoring.view_fracture")
@require_GET
def patient_detail(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    return render(request, "scoring/patient_detail.html", selectors.patient_page(patient, timezone.localdate()))


@requires("scoring.change_patient")
@require_http_methods(["GET", "POST"])
def patient_archive(request, pk: int):
    """Archive a patient (asking why) or restore one, each after a confirmation page."""
    patient = get_object_or_404(Patient, pk=pk)
    return archive_or_restore(request, patient, hidden=selectors.archive_scope(patient, timezone.localdate()))


@requires("scoring.change_fracture")
@require_http_methods(["GET", "POST"])
def fracture_archive(request, pk: int):
    """Archive an assessment (asking why) or restore one, each after a confirmation page."""
    fracture = get_object_or_404(Fracture.objects.select_related("patient"), pk=pk)
    return archive_or_restore(request, fracture, hidden=selectors.archive_scope(fracture, timezone.localdate()))


def _archive_sentences(record: Patient | Fracture) -> dict[str, str]:
    """What the archive and restore pages and messages say of this record, each a whole sentence
    (a patient and an assessment are named differently, and differently at a sentence's start)."""
    if isinstance(record, Patient):
        values = {"mrn": record.mrn}
        sentences = {
            "archive_question": _("Archive patient %(mrn)s?"),
            "restore_question": _("Restore patient %(mrn)s from the archive?"),
            "not_archived": _("Patient %(mrn)s is not archived: nothing to restore."),
            "already_archived": _("Patient %(mrn)s is already archived."),
            "restored": _("Patient %(mrn)s restored."),
            "archived": _("Patient %(mrn)s archived: hidden from the lists and the worklist, kept in full."),
        }
    else:
        values = {
            "level": record.level,
            "date": date_format(record.assessment_date, "SHORT_DATE_FORMAT"),
            "mrn": record.patient.mrn,
        }
        sentences = {
            "archive_question": _("Archive the %(level)s assessment of %(date)s (%(mrn)s)?"),
            "restore_question": _("Restore the %(level)s assessment of %(date)s (%(mrn)s) from the archive?"),
            "not_archived": _("The %(level)s assessment of %(date)s (%(mrn)s) is not archived: nothing to restore."),
            "already_archived": _("The %(level)s assessment of %(date)s (%(mrn)s) is already archived."),
            "restored": _("The %(level)s assessment of %(date)s (%(mrn)s) restored."),
            "archived": _(
                "The %(level)s assessment of %(date)s (%(mrn)s) archived: "
                "hidden from the lists and the worklist, kept in full."
            ),
        }
    return {key: sentence % values for key, sentence in sentences.items()}


def archive_or_restore(request, record: Patient | Fracture, *, hidden: dict) -> HttpResponse:
    """GET: what archiving hides (or restoring brings back), and for archiving a required reason.
    POST: do it (services.set_archived keeps the reason on the record and in its history).

    What is done follows the record as stored, not the button: a second click after the first
    went through finds the work done and changes nothing."""
    restoring = record.is_archived
    says = _archive_sentences(record)
    # A POST without the reason field is a bare "Archive" button: it opens the question unasked.
    answered = request.method == "POST" and "reason" in request.POST
    form = None if restoring else ArchiveForm(request.POST if answered else None)
    if request.method == "POST":
        if request.POST.get("restore") == "1" and not restoring:
            messages.info(request, says["not_archived"])
            return redirect(record)
        if request.POST.get("restore") != "1" and restoring:
            messages.info(request, says["already_archived"])
            return redirect(record)
        if restoring or (answered and form.is_valid()):
            reason = "" if restoring else form.cleaned_data["reason"]
            record = services.set_archived(record=record, archived=not restoring, user=request.user, reason=reason)
            if restoring:
                messages.success(request, says["restored"])
                return redirect(record)
            messages.success(request, says["archived"])
            # An archived assessment's patient is where the clinician goes on from.
            return redirect(record.patient if isinstance(record, Fracture) else record)
    return render(
        request,
        "scoring/archive_confirm.html",
        {
            "record": record,
            "question": says["restore_question" if restoring else "archive_question"],
            "form": form,
            "restoring": restoring,
            **hidden,
        },
    )
