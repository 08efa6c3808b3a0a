"""The public health check, the favicon, the idle timer's keep-alive, and the benchmark's floor page."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

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


@login_not_required
@require_GET
def favicon(request):
    """/favicon.ico, which browsers ask for on their own: the icon whitenoise serves (the pages name
    it too), so no page's request ends in a 404."""
    return redirect(static("favicon.ico"), permanent=True)


@require_POST
def keepalive(request):
    """Renews the idle timer when the person chooses to stay signed in (static/js/session.js)."""
    return HttpResponse(status=204)


def bench_floor(request):
    """The benchmark's floor: base.html for a signed-in user and nothing of ours (see urls.py)."""
    return render(request, "base.html", {"worklist_count": None})  # not even the navigation count
