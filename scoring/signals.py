"""Sign-ins, failed sign-ins and sign-outs go to the audit log (logger "nasovcf.auth"); django-axes
keeps them in the database too (AccessLog, AccessFailureLog), readable by admins in the admin.

A line names a user only by a username that is an account's (never text a client typed that
matches no account: it may be a password) and the client's validated address."""

import hashlib
import logging
import time

from axes.models import AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from nasovcf_site.accounts import PASSWORD_CHANGE, UNKNOWN_USERNAME, known_username
from nasovcf_site.middleware import SESSION_STARTED_KEY, SIGN_OUT_REASON_ATTR, client_ip, idle_session_ended

logger = logging.getLogger("nasovcf.auth")


def _address(request) -> str:
    """The client's validated address ("?" for a request made inside the process, e.g. a test's login)."""
    return (client_ip(request) if request is not None else None) or "?"


@receiver(user_logged_in)
def signed_in(sender, request, user, **kwargs):
    request.session[SESSION_STARTED_KEY] = time.time()  # the absolute session lifetime starts now
    logger.info("sign-in user=%s address=%s", user.get_username(), _address(request))


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs):
    # Only a username that is an account's: never the password, nor what was typed for a name.
    what = "password change" if sender == PASSWORD_CHANGE else "sign-in"
    username = known_username(request, credentials.get(get_user_model().USERNAME_FIELD)) or UNKNOWN_USERNAME
    logger.warning("failed %s user=%s address=%s", what, username, _address(request))


@receiver(user_logged_out)
def signed_out(sender, request, user, **kwargs):
    username, address = user.get_username() if user else "?", _address(request)
    reason = getattr(request, SIGN_OUT_REASON_ATTR, None)  # set when the server, not the user, ended it
    if reason:
        logger.info("sign-out reason=%s user=%s address=%s", reason, username, address)
    else:
        logger.info("sign-out user=%s address=%s", username, address)


@receiver(idle_session_ended)
def signed_out_idle(sender, request, user_id, session_key, expired_at, **kwargs):
    user_model = get_user_model()
    username = user_model._default_manager.filter(pk=user_id).values_list(user_model.USERNAME_FIELD, flat=True).first()
    logger.info("sign-out reason=idle user=%s address=%s", username or "?", _address(request))
    # django-axes's record of that sign-in ends when the session did (axes keys it by the session's hash).
    AccessLog.objects.filter(
        session_hash=hashlib.sha256(session_key.encode()).hexdigest(), logout_time__isnull=True
    ).update(logout_time=expired_at)
