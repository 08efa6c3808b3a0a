"""Follow-up visits and the treatment change of a fracture."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from nasovcf_site.i18n import words

from .. import services
from ..forms import TreatmentChangeForm, VisitForm
from ..locking import StaleEdit
from ..models import Fracture, Visit, VisitKind
from .base import already_saved, fill_from_reading, requires, sent_before, treatment_in_sentence
from .patients import archived_refusal, refusal_if_archived


def _visit_page(request, fracture: Fracture, visit: Visit | None):
    if resent := sent_before(request, fracture):
        return resent
    if refusal := refusal_if_archived(request, fracture):
        return refusal
    if request.method == "POST":
        try:
            form, saved = services.save_visit(
                fracture_id=fracture.pk, visit=visit, data=request.POST, user=request.user
            )
        except services.AlreadySubmitted as first_save:
            return already_saved(request, first_save.url, fracture)
        except services.ArchivedRecord as refused:
            return archived_refusal(request, refused)
        if saved is not None:
            messages.success(
                request,
                _("%(kind)s visit of %(date)s saved.")
                % {"kind": saved.get_kind_display(), "date": date_format(saved.visit_date, "SHORT_DATE_FORMAT")},
            )
            for notice in form.notices:
                messages.warning(request, words(notice))
            return redirect(saved.fracture)
        fracture = form.fracture
    else:
        initial = {}
        if visit is None:
            # The visit asked for (the worklist's and the fracture page's links name it), else the
            # one that is due: never the 1-month visit of a fracture at six months.
            kind = request.GET.get("kind")
            initial["kind"] = kind if kind in VisitKind.values else fracture.visit_kind_due(timezone.localdate())
        form = VisitForm(instance=visit, fracture=fracture, initial=initial)
        if visit is not None:
            fill_from_reading(request, form, visit.films)
    return render(
        request,
        "scoring/visit_form.html",
        {
            "form": form,
            "fracture": fracture,
            "patient": fracture.patient,
            "visit": visit,
            "after_change": fracture.treatment_changed_on,
            "treatment_named": treatment_in_sentence(fracture.treatment),
        },
    )


@requires("scoring.add_visit")
@require_http_methods(["GET", "POST"])
def visit_create(request, fracture_pk: int):
    fracture = get_object_or_404(Fracture.objects.select_related("patient"), pk=fracture_pk)
    return _visit_page(request, fracture, None)


@requires("scoring.change_visit")
@require_http_methods(["GET", "POST"])
def visit_edit(request, pk: int):
    visit = get_object_or_404(Visit.objects.select_related("fracture__patient"), pk=pk)
    return _visit_page(request, visit.fracture, visit)


@requires("scoring.change_fracture")
@require_http_methods(["GET", "POST"])
def treatment_change(request, fracture_pk: int):
    fracture = get_object_or_404(Fracture.objects.select_related("patient"), pk=fracture_pk)
    if resent := sent_before(request, fracture):
        return resent  # before the checks the first click's save changed (no longer conservative care)
    if not fracture.under_conservative_care:
        raise Http404("Only conservative care can be recorded as abandoned.")
    if refusal := refusal_if_archived(request, fracture):
        return refusal
    form = TreatmentChangeForm(request.POST or None, fracture=fracture)
    if request.method == "POST" and form.is_valid():
        try:
            fracture = services.change_treatment(form=form, user=request.user)
        except services.AlreadySubmitted as first_save:
            return already_saved(request, first_save.url, fracture)
        except StaleEdit:
            form.refuse_stale()
        except services.ArchivedRecord as refused:
            return archived_refusal(request, refused)
        else:
            messages.success(
                request,
                _("Treatment changed to %(treatment)s on %(date)s: the fracture leaves the worklist.")
                % {
                    "treatment": treatment_in_sentence(fracture.current_treatment),
                    "date": date_format(fracture.treatment_changed_on, "SHORT_DATE_FORMAT"),
                },
            )
            return redirect(fracture)
    return render(
        request, "scoring/treatment_change.html", {"form": form, "fracture": fracture, "patient": fracture.patient}
    )
