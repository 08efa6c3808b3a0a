"""`POST /api/score/`: score without saving, through the same form as the assessment page (spec §7);
`POST /api/odi/`: the ODI of the sections answered so far, for the forms' running ODI;
`POST /api/measure/`: twelve corners on the lateral film → heights, VHL, kyphosis angle, Genant (spec §9).

The JSON layer checks only what JSON itself can get wrong (types, unknown or nested keys); every
range, choice and rule is the forms' (`ScoreForm`, `OdiFields`), so the page and the API answer alike;
for measuring, the ranges and the plausibility of the outlines are `radiograph.measure`'s.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib.auth.decorators import permission_required
from django.forms.forms import NON_FIELD_ERRORS
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from nasovcf_site.i18n import words

from . import measurements, presenters, radiograph, rules
from .forms import VHL_BOTH, VHL_COMPUTED_OUT_OF_RANGE, VHL_MISSING, ScoreForm
from .forms.films import measure_body_errors
from .forms.readings import ODI_SECTION_FIELDS, OdiFields

# The human messages follow the request's language (LocaleMiddleware); the keys never change.
VHL_BOTH_MESSAGE = gettext_lazy(
    "Give either the VHL percentage (vhl_percent) or the six heights (heights_mm), not both."
)
VHL_MISSING_MESSAGE = gettext_lazy(
    "Give the VHL percentage (vhl_percent), or the six heights (heights_mm) to compute it."
)

MAX_BODY_BYTES = 64 * 1024
REQUIRED = gettext_lazy("This field is required.")

# Beyond spec §7's fields, optional: a second reader's VHL (or heights) and angle, whose mean with
# the first reader's is then scored (spec §2), as the assessment page saves it.
NUMBER_FIELDS = ("vhl_percent", "kyphosis_angle_deg", "bmd_t_score", "second_vhl_percent", "second_kyphosis_angle_deg")
STRING_FIELDS = ("fracture_type", "t2_signal", "level")
HEIGHT_OBJECTS = {"heights_mm": "", "second_heights_mm": "second_"}  # the object → the form's field prefix
KNOWN_FIELDS = {*NUMBER_FIELDS, *STRING_FIELDS, *HEIGHT_OBJECTS, "age_years", "low_energy_trauma"}


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
            errors[key] = [_("Unknown field.")]
    for key in NUMBER_FIELDS:
        value = body.get(key)
        if value is None:
            continue
        if _is_number(value):
            data[key] = value
        else:
            errors[key] = [_("Must be a JSON number.")]
    for key in STRING_FIELDS:
        value = body.get(key)
        if value is None:
            continue
        if value == "":
            errors[key] = [_("Must be one of the choices, or left out.")]
        elif isinstance(value, str):
            data[key] = value
        else:
            errors[key] = [_("Must be a JSON string.")]
    age = body.get("age_years")
    if age is not None:
        if not _is_number(age) or Decimal(age) != Decimal(age).to_integral_value():
            errors["age_years"] = [_("Must be a whole number of years.")]
        elif Decimal(age).adjusted() > 3:
            errors["age_years"] = [_("Must be at most 130.")]  # checked before int(): 1e999999 is costly
        else:
            data["age_years"] = int(age)
    trauma = body.get("low_energy_trauma")
    if trauma is not None:
        if isinstance(trauma, bool):
            data["low_energy_trauma"] = trauma
        else:
            errors["low_energy_trauma"] = [_("Must be true or false.")]
    for key, prefix in HEIGHT_OBJECTS.items():
        heights = body.get(key)
        if heights is None:
            continue
        if not isinstance(heights, dict):
            errors[key] = [_("Must be an object with the six heights in millimetres.")]
            continue
        for name in heights:
            if name not in measurements.HEIGHT_FIELDS:
                errors[f"{key}.{name}"] = [_("Unknown height.")]
        for name in measurements.HEIGHT_FIELDS:
            value = heights.get(name)
            if value is None:
                errors[f"{key}.{name}"] = [str(REQUIRED)]
            elif _is_number(value):
                data[f"{prefix}{name}_mm"] = value
            else:
                errors[f"{key}.{name}"] = [_("Must be a JSON number.")]
    return data, errors


def _api_key(form_field: str) -> str:
    """The API's name of a form field: "second_cranial_anterior_mm" → "second_heights_mm.cranial_anterior"."""
    if form_field.endswith("_mm"):
        prefix = "second_" if form_field.startswith("second_") else ""
        return f"{prefix}heights_mm.{form_field.removeprefix(prefix).removesuffix('_mm')}"
    return form_field


def _form_errors(form: ScoreForm) -> dict[str, list[str]]:
    """The form's errors under the API's field names (spec §7)."""
    errors: dict[str, list[str]] = {}
    for field, field_errors in form.errors.as_data().items():
        for error in field_errors:
            message = error.messages[0]
            second = field.startswith("second_")
            if error.code == VHL_COMPUTED_OUT_OF_RANGE:
                keys = ["second_heights_mm" if second else "heights_mm"]
            elif error.code in (VHL_BOTH, VHL_MISSING) and not second:
                continue  # said from the body itself, where a mistyped value still counts as given
            elif field == NON_FIELD_ERRORS:
                keys = ["__all__"]
            else:
                keys = [_api_key(field)]
            for key in keys:
                errors.setdefault(key, []).append(message)
    return errors


def _json_value(value: object) -> object:
    """A Decimal as a JSON number; a zero is 0.0, never −0.0 (a VHL of −0.04 is recorded as 0.0)."""
    if isinstance(value, Decimal):
        return 0.0 if value.is_zero() else float(value)
    return value


# The fracture type and the T2 signal as the live result's first words write them.
FRACTURE_TYPE_DISPLAY = {
    "compression": gettext_lazy("Compression fracture"),
    "burst": gettext_lazy("Burst fracture"),
}
T2_SIGNAL_DISPLAY = {
    "diffuse_low": gettext_lazy("Diffuse low signal"),
    "confined_low": gettext_lazy("Confined low signal"),
    "diffuse_high": gettext_lazy("Diffuse high signal"),
    "confined_high": gettext_lazy("Confined high signal"),
}


def _component_display(name: str, component: rules.Component) -> str:
    """The item in words with its unit and category, as the live result prints it: "26.9 % (≥ 15 %)",
    "Burst fracture", "Confined low signal (not diffuse low)", "−3.6 (T ≤ −3.5)"."""
    if name == "fracture_type":
        return str(FRACTURE_TYPE_DISPLAY[str(component.value)])
    if name == "t2_signal":
        value = str(component.value)
        signal = T2_SIGNAL_DISPLAY[value]
        if component.category == rules.T2Signal(value).label:
            return str(signal)
        shown = signal
    else:
        shown = presenters.display_value(name, component.value)
    return _("%(value)s (%(category)s)") % {"value": shown, "category": words(component.category)}


def _component(name: str, component: rules.Component) -> dict[str, object]:
    """One item of the answer: spec §7's `value` and `points`, with its `label`, `category` and
    `display` in words added (additive keys: a client reading only the contract's keys is unaffected)."""
    return {
        "value": _json_value(component.value),
        "points": component.points,
        "label": str(presenters.COMPONENT_LABELS[name]),
        "category": words(component.category),
        "display": _component_display(name, component),
    }


def _json_body(request) -> tuple[object, JsonResponse | None]:
    """The request's JSON body, or the error answer: POST only, at most 64 KiB, JSON numbers only."""
    if request.method != "POST":
        response = _errors({"__all__": [_("Use POST with a JSON object.")]}, status=405)
        response["Allow"] = "POST"
        return None, response
    if len(request.body) > MAX_BODY_BYTES:
        return None, _errors({"__all__": [_("The body is too large.")]}, status=413)
    try:
        body = json.loads(request.body, parse_float=Decimal, parse_constant=_reject_constant)
    except _NotJSONConstant as error:
        return None, _errors({"__all__": [_("%(value)s is not a JSON number.") % {"value": error}]})
    except (ValueError, RecursionError):  # also bad UTF-8 and over-long integers
        return None, _errors({"__all__": [_("The body must be a JSON object.")]})
    if not isinstance(body, dict):
        return None, _errors({"__all__": [_("The body must be a JSON object.")]})
    return body, None


@never_cache
@permission_required("scoring.view_fracture", raise_exception=True)
def score(request):
    body, refusal = _json_body(request)
    if refusal is not None:
        return refusal
    assert isinstance(body, dict)

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
            "components": {name: _component(name, component) for name, component in result.components.items()},
            # Spec §6's code and message; the message in the request's language.
            "warnings": [
                {"code": warning["code"], "message": presenters.warning_text(warning)}
                for warning in result.warnings_record()
            ],
            "rules_version": result.rules_version,
        }
    )


class _OdiForm(OdiFields):
    """The ten sections alone, validated as the assessment and visit forms validate them."""

    def clean(self):
        cleaned = super().clean()
        self._resolve_odi(cleaned)
        return cleaned


def _odi_sections_shape() -> str:
    return _("Must be a list of %(n)s answers, each a whole number 0–5 or null.") % {"n": len(ODI_SECTION_FIELDS)}


def _odi_section_data(sections: list) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The form's data from the JSON list; a wrong JSON type is named by its index (sections.0 …)."""
    data: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for index, (name, answer) in enumerate(zip(ODI_SECTION_FIELDS, sections, strict=True)):
        if answer is None:
            continue
        if isinstance(answer, int) and not isinstance(answer, bool):
            data[name] = str(answer)
        else:
            errors[f"sections.{index}"] = [_("Must be a whole number 0–5 or null.")]
    return data, errors


@never_cache
@permission_required("scoring.view_fracture", raise_exception=True)
def odi(request):
    """`{"sections": [10 answers, each 0–5 or null]}` → `{"odi_percent": 42.0, "answered": 6}`: the
    forms' running ODI (spec §2's formula, `measurements.odi_from_sections`); `odi_percent` is null
    while no section is answered. Errors as `/api/score/` gives them."""
    body, refusal = _json_body(request)
    if refusal is not None:
        return refusal
    assert isinstance(body, dict)
    unknown = {key: [_("Unknown field.")] for key in body if key != "sections"}
    sections = body.get("sections")
    if not isinstance(sections, list) or len(sections) != len(ODI_SECTION_FIELDS):
        return _errors({**unknown, "sections": [_odi_sections_shape()]})
    data, errors = _odi_section_data(sections)
    form = _OdiForm(data)
    if not form.is_valid():
        for field, messages in form.errors.items():
            if field in ODI_SECTION_FIELDS:
                errors[f"sections.{ODI_SECTION_FIELDS.index(field)}"] = list(messages)
            else:
                errors.setdefault("sections", []).extend(messages)
    if errors or unknown:
        return _errors({**unknown, **errors})
    answered = sum(answer is not None for answer in form.odi_sections or ())
    return JsonResponse({"odi_percent": _json_value(form.cleaned_data.get("odi_percent")), "answered": answered})


@never_cache
@permission_required("scoring.view_fracture", raise_exception=True)
def measure(request):
    """Twelve corners (and an optional pixel spacing) → the six heights, VHL, kyphosis angle and
    Genant grade, by `radiograph.measure`, the computation the measuring page uses; saves nothing
    (spec §9, The measuring API). Errors as `/api/score/` gives them, under each field's path."""
    body, refusal = _json_body(request)
    if refusal is not None:
        return refusal
    assert isinstance(body, dict)
    errors = measure_body_errors(body)
    if errors:
        return _errors(errors)
    try:
        result = radiograph.measure(body["points"], body.get("pixel_spacing_mm"))
    except radiograph.ImplausibleMeasurement as error:
        found: dict[str, list[str]] = {}
        for problem in error.problems:
            found.setdefault(problem.path, []).append(presenters.problem_text(problem))
        return _errors(found)
    heights = {"unit": result.unit}
    heights.update({name: _json_value(getattr(result.heights, name)) for name in measurements.HEIGHT_FIELDS})
    return JsonResponse(
        {
            "heights": heights,
            "vhl_percent": _json_value(result.vhl_percent),
            "kyphosis_angle_deg": _json_value(result.kyphosis_angle_deg),
            "genant": {
                "grade": result.genant.grade,
                "anterior_reduction_percent": _json_value(result.genant.anterior_reduction_percent),
                "posterior_reduction_percent": _json_value(result.genant.posterior_reduction_percent),
            },
        }
    )
