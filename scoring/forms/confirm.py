"""What every saving form carries besides its fields: a one-time submission token (a form sent
twice saves once) and the confirmations the person has seen (a likely duplicate, a change that
moves an outcome): asked once, and confirmed by saving again."""

from __future__ import annotations

import hashlib
import uuid

from django import forms
from django.core.exceptions import ValidationError

CONFIRM_CODE = "confirm"


class ConfirmingForm(forms.Form):
    submission = forms.UUIDField(widget=forms.HiddenInput, required=False)
    # The confirmations asked on this form and seen by the person, as short keys.
    confirmed = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)

    def _init_submission(self) -> None:
        if not self.is_bound:
            self.initial["submission"] = uuid.uuid4()

    def submission_token(self) -> uuid.UUID | None:
        return self.cleaned_data.get("submission") if hasattr(self, "cleaned_data") else None

    @staticmethod
    def confirmation_key(kind: str, text: str) -> str:
        """A short key for what was asked: asked again if the question changes."""
        return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"

    def is_confirmed(self, key: str) -> bool:
        return key in str(self.data.get("confirmed", "")).split()

    def ask_to_confirm(self, key: str, message: str) -> None:
        """Refuse this save with `message`, and let the next save of the same form confirm it."""
        self.add_error(None, ValidationError(message, code=CONFIRM_CODE))
        seen = str(self.data.get("confirmed", "")).split()
        data = self.data.copy()
        data["confirmed"] = " ".join([*seen, key])[-500:]
        self.data = data

    @property
    def asks_confirmation(self) -> bool:
        """Whether the only thing between this form and a save is a confirmation."""
        codes = {error.code for errors in self.errors.as_data().values() for error in errors}
        return codes == {CONFIRM_CODE}
