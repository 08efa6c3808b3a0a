"""Optimistic locking: a save based on an old version of a record is refused, never applied."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from .history import changes_since, local_time


class StaleEdit(Exception):
    """Somebody saved the record after this form was opened."""


def save_versioned(instance, seen_version: int | None, user, update_fields: list[str] | None = None) -> None:
    """Save `instance` (attributed to `user`) only if the stored row is still at `seen_version`.

    The conditional UPDATE takes the row's write lock for the rest of the transaction, so of two
    saves based on the same version exactly one succeeds; the other raises StaleEdit and writes
    nothing. `update_fields` limits the save to what the form changed, leaving columns that other
    code keeps (computed outcomes) as they are in the database.
    """
    with transaction.atomic():
        if instance.pk is not None:
            bumped = (
                type(instance).objects.filter(pk=instance.pk, version=seen_version).update(version=F("version") + 1)
            )
            if not bumped:
                raise StaleEdit
            instance.version = seen_version + 1
        else:
            instance.created_by = user
        instance.updated_by = user
        if update_fields is None:
            instance.save()
        else:
            instance.save(update_fields=[*update_fields, "updated_by", "updated_at", "version"])


class VersionedForm(forms.Form):
    """A hidden field carrying the version the person started from."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def _init_version(self) -> None:
        if getattr(self.instance, "pk", None):
            self.initial["version"] = self.instance.version

    def seen_version(self) -> int | None:
        return self.cleaned_data.get("version")

    def refuse_stale(self) -> None:
        """Explain the refusal beside the form and let the person re-submit over the new version."""
        current = type(self.instance).objects.get(pk=self.instance.pk)
        seen = self.seen_version()
        found = changes_since(current, seen) if seen else None
        if found and found[0]:
            changes, who, when = found
            message = _(
                "Not saved: %(who)s changed it (%(changes)s) at %(when)s, after you opened this record. "
                "Your entries are still below: check them against that change, then save again to replace "
                "it, or leave this page to keep it."
            ) % {"who": who, "changes": changes, "when": local_time(when)}
        elif found:
            who, when = found[1], found[2]
            message = _(
                "Not saved: %(who)s saved it, with no visible change at %(when)s, after you opened this "
                "record. Your entries are still below: check them against that change, then save again to "
                "replace it, or leave this page to keep it."
            ) % {"who": who, "when": local_time(when)}
        else:
            message = _(
                "Not saved: somebody changed this record after you opened it. Your entries are still "
                "below: check them, then save again to replace that change, or leave this page to keep it."
            )
        self.add_error(None, ValidationError(message, code="stale"))
        # Re-submitting now means "I have seen it": base the next save on the current version.
        data = self.data.copy()
        data["version"] = str(current.version)
        self.data = data
