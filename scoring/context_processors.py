"""Values every page's navigation shows."""

from django.conf import settings
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from nasovcf_site.middleware import SESSION_STARTED_KEY

from . import selectors


def worklist(request):
    """The number of visits overdue or due this week; one query, only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"idle_minutes": settings.NASOVCF_IDLE_MINUTES}
    context = {"idle_seconds": settings.NASOVCF_IDLE_MINUTES * 60}
    started = request.session.get(SESSION_STARTED_KEY)
    if started:
        # When the absolute lifetime ends, so the page can warn before that sign-out too.
        context["session_ends_at"] = int(started + settings.NASOVCF_SESSION_HOURS * 3600)
    if user.has_perm("scoring.view_fracture"):
        context["worklist_count"] = SimpleLazyObject(lambda: selectors.worklist_count(timezone.localdate()))
    return context
