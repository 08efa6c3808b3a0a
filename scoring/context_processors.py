"""Values every page's navigation shows."""

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from .models import Fracture


def worklist(request):
    """The number of visits overdue or due this week; one query, only when a page shows it."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"worklist_count": SimpleLazyObject(lambda: Fracture.objects.worklist_count(timezone.localdate()))}
