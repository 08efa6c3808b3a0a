"""What every page view shares: the permission decorator, the answer to a form sent twice."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect

from .. import services


def requires(*permissions: str):
    """Refuse with 403 unless the user has every permission; the URL-walking tests read
    `view.required_permissions` to know which pages write."""

    def decorate(view):
        checked = permission_required(permissions, raise_exception=True)(view)

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return checked(request, *args, **kwargs)

        wrapper.required_permissions = permissions
        return wrapper

    return decorate


def already_saved(request, url: str, fallback):
    """The answer to a form sent a second time (a double-click, a resent request): nothing is saved
    again; go where the first submission went."""
    messages.info(request, "This form was already saved (it was sent twice): it was saved once.")
    return redirect(url or fallback)


def sent_before(request, fallback):
    """For a POST of a form this user saved before (its one-time token is recorded), the answer
    `already_saved` gives; else None. Checked before the form is validated: a second click must
    not be told that what its first click saved already exists."""
    if request.method != "POST":
        return None
    first = services.submitted_before(request.POST.get("submission"), request.user)
    return None if first is None else already_saved(request, first, fallback)
