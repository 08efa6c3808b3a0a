"""`POST /api/score/`: score without saving, through the same form as the assessment page (spec §7).

The JSON layer checks only what JSON itself can get wrong (types, unknown or nested keys); every
range, choice and rule is `ScoreForm`'s, so the page and the API answer alike.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib.auth.decorators import permission_required
from django.forms.forms import NON_FIELD_ERRORS
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from . import measurements
from .forms import VHL_BOTH, VHL_COMPUTED_OUT_OF_RANGE, VHL_MISSING, ScoreForm

VHL_BOTH_MESSAGE = "Give either vhl_percent or heights_mm, not both."
VHL_MISSING_MESSAGE = "Give vhl_percent, or heights_mm with the six heights to compute it."

MAX_BODY_BYTES = 64 * 1024
REQUIRED = "This field is required."

NUMBER_FIELDS = ("vhl_percent", "kyphosis_angle_deg", "bmd_t_score")
STRING_FIELDS = ("fracture_type", "t2_signal", "level")
KNOWN_FIELDS = {*NUMBER_FIELDS, *STRING_FIELDS, "heights_mm", "age_years", "low_energy_trauma"}


class _NotJSONConstant(ValueError):
    pass


def _reject_constant(name: str):
    raise _NotJSONConstant(name)  # NaN, Infinity, -Infinity: not JSON


def _is_number(value: object) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _errors(errors: dict[str, list[str]], status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


def _read_body(body: dict) -> tuple[dict, dict[str, list[str]]]:
    """Check the JSON types and flatten `heights_mm`; give the form its data and the type errors."""
    data: dict[str, object] = {}
    errors: dict[str, list[str]] = {}
    for key in body:
        if key not in KNOWN_FIELDS:
            errors[key] = ["Unknown field."]
    for key in NUMBER_FIELDS:
        value = body.get(key)
        if value is None:
            continue
        if _is_number(value):
            data[key] = value
        else:
            errors[key] = ["Must be a JSON number."]
    for key in STRING_FIELDS:
        value = body.get(key)
        if value is None:
            continue
        if value == "":
            errors[key] = ["Must be one of the choices, or left out."]
        elif isinstance(value, str):
            data[key] = value
        else:
            errors[key] = ["Must be a JSON string."]
    age = body.get("age_years")
    if age is not None:
        if not _is_number(age) or Decimal(age) != Decimal(age).to_integral_value():
            errors["age_years"] = ["Must be a whole number of years."]
        elif Decimal(age).adjusted() > 3:
            errors["age_years"] = ["Must be at most 130."]  # checked before int(): 1e999999 is costly
        else:
            data["age_years"] = int(age)
    trauma = body.get("low_energy_trauma")
    if trauma is not None:
        if isinstance(trauma, bool):
            data["low_energy_trauma"] = trauma
        else:
            errors["low_energy_trauma"] = ["Must be true or false."]
    heights = body.get("heights_mm")
    if heights is not None:
        if not isinstance(heights, dict):
            errors["heights_mm"] = ["Must be an object with the six heights in millimetres."]
        else:
            for key in heights:
                if key not in measurements.HEIGHT_FIELDS:
                    errors[f"heights_mm.{key}"] = ["Unknown height."]
            for name in measurements.HEIGHT_FIELDS:
                value = heights.get(name)
                if value is None:
                    errors[f"heights_mm.{name}"] = [REQUIRED]
                elif _is_number(value):
                    data[f"{name}_mm"] = value
                else:
                    errors[f"heights_mm.{name}"] = ["Must be a JSON number."]
    return data, errors


def _api_key(form_field: str) -> str:
    if form_field.endswith("_mm"):
        return f"heights_mm.{form_field.removesuffix('_mm')}"
    return form_field


def _form_errors(form: ScoreForm) -> dict[str, list[str]]:
    """The form's errors under the API's field names (spec §7)."""
    errors: dict[str, list[str]] = {}
    for field, field_errors in form.errors.as_data().items():
        for error in field_errors:
            message = error.messages[0]
            if error.code == VHL_COMPUTED_OUT_OF_RANGE:
                keys = ["heights_mm"]
            elif error.code in (VHL_BOTH, VHL_MISSING):
                continue  # said from the body itself, where a mistyped value still counts as given
            elif field == NON_FIELD_ERRORS:
                keys = ["__all__"]
            else:
                keys = [_api_key(field)]
            for key in keys:
                errors.setdefault(key, []).append(message)
    return errors


def _json_value(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else value


@never_cache
@permission_required("scoring.view_fracture", raise_exception=True)
def score(request):
    if request.method != "POST":
        response = _errors({"__all__": ["Use POST with a JSON object."]}, status=405)
        response["Allow"] = "POST"
        return response
    if len(request.body) > MAX_BODY_BYTES:
        return _errors({"__all__": ["The body is too large."]}, status=413)
    try:
        body = json.loads(request.body, parse_float=Decimal, parse_constant=_reject_constant)
    except _NotJSONConstant as error:
        return _errors({"__all__": [f"{error} is not a JSON number."]})
    except (ValueError, RecursionError):  # also bad UTF-8 and over-long integers
        return _errors({"__all__": ["The body must be a JSON object."]})
    if not isinstance(body, dict):
        return _errors({"__all__": ["The body must be a JSON object."]})

    data, type_errors = _read_body(body)
    form = ScoreForm(data)
    form.is_valid()
    errors = _form_errors(form)
    for key, messages in type_errors.items():
        errors[key] = messages  # a wrong type says more than the form's "required"
    vhl_given = body.get("vhl_percent") is not None
    heights_given = body.get("heights_mm") is not None
    if vhl_given == heights_given:
        message = VHL_BOTH_MESSAGE if vhl_given else VHL_MISSING_MESSAGE
        for key in ("vhl_percent", "heights_mm"):
            errors.setdefault(key, []).insert(0, message)
    if errors:
        return _errors(errors)

    result = form.result
    return JsonResponse(
        {
            "total": result.total,
            "group": result.group.value,
            "components": {
                name: {"value": _json_value(component.value), "points": component.points}
                for name, component in result.components.items()
            },
            "warnings": result.warnings_record(),
            "rules_version": result.rules_version,
        }
    )
