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


def already_saved(request, url: str, fallback, *, same_data: bool = True):
    """The answer to a form sent a second time: nothing is saved again; go where the first
    submission went. Sent again with other values (the browser's Back button, a change, Save):
    say that those changes were not applied."""
    if same_data:
        messages.info(request, "This form was already saved (it was sent twice): it was saved once.")
    else:
        messages.error(
            request,
            "Not saved: this form had already been saved, and the changes made to it since were not applied. "
            "Make them on the record below (Edit).",
        )
    return redirect(url or fallback)


def sent_before(request, fallback):
    """For a POST of a form this user saved before (its one-time token is recorded), the answer
    `already_saved` gives; else None. Checked before the form is validated, and again when it
    fails: a second click must not be told that what its first click saved already exists."""
    if request.method != "POST":
        return None
    first = services.submitted_before(request.POST.get("submission"), request.user, request.POST)
    return None if first is None else already_saved(request, first.url, fallback, same_data=first.same_data)
