"""What every page view shares: the permission decorator, the answer to a form sent twice."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .. import services
from ..forms.films import reading_values
from ..models import FilmReading
from ..presenters import treatment_in_sentence  # noqa: F401 (the views import it from here)


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
        messages.info(request, _("This form was already saved (it was sent twice): it was saved once."))
    else:
        messages.error(
            request,
            _(
                "Not saved: this form had already been saved, and the changes made to it since were not applied. "
                "Make them on the record below (Edit)."
            ),
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


def fill_from_reading(request, form, films) -> None:
    """An edit opened by a film's "Use these values" (?reading=): the reading's values in the
    record's own fields, to check and save through the form as if typed. Only a reading of one of
    this record's films (`films`); the baseline's films for an assessment, a visit's for a visit."""
    value = request.GET.get("reading", "")
    if not value.isdigit():
        return
    reading = (
        FilmReading.objects.filter(pk=int(value), film__in=films.filter(archived_at__isnull=True))
        .select_related("film")
        .first()
    )
    if reading is None or (reading.film.visit_id is not None) != (form.instance.__class__.__name__ == "Visit"):
        return
    form.initial.update(reading_values(reading))
    form.filled_from_reading = reading
