"""The cohort review page and its exports."""


from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import presenters

logger = logging.getLogger("nasovcf.views")


from .base import requires


def _cohort_filter(request):
    """The filter form and its filter; None when the form is invalid (nothing is then analysed or
    exported: an export must never silently widen to everyone)."""
    from ..cohort_data import CohortFilter
    from ..forms import CohortFilterForm

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

    from .. import analysis, cohort_data

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
    from .. import cohort_data, exports
    from ..models import ExportLog

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
    from .. import exports

    identified = request.user.has_perm("scoring.export_identified")
    response = HttpResponse(exports.to_csv(exports.dictionary(identified)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="nasovcf-data-dictionary.csv"'
    return response


