"""The quick calculator: a score with nothing saved."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from .. import presenters
from ..forms import CalculatorForm
from .base import requires


@requires("scoring.view_fracture")
@require_http_methods(["GET", "POST"])
def calculator(request):
    """A quick score for a corridor consult: the same inputs and rules, nothing saved."""
    form = CalculatorForm(request.POST or None)
    card = carry = None
    if request.method == "POST" and form.is_valid():
        card = presenters.score_card_from_result(form.result)
        carry = form.carry_over()
    return render(request, "scoring/calculator.html", {"form": form, "card": card, "carry": carry})
