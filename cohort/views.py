"""The cohort review page, its exports, and the import of past patients.

The statistics stack (pandas, SciPy, statsmodels, matplotlib) is imported by these views when they
run, not when the URLs load: a worker that serves only the clinical pages never loads it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from scoring import paper
from scoring.views.base import requires

from .forms import CohortFilterForm
from .models import CohortImport, ExportLog

logger = logging.getLogger("nasovcf.views")

FILTER_FIELDS = ("date_from", "date_to", "level", "sex")


def _cohort_filter(request):
    """The filter form and its filter; None when the form is invalid (nothing is then analysed or
    exported: an export must never silently widen to everyone)."""
    from .data import CohortFilter

    params = {k: v for k, v in request.GET.items() if k in FILTER_FIELDS}
    form = CohortFilterForm(params or None)
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

    from scoring.presenters import GROUP_LABELS

    from . import analysis, data, presenters

    form, cohort_filter = _cohort_filter(request)
    context = {"form": form, "result": None, "paper_n": paper.PAPER_COHORT_SIZE}
    if cohort_filter is None:
        return render(request, "cohort/cohort.html", context, status=400)
    frame = data.read(cohort_filter, data.ANALYSIS_COLUMNS)
    analysed = data.included(frame)
    result = analysis.analyse(analysed)
    comparison = analysis.head_to_head(analysed)
    drawn = (
        ("roc", analysis.roc_plot(result.aucs)),
        ("rates", analysis.rates_plot(result.rates, group_labels=GROUP_LABELS)),
    )
    plots = {name: "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode() for name, svg in drawn if svg}
    return render(
        request,
        "cohort/cohort.html",
        {
            **context,
            "result": result,
            "plots": plots,
            "total": len(frame),
            "exclusions": data.exclusion_counts(frame),
            "rows": presenters.cohort_table(result),
            "medians": presenters.median_table(result),
            "aucs": presenters.auc_rows(result),
            "models": presenters.model_rows(result),
            "tests": presenters.test_rows(result),
            "agreement": presenters.agreement_rows(analysis.reader_agreement(frame[frame["exclusion"] != "archived"])),
            "head_to_head": presenters.head_to_head_rows(comparison),
            "head_to_head_n": comparison.n,
            "query": request.GET.urlencode(),
            "can_identify": request.user.has_perm("scoring.export_identified"),
            "can_import": request.user.has_perms(IMPORT_PERMISSIONS),
        },
    )


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def export(request):
    """One row per fracture as CSV or XLSX; identified only for those allowed; every export logged."""
    from . import data, exports

    identified = request.GET.get("identified") == "1"
    if identified and not request.user.has_perm("scoring.export_identified"):
        raise PermissionDenied("Identified exports need the clinician role.")
    file_format = request.GET.get("format", "csv")
    if file_format not in ("csv", "xlsx"):
        raise Http404("Unknown format.")
    _, cohort_filter = _cohort_filter(request)
    if cohort_filter is None:
        return HttpResponse(
            "The filter is not valid: nothing exported. Correct it on the cohort page.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    table = exports.build(data.read(cohort_filter), identified)
    ExportLog.objects.create(
        user=request.user,
        identified=identified,
        file_format=file_format,
        filters=cohort_filter.as_dict(),
        rows=len(table),
    )
    logger.info(
        "export user=%s identified=%s format=%s filters=%s rows=%d",
        request.user.get_username(),
        identified,
        file_format,
        cohort_filter.as_dict(),
        len(table),
    )
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
def dictionary(request):
    """What every column of the exports means, for the columns this user may export."""
    from . import exports

    identified = request.user.has_perm("scoring.export_identified")
    response = HttpResponse(exports.to_csv(exports.dictionary(identified)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="nasovcf-data-dictionary.csv"'
    return response


# -- importing past patients -------------------------------------------------------------------------

# Importing writes patients, assessments and visits: the clinician's permissions, all of them.
IMPORT_PERMISSIONS = (
    "scoring.add_patient",
    "scoring.change_patient",
    "scoring.add_fracture",
    "scoring.change_fracture",
    "scoring.add_visit",
    "scoring.change_visit",
)


@requires(*IMPORT_PERMISSIONS)
@require_http_methods(["GET", "POST"])
def import_start(request):
    """Upload a table of past patients; the recent imports."""
    from . import services
    from .forms import ImportUploadForm

    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = services.start_import(file=form.cleaned_data["file"], user=request.user)
        logger.info("import uploaded id=%s user=%s bytes=%d", upload.pk, request.user.get_username(), upload.size_bytes)
        return redirect(upload)
    recent = CohortImport.objects.select_related("created_by")[:20]
    return render(
        request,
        "cohort/import.html",
        {"form": form, "recent": recent, "limit_mb": settings.NASOVCF_IMPORT_MAX_MB},
        status=400 if form.errors else 200,
    )


def _upload(pk) -> CohortImport:
    return get_object_or_404(CohortImport.objects.select_related("created_by", "imported_by"), pk=pk)


@requires(*IMPORT_PERMISSIONS)
@require_GET
def import_detail(request, pk):
    """An import's progress, its preview (with every problem and difference), or its result."""
    from . import importing
    from .importing import Report

    upload = _upload(pk)
    report = Report.from_dict(upload.report) if upload.report else None
    result = Report.from_dict(upload.result) if upload.result else None
    return render(
        request,
        "cohort/import_detail.html",
        {
            "upload": upload,
            "report": report,
            "result": result,
            "summary": importing.summary(report) if report else "",
            "result_summary": importing.summary(result, done=True) if result else "",
        },
    )


@requires(*IMPORT_PERMISSIONS)
@require_GET
def import_progress(request, pk):
    """The progress the page's bar shows while the background work runs."""
    upload = _upload(pk)
    return JsonResponse(
        {
            "status": upload.status,
            "working": upload.working,
            "done": upload.done_rows,
            "total": upload.total_rows,
            "percent": upload.percent,
        }
    )


@requires(*IMPORT_PERMISSIONS)
@require_POST
def import_confirm(request, pk):
    from . import services

    upload = _upload(pk)
    if services.confirm_import(upload=upload, user=request.user):
        logger.info("import confirmed id=%s user=%s", upload.pk, request.user.get_username())
    else:
        messages.info(request, "This file is not waiting to be imported (already importing, imported or discarded).")
    return redirect(upload)


@requires(*IMPORT_PERMISSIONS)
@require_POST
def import_discard(request, pk):
    from . import services

    upload = _upload(pk)
    services.discard_import(upload=upload)
    return redirect("cohort:import")


@requires(*IMPORT_PERMISSIONS)
@require_GET
def import_template(request, file_format):
    """The import template: the identified export's columns, two worked cases (spec §6) and, in
    the workbook, the data dictionary."""
    from . import exports

    if file_format not in ("csv", "xlsx"):
        raise Http404("Unknown format.")
    if file_format == "csv":
        response = HttpResponse(exports.template_csv(), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.template_xlsx(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="nasovcf-import-template.{file_format}"'
    return response
