"""Sign-in and password change: Django's views, with the sign-in lockout (django-axes) counting wrong
current passwords on the password-change page too, and the usernames tried kept only when they
name an account."""

from urllib.parse import unquote, urlsplit

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib.auth import get_user_model, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.utils.crypto import salted_hmac

from .middleware import SIGN_OUT_REASON_ATTR, client_ip

# The `sender` of user_login_failed for a wrong current password on the password-change page.
PASSWORD_CHANGE = "nasovcf_site.accounts.password_change"
UNKNOWN_USERNAME = "(unknown)"
# Enough to keep one mistyped name's failures apart from another's, too little to recover the text
# (which may be a password typed into the wrong box).
UNKNOWN_TAG_HEX_DIGITS = 4
_KNOWN_CACHE_ATTR = "nasovcf_known_usernames"


def known_username(request, typed) -> str | None:
    """`typed` if an account has exactly that username, else None (the answer kept per request)."""
    if not isinstance(typed, str) or not typed:
        return None
    user_model = get_user_model()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    if "\x00" in typed or (field.max_length and len(typed) > field.max_length):
        return None  # no account can have it: no query
    cache = {} if request is None else request.__dict__.setdefault(_KNOWN_CACHE_ATTR, {})
    if typed not in cache:
        cache[typed] = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: typed}).exists()
    return typed if cache[typed] else None


def axes_username(request, credentials=None) -> str | None:
    """The username django-axes records and locks (AXES_USERNAME_CALLABLE): the name tried if it is an
    account's, else "unknown-" and a short keyed tag of it, never its text."""
    field = get_user_model().USERNAME_FIELD
    typed = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    if typed is None or known_username(request, typed):
        return typed
    tag = salted_hmac("nasovcf.accounts.unknown-username", str(typed)).hexdigest()[:UNKNOWN_TAG_HEX_DIGITS]
    return f"unknown-{tag}"


class SignInView(auth_views.LoginView):
    """Django's sign-in; a signed-in user is sent on, and a `next` naming this page is ignored (Django
    would raise its redirect-loop error, a 500)."""

    redirect_authenticated_user = True

    def get_redirect_url(self):
        url = super().get_redirect_url()
        if url and unquote(urlsplit(url).path).rstrip("/") == self.request.path.rstrip("/"):
            return ""
        return url


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, where a wrong current password counts as a failed sign-in: after
    AXES_FAILURE_LIMIT of them the username is locked from this address and the session ends, so
    an unattended session cannot be used to guess the password (or kept alive doing so)."""

    def post(self, request, *args, **kwargs):
        if not AxesProxyHandler.is_allowed(request, self.credentials()):
            return self.locked_out()  # locked already (from the sign-in page or another session)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error("old_password", "password_incorrect"):
            user_login_failed.send(sender=PASSWORD_CHANGE, credentials=self.credentials(), request=self.request)
            if getattr(self.request, "axes_locked_out", False):
                return self.locked_out()
        return super().form_invalid(form)

    def form_valid(self, form):
        # The right current password, like a successful sign-in (AXES_RESET_ON_SUCCESS), clears the count.
        AxesProxyHandler.reset_attempts(username=self.request.user.get_username(), ip_address=client_ip(self.request))
        return super().form_valid(form)

    def credentials(self) -> dict:
        return {get_user_model().USERNAME_FIELD: self.request.user.get_username()}

    def locked_out(self):
        credentials = self.credentials()
        setattr(self.request, SIGN_OUT_REASON_ATTR, "lockout")
        logout(self.request)
        return get_lockout_response(self.request, credentials=credentials)
