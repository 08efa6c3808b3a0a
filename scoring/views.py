"""HTML pages: thin function views, request → form → model → template.

Every view names the permission it needs (`requires`): clinicians read and write, viewers only
read (the roles are made by migration 0004); a write view answers 403 to a viewer.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import logging
from functools import wraps
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.paginator import Paginator
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, cached_property
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from simple_history.utils import bulk_update_with_history

from . import followup, history, presenters
from .forms import AssessmentForm, PatientForm, PatientSearchForm, TreatmentChangeForm, VisitForm
from .locking import StaleEdit, save_versioned
from .models import (
    SCHEDULED_KINDS, Fracture, Patient, Sex, Visit, VisitKind, patient_count_cache_key, visit_schedule, worklist_changed,
    worklist_status_cache_key,
)

logger = logging.getLogger("nasovcf.views")


def requires(*permissions: str):
    """Refuse with 403 unless the user has every permission; the URL-walking tests read
    `view.required_permissions` to know which pages write."""

    def decorate(view):
        checked = permission_required(permissions, raise_exception=True)(view)

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return checked(request, *args, **kwargs)

        wrapper.required_permissions = permissions
        return wrapper

    return decorate


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


@require_POST
def keepalive(request):
    """Renews the idle timer when the person chooses to stay signed in (static/js/session.js)."""
    return HttpResponse(status=204)


class KnownCountPaginator(Paginator):
    """A paginator told its count, counted (or kept) by the view."""

    def __init__(self, object_list, per_page, count: int):
        super().__init__(object_list, per_page)
        self.known_count = count

    @cached_property
    def count(self) -> int:
        return self.known_count


def _path_with_pk(name: str) -> str:
    """A detail page's path with {} where the primary key goes: reversed once per page, not per row."""
    head, _, tail = reverse(name, args=[0]).rpartition("/0/")
    return f"{head}/{{}}/{tail}"


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


class _Listed(NamedTuple):
    """A fracture listing one scheduled visit, before it is made a row: what the sort compares."""

    values: tuple  # models.WORKLIST_COLUMNS
    visit: followup.ScheduledVisit
    kind_order: int
    status_order: int

    @property
    def due(self):
        return self.visit.due(self.values[1])

    @property
    def mrn(self) -> str:
        return self.values[7]

    @property
    def pk(self) -> int:
        return self.values[0]


# ?sort= → how rows compare (the first visit of a page is found by merging the three scheduled
# visits' own sorted lists); ties are broken so that paging never repeats or skips a row.
WORKLIST_SORTS = {
    "due": lambda row: (row.due, row.mrn, row.pk, row.kind_order),
    "mrn": lambda row: (row.mrn, row.due, row.pk, row.kind_order),
    "visit": lambda row: (row.kind_order, row.due, row.mrn, row.pk),
    "status": lambda row: (row.status_order, row.due, row.mrn, row.pk, row.kind_order),
}


def _worklist_rows(today, until, status: str, sort: str, first: int, stop: int) -> list:
    """Rows `first` to `stop` of the worklist in the order asked.

    Each scheduled visit's fractures come from the database already in this order (by start
    date, which orders them by due date and by status too; or by MRN), `stop` at most, so only
    about a page of rows is read whatever the worklist's length; heapq merges the three lists,
    and only the rows shown are made.
    """
    descending = sort.startswith("-")
    labels = dict(VisitKind.choices)
    soon_days = settings.NASOVCF_WORKLIST_SOON_DAYS
    statuses = list(followup.DueStatus)
    parts = []
    for order, visit in enumerate(visit_schedule()):
        found = Fracture.objects.worklist_part(
            visit.kind, today, until, status=status, by_mrn=sort.lstrip("-") == "mrn", descending=descending, stop=stop
        )
        bounds = followup.status_bounds(visit, today, soon_days)
        parts.append([
            _Listed(values, visit, order, statuses.index(followup.status_for_start(values[1], bounds)))
            for values in found
        ])
    merged = heapq.merge(*parts, key=WORKLIST_SORTS[sort.lstrip("-")], reverse=descending)
    return [
        presenters.worklist_row(row.values, row.visit, statuses[row.status_order], today, labels[row.visit.kind])
        for row in itertools.islice(merged, first, stop)
    ]


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def worklist(request):
    """Visits due under conservative care: overdue, due this week, upcoming (spec §3).

    The database sorts and pages the rows; only the page shown is read."""
    today = timezone.localdate()
    until = today + datetime.timedelta(days=settings.NASOVCF_WORKLIST_AHEAD_DAYS)
    status_filter = request.GET.get("status", "")
    if status_filter not in presenters.STATUS_LABELS:
        status_filter = ""
    # Counted once and kept (like the navigation's count) until something moves the worklist.
    counts = cache.get_or_set(
        worklist_status_cache_key(today), lambda: Fracture.objects.worklist_status_counts(today, until), 60
    )
    sort = request.GET.get("sort", "due")
    if sort.lstrip("-") not in WORKLIST_SORTS:
        sort = "due"
    total = counts[status_filter] if status_filter else sum(counts.values())
    paginator = KnownCountPaginator(range(total), settings.PAGE_SIZE, total)
    page = paginator.get_page(request.GET.get("page"))
    first = (page.number - 1) * settings.PAGE_SIZE
    page.object_list = _worklist_rows(today, until, status_filter, sort, first, first + settings.PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scoring/worklist.html",
        {
            "page": page, "query": query.urlencode(), "sort": sort, "status_filter": status_filter,
            "statuses": [(status.value, label, counts[status.value]) for status, label in presenters.STATUS_LABELS.items()],
            "today": today, "until": until, "windows": visit_schedule(),
            "overdue_days": settings.NASOVCF_WORKLIST_OVERDUE_DAYS,
            "record_url": _path_with_pk("scoring:visit_create"),
        },
    )


HISTORY_PAGES = {
    "patient": (Patient, "scoring.view_patient"),
    "fracture": (Fracture, "scoring.view_fracture"),
    "visit": (Visit, "scoring.view_visit"),
}


def _history_page(request, model, pk: int):
    record = get_object_or_404(model.objects.all(), pk=pk)
    records = model.history.filter(id=pk).select_related("history_user").order_by("history_date", "history_id")
    page = Paginator(history.entries(model, records), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "scoring/history.html",
        {"record": record, "page": page, "kind": model._meta.verbose_name, "query": ""},
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


def _cohort_filter(request):
    """The filter form and its filter; None when the form is invalid (nothing is then analysed or
    exported: an export must never silently widen to everyone)."""
    from .cohort_data import CohortFilter
    from .forms import CohortFilterForm

    data = {k: v for k, v in request.GET.items() if k in ("date_from", "date_to", "level", "sex")}
    form = CohortFilterForm(data or None)
    if not form.is_bound:
        return form, CohortFilter()
    if form.is_valid():
        return form, CohortFilter(**{k: v for k, v in form.cleaned_data.items() if v})
    return form, None


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def cohort(request):
    """Does NASOVCF separate this clinic's patients as it did in the paper? (spec §5)"""
    import base64

    from . import analysis, cohort_data

    form, cohort_filter = _cohort_filter(request)
    if cohort_filter is None:
        return render(request, "scoring/cohort.html", {"form": form, "result": None}, status=400)
    frame = cohort_data.read(cohort_filter, cohort_data.ANALYSIS_COLUMNS)
    analysed = cohort_data.included(frame)
    result = analysis.analyse(analysed)
    comparison = analysis.head_to_head(analysed)
    plots = {
        name: "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        for name, svg in (("roc", analysis.roc_plot(result.aucs)), ("rates", analysis.rates_plot(result.rates)))
        if svg
    }
    return render(
        request,
        "scoring/cohort.html",
        {
            "form": form, "result": result, "plots": plots, "total": len(frame),
            "exclusions": cohort_data.exclusion_counts(frame),
            "rows": presenters.cohort_table(result), "medians": presenters.median_table(result),
            "aucs": presenters.auc_rows(result), "models": presenters.model_rows(result),
            "tests": presenters.test_rows(result),
            "agreement": presenters.agreement_rows(analysis.reader_agreement(frame[frame["exclusion"] != "archived"])),
            "head_to_head": presenters.head_to_head_rows(comparison), "head_to_head_n": comparison.n,
            "query": request.GET.urlencode(), "can_identify": request.user.has_perm("scoring.export_identified"),
        },
    )


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def cohort_export(request):
    """One row per fracture as CSV or XLSX; identified only for those allowed; every export logged."""
    from . import cohort_data, exports
    from .models import ExportLog

    identified = request.GET.get("identified") == "1"
    if identified and not request.user.has_perm("scoring.export_identified"):
        raise PermissionDenied("Identified exports need the clinician role.")
    file_format = request.GET.get("format", "csv")
    if file_format not in ("csv", "xlsx"):
        raise Http404("Unknown format.")
    form, cohort_filter = _cohort_filter(request)
    if cohort_filter is None:
        return HttpResponse("The filter is not valid: nothing exported. Correct it on the cohort page.",
                            status=400, content_type="text/plain; charset=utf-8")
    table = exports.build(cohort_data.read(cohort_filter), identified)
    ExportLog.objects.create(user=request.user, identified=identified, file_format=file_format,
                             filters=cohort_filter.as_dict(), rows=len(table))
    logger.info("export user=%s identified=%s format=%s filters=%s rows=%d", request.user.get_username(),
                identified, file_format, cohort_filter.as_dict(), len(table))
    kind = "identified" if identified else "deidentified"
    stamp = timezone.localdate().isoformat()
    if file_format == "csv":
        response = HttpResponse(exports.to_csv(table), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.to_xlsx(table, identified),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="nasovcf-{kind}-{stamp}.{file_format}"'
    return response


@requires("scoring.view_fracture")
@require_GET
def cohort_dictionary(request):
    from . import exports

    identified = request.user.has_perm("scoring.export_identified")
    response = HttpResponse(exports.to_csv(exports.dictionary(identified)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="nasovcf-data-dictionary.csv"'
    return response


@requires("scoring.view_fracture")
@require_http_methods(["GET", "POST"])
def calculator(request):
    """A quick score for a corridor consult: the same inputs and rules, nothing saved."""
    from .forms import CalculatorForm

    form = CalculatorForm(request.POST or None)
    card = carry = None
    if request.method == "POST" and form.is_valid():
        card = presenters.score_card_from_result(form.result)
        carry = form.carry_over()
    return render(request, "scoring/calculator.html", {"form": form, "card": card, "carry": carry})


def bench_floor(request):
    """The benchmark's floor: base.html for a signed-in user and nothing of ours (see urls.py)."""
    return render(request, "base.html", {"worklist_count": None})  # not even the navigation count
