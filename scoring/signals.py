"""Sign-ins, failed sign-ins and sign-outs go to the audit log (logger "nasovcf.auth"); django-axes
keeps them in the database too (AccessLog, AccessFailureLog), readable by admins in the admin."""

import logging
import time

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from nasovcf_site.middleware import SESSION_STARTED_KEY, client_ip

logger = logging.getLogger("nasovcf.auth")


@receiver(user_logged_in)
def signed_in(sender, request, user, **kwargs):
    request.session[SESSION_STARTED_KEY] = time.time()  # the absolute session lifetime starts now
    logger.info("sign-in user=%s address=%s", user.get_username(), client_ip(request))


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs):
    # Only the username tried: never the password.
    logger.warning(
        "failed sign-in user=%s address=%s", credentials.get("username", "?"), client_ip(request) if request else "?"
    )


@receiver(user_logged_out)
def signed_out(sender, request, user, **kwargs):
    logger.info("sign-out user=%s address=%s", user.get_username() if user else "?", client_ip(request))
