"""Project middleware: sign-in required everywhere, with JSON answers for the JSON API."""

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import JsonResponse

API_PATH_PREFIX = "/api/"


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, but an API client gets 401 JSON, not a login page."""

    def handle_no_permission(self, request, view_func):
        if request.path.startswith(API_PATH_PREFIX):
            return JsonResponse(
                {"errors": {"__all__": ["Sign in first: this endpoint needs a signed-in session."]}},
                status=401,
            )
        return super().handle_no_permission(request, view_func)
