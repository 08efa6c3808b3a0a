"""Error pages: JSON under /api/, the site's own HTML pages elsewhere (never Django's debug text)."""

from django.http import JsonResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

from .middleware import API_PATH_PREFIX

MESSAGES = {
    400: _("Bad request."),
    403: _("You do not have permission to do that."),
    404: _("Not found."),
    500: _("Something went wrong on our side. Nothing was saved."),
}


def _json(status: int, message: str | None = None) -> JsonResponse:
    return JsonResponse({"errors": {"__all__": [str(message or MESSAGES[status])]}}, status=status)


def _is_api(request) -> bool:
    return request.path.startswith(API_PATH_PREFIX)


def bad_request(request, exception):
    return _json(400) if _is_api(request) else defaults.bad_request(request, exception)


def permission_denied(request, exception):
    return _json(403) if _is_api(request) else defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    return _json(404) if _is_api(request) else defaults.page_not_found(request, exception)


def server_error(request):
    return _json(500) if _is_api(request) else defaults.server_error(request)


def csrf_failure(request, reason=""):
    if _is_api(request):
        return _json(403, gettext("CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header."))
    return django_csrf_failure(request, reason=reason, template_name="403_csrf.html")
