"""Project middleware: sign-in required everywhere (JSON answers for the API), session timeouts,
no caching of pages with patient data, and the client address for the sign-in lockout."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import JsonResponse

API_PATH_PREFIX = "/api/"
SESSION_STARTED_KEY = "nasovcf_signed_in_at"
SESSION_TOUCHED_KEY = "nasovcf_touched_at"
TOUCH_EVERY_SECONDS = 60  # renew the idle timer at most once a minute: one session write, not one a request


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, but an API client gets 401 JSON, not a login page."""

    def handle_no_permission(self, request, view_func):
        if request.path.startswith(API_PATH_PREFIX):
            return JsonResponse(
                {"errors": {"__all__": ["Sign in first: this endpoint needs a signed-in session."]}},
                status=401,
            )
        return super().handle_no_permission(request, view_func)


class SessionTimeoutMiddleware:
    """Sign out after NASOVCF_IDLE_MINUTES without a request (the session cookie's age, renewed
    by activity) and after NASOVCF_SESSION_HOURS in all, whatever the activity."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            started = request.session.get(SESSION_STARTED_KEY)
            if started is None:
                request.session[SESSION_STARTED_KEY] = now
            elif now - started > settings.NASOVCF_SESSION_HOURS * 3600:
                logout(request)
            elif now - request.session.get(SESSION_TOUCHED_KEY, 0) > TOUCH_EVERY_SECONDS:
                request.session[SESSION_TOUCHED_KEY] = now  # modified: saved with a fresh expiry
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages and API answers carry patient data: no browser or proxy may keep a copy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


def client_ip(request) -> str | None:
    """The client's address for django-axes: behind our TLS proxy, the address it appended."""
    if settings.NASOVCF_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")
