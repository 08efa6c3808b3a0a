"""The cohort review page, its exports, and the import of past patients.

The statistics stack (pandas, SciPy, statsmodels, matplotlib) is imported by these views when they
run, not when the URLs load: a worker that serves only the clinical pages never loads it.
"""

from __future__ import annotations

import base64
import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from scoring import paper
from scoring.views.base import requires

from .forms import CohortFilterForm
from .models import CohortImport, ExportLog

logger = logging.getLogger("nasovcf.views")

FILTER_FIELDS = ("date_from", "date_to", "level", "sex", "eligible")


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


def _report_context(request, cohort_filter, *, embed: bool = False) -> dict:
    """What the page and the downloadable report print: the report, formatted (cohort/presenters.py).
    The page asks for each plot by its URL; the download embeds them (it must stand alone)."""
    from django.urls import reverse

    from . import presenters, report

    validation = report.get(cohort_filter)
    sections = presenters.page(validation.numbers)
    query = request.GET.urlencode()
    for section in sections:
        name = section.get("plot", "")
        if name not in validation.plots:
            section["plot_src"] = ""
        elif embed:
            svg = report.plot(cohort_filter, name) or ""
            section["plot_src"] = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        else:
            section["plot_src"] = reverse("cohort:plot", args=[name]) + (f"?{query}" if query else "")
    return {
        "sections": sections,
        "meta": validation.numbers["meta"],
        "filter_text": presenters.filter_text(validation.numbers["meta"]["filters"]),
    }


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def cohort(request):
    """Does NASOVCF work here? The paper's every table and figure on this clinic's patients, with
    calibration and decision curves (spec §5; cohort/report.py)."""
    form, cohort_filter = _cohort_filter(request)
    context = {"form": form, "report": None, "paper_n": paper.PAPER_COHORT_SIZE}
    if cohort_filter is None:
        return render(request, "cohort/cohort.html", context, status=400)
    return render(
        request,
        "cohort/cohort.html",
        {
            **context,
            **_report_context(request, cohort_filter),
            "report": True,
            "query": request.GET.urlencode(),
            "can_identify": request.user.has_perm("scoring.export_identified"),
            "can_import": request.user.has_perms(IMPORT_PERMISSIONS),
        },
    )


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def report_json(request):
    """Every number the cohort page shows, at full precision (schema: docs/report-json.md)."""
    from . import report

    form, cohort_filter = _cohort_filter(request)
    if cohort_filter is None:
        return JsonResponse({"errors": {name: list(errors) for name, errors in form.errors.items()}}, status=400)
    numbers = report.english(report.get(cohort_filter).numbers)  # a data contract: in English whoever asks
    return JsonResponse(numbers, json_dumps_params={"allow_nan": False})


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def plot(request, name):
    """One plot of the report (SVG), drawn once per version of the data and filter."""
    from . import report

    if name not in report.PLOTS:
        raise Http404(_("No such plot."))
    _form, cohort_filter = _cohort_filter(request)
    if cohort_filter is None:
        return HttpResponse(_("The filter is not valid."), status=400, content_type="text/plain; charset=utf-8")
    svg = report.plot(cohort_filter, name)
    if svg is None:
        raise Http404(_("Nothing to draw for this plot: too few patients."))
    return HttpResponse(svg, content_type="image/svg+xml")


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def report_download(request):
    """The report as one self-contained HTML file (plots embedded, printable to PDF), stamped with
    the app's and the rules' versions, the filter and the date: for a paper's supplement."""
    _form, cohort_filter = _cohort_filter(request)
    if cohort_filter is None:
        return HttpResponse(
            _("The filter is not valid: no report. Correct it on the cohort page."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    response = render(request, "cohort/report_download.html", _report_context(request, cohort_filter, embed=True))
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="nasovcf-validation-report-{stamp}.html"'
    return response


@requires("scoring.view_fracture", "scoring.view_visit")
@require_GET
def export(request):
    """One row per fracture as CSV or XLSX; identified only for those allowed; every export logged."""
    from . import data, exports

    identified = request.GET.get("identified") == "1"
    if identified and not request.user.has_perm("scoring.export_identified"):
        raise PermissionDenied(_("Identified exports need the clinician role."))
    file_format = request.GET.get("format", "csv")
    if file_format not in ("csv", "xlsx"):
        raise Http404(_("Unknown format."))
    _form, cohort_filter = _cohort_filter(request)
    if cohort_filter is None:
        return HttpResponse(
            _("The filter is not valid: nothing exported. Correct it on the cohort page."),
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
        messages.info(request, _("This file is not waiting to be imported (already importing, imported or discarded)."))
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
        raise Http404(_("Unknown format."))
    if file_format == "csv":
        response = HttpResponse(exports.template_csv(), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.template_xlsx(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="nasovcf-import-template.{file_format}"'
    return response
