"""Project middleware: the client address (refused when it cannot be trusted), sign-in required
everywhere (JSON answers for the API), session timeouts, no caching of pages with patient data."""

import ipaddress
import logging
import re
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.dispatch import Signal
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

API_PATH_PREFIX = "/api/"
SESSION_STARTED_KEY = "nasovcf_signed_in_at"
SESSION_TOUCHED_KEY = "nasovcf_touched_at"
TOUCH_EVERY_SECONDS = 60  # renew the idle timer at most once a minute: one session write, not one a request
# Why a session ended, when the server ended it ("lifetime", "lockout"): read by the sign-out log line.
SIGN_OUT_REASON_ATTR = "nasovcf_sign_out_reason"
CLIENT_IP_ATTR = "nasovcf_client_ip"
# Django's session keys are lower-case letters and digits (SessionBase._get_new_session_key).
SESSION_KEY_SHAPE = re.compile(r"[a-z0-9]{8,40}")

logger = logging.getLogger("nasovcf.auth")

# Sent when a request arrives with the cookie of a session that expired for want of activity
# (Django has already treated it as signed out): request, user_id, session_key, expired_at.
idle_session_ended = Signal()


def _parse_ip(value: str) -> str | None:
    """The address in its canonical form, or None when `value` is not an IP address."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # A zone ("fe80::1%eth0") is local to the machine, and PostgreSQL's inet type refuses it.
    return str(address).partition("%")[0]


def _find_client_ip(request) -> str | None:
    """The client's address as NASOVCF_TRUSTED_PROXIES says to read it, or None if it is unusable.

    With no trusted proxy the client is the socket's peer and X-Forwarded-For is ignored: anyone
    can write that header. With N proxies, each appended the address it received the request from,
    so the N-th entry from the right is the one the outermost trusted proxy wrote; entries left of
    it are the client's own claims.
    """
    proxies = settings.NASOVCF_TRUSTED_PROXIES
    if proxies == 0:
        return _parse_ip(request.META.get("REMOTE_ADDR") or "")
    entries = (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")
    if len(entries) < proxies:
        return None
    return _parse_ip(entries[-proxies])


def client_ip(request) -> str | None:
    """The client's validated address, for django-axes (AXES_CLIENT_IP_CALLABLE) and the audit log;
    None when there is none (ClientAddressMiddleware refuses such a request before any view runs,
    so only a request made inside the process, such as the test client's force_login, has none)."""
    if not hasattr(request, CLIENT_IP_ATTR):
        setattr(request, CLIENT_IP_ATTR, _find_client_ip(request))
    return getattr(request, CLIENT_IP_ATTR)


class ClientAddressMiddleware:
    """Refuse (400) a request whose client address cannot be established, before it reaches the
    session, the sign-in or its lockout: the lockout counts failures per address, so an address the
    client chose would let it guess without limit. The health check is exempt (it uses no address,
    and monitors may call gunicorn directly)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if client_ip(request) is None and request.path != reverse("healthz"):
            logger.warning(
                "refused a request: its client address is missing or not an IP address (NASOVCF_TRUSTED_PROXIES=%d)",
                settings.NASOVCF_TRUSTED_PROXIES,
            )
            return self.refusal(request)
        return self.get_response(request)

    @staticmethod
    def refusal(request):
        # Above LocaleMiddleware: in the language the request asks for (its cookie, else its
        # Accept-Language), not in whatever language this thread's previous request left active.
        with translation.override(translation.get_language_from_request(request)):
            if request.path.startswith(API_PATH_PREFIX):
                message = gettext("Refused: the server could not tell which address this request came from.")
                return JsonResponse({"errors": {"__all__": [message]}}, status=400)
            return render(request, "registration/address_refused.html", status=400)


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, but an API client gets 401 JSON, not a login page."""

    def handle_no_permission(self, request, view_func):
        if request.path.startswith(API_PATH_PREFIX):
            return JsonResponse(
                {"errors": {"__all__": [gettext("Sign in first: this endpoint needs a signed-in session.")]}},
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
                setattr(request, SIGN_OUT_REASON_ATTR, "lifetime")
                logout(request)
            elif now - request.session.get(SESSION_TOUCHED_KEY, 0) > TOUCH_EVERY_SECONDS:
                request.session[SESSION_TOUCHED_KEY] = now  # modified: saved with a fresh expiry
        elif user is not None and settings.SESSION_COOKIE_NAME in request.COOKIES:
            self.report_idle_expiry(request)
        return self.get_response(request)

    @staticmethod
    def report_idle_expiry(request):
        """A session cookie whose session is gone: if the session expired unused (the idle limit),
        announce that sign-out once, and remove the expired row it was read from."""
        key = request.COOKIES[settings.SESSION_COOKIE_NAME]
        model = getattr(request.session, "model", None)  # the database-backed session engines
        if request.session.session_key is not None or model is None or not SESSION_KEY_SHAPE.fullmatch(key):
            return  # a live (anonymous) session, a cookie-only engine, or not one of our keys
        expired = model.objects.filter(session_key=key, expire_date__lte=timezone.now()).first()
        if expired is None:
            return  # signed out by hand (the row was deleted), or never ours
        user_id = request.session.decode(expired.session_data).get(SESSION_KEY)
        # Only the request that removes the row reports it: two tabs arriving at once log one line.
        removed, _ = model.objects.filter(session_key=key).delete()
        if removed and user_id is not None:
            idle_session_ended.send(
                sender=SessionTimeoutMiddleware,
                request=request,
                user_id=user_id,
                session_key=key,
                expired_at=expired.expire_date,
            )


class NoStoreMiddleware:
    """Pages and API answers carry patient data: no browser or proxy may keep a copy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response
