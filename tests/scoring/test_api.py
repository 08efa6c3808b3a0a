"""`POST /api/score/`, exactly as spec §7 writes it."""

import json

import pytest

from scoring import rules
from scoring.models import Fracture, Patient

URL = "/api/score/"

SECOND_CASE = {
    "fracture_type": "compression",
    "vhl_percent": 17.8,
    "kyphosis_angle_deg": 19.6,
    "t2_signal": "diffuse_low",
    "bmd_t_score": -3.6,
    "age_years": 71,
    "level": "T11",
    "low_energy_trauma": True,
}
HEIGHTS = {
    "fractured_anterior": 20,
    "fractured_posterior": 30,
    "cranial_anterior": 30,
    "cranial_posterior": 30,
    "caudal_anterior": 30,
    "caudal_posterior": 30,
}

pytestmark = pytest.mark.django_db


def post(client, body, **kwargs):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **kwargs)


def without(body, *keys):
    return {k: v for k, v in body.items() if k not in keys}


def contract(answer):
    """The answer as spec §7 writes it: each component's `value` and `points` (the `label`,
    `category` and `display` the live result prints are additive keys)."""
    components = {name: {"value": c["value"], "points": c["points"]} for name, c in answer["components"].items()}
    return {**answer, "components": components}


def test_second_worked_case_scores_10_high_with_the_contracts_shape(signed_in):
    response = post(signed_in, SECOND_CASE)
    assert response.status_code == 200
    assert contract(response.json()) == {
        "total": 10,
        "group": "high",
        "components": {
            "fracture_type": {"value": "compression", "points": 0},
            "vertebral_height_loss": {"value": 17.8, "points": 2},
            "kyphosis_angle": {"value": 19.6, "points": 2},
            "t2_signal": {"value": "diffuse_low", "points": 2},
            "bmd": {"value": -3.6, "points": 4},
        },
        "warnings": [],
        "rules_version": rules.RULES_VERSION,
    }


def test_numbers_in_value_are_json_numbers_not_strings(signed_in):
    raw = post(signed_in, SECOND_CASE).content.decode()
    assert '"value": 17.8' in raw and '"value": -3.6' in raw


def test_api_computes_and_saves_nothing(signed_in):
    post(signed_in, SECOND_CASE)
    assert Fracture.objects.count() == 0 and Patient.objects.count() == 0


def test_vhl_from_heights_is_computed_and_returned_rounded(signed_in):
    response = post(signed_in, {**without(SECOND_CASE, "vhl_percent"), "heights_mm": HEIGHTS})
    assert response.status_code == 200
    assert contract(response.json())["components"]["vertebral_height_loss"] == {"value": 16.7, "points": 2}


def test_given_vhl_of_14_96_is_returned_as_15_0_and_scores_2(signed_in):
    response = post(signed_in, {**SECOND_CASE, "vhl_percent": 14.96})
    assert contract(response.json())["components"]["vertebral_height_loss"] == {"value": 15.0, "points": 2}


def test_optional_fields_may_be_left_out(signed_in):
    response = post(signed_in, without(SECOND_CASE, "age_years", "level", "low_energy_trauma"))
    assert response.status_code == 200
    assert response.json()["warnings"] == []


def test_every_warning_code_of_the_contract(signed_in):
    body = {**SECOND_CASE, "bmd_t_score": -0.5, "age_years": 55, "level": "L4", "low_energy_trauma": False}
    response = post(signed_in, body)
    assert response.status_code == 200
    warnings = response.json()["warnings"]
    assert [w["code"] for w in warnings] == [
        "bmd_above_inclusion",
        "age_below_inclusion",
        "level_outside_validated",
        "high_energy_trauma",
    ]
    assert all(w["message"] for w in warnings)


# -- 400: every bad input names its field -------------------------------------------------------


@pytest.mark.parametrize("field", ["fracture_type", "kyphosis_angle_deg", "t2_signal", "bmd_t_score"])
def test_missing_required_field_is_named(signed_in, field):
    response = post(signed_in, without(SECOND_CASE, field))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("vhl_percent", "17.8"),
        ("vhl_percent", True),
        ("kyphosis_angle_deg", [19.6]),
        ("bmd_t_score", {"t": -3.6}),
        ("fracture_type", 2),
        ("t2_signal", None if False else 1),
        ("level", 11),
        ("age_years", 71.5),
        ("age_years", "71"),
        ("low_energy_trauma", "yes"),
        ("heights_mm", [20, 30, 30, 30, 30, 30]),
    ],
)
def test_wrong_type_is_named(signed_in, field, value):
    body = {**SECOND_CASE, field: value}
    if field == "heights_mm":
        body = without(body, "vhl_percent")
    response = post(signed_in, body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("fracture_type", "wedge"), ("t2_signal", "diffuse"), ("level", "S1"), ("level", "t11")],
)
def test_wrong_choice_is_named(signed_in, field, value):
    response = post(signed_in, {**SECOND_CASE, field: value})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("vhl_percent", -50.1),
        ("vhl_percent", 100.1),
        ("kyphosis_angle_deg", -45.1),
        ("kyphosis_angle_deg", 90.1),
        ("bmd_t_score", -7.1),
        ("bmd_t_score", 4.1),
        ("age_years", -1),
        ("age_years", 131),
        ("vhl_percent", 1e308),
    ],
)
def test_out_of_range_is_named(signed_in, field, value):
    response = post(signed_in, {**SECOND_CASE, field: value})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("vhl_percent", -50),
        ("vhl_percent", 100),
        ("kyphosis_angle_deg", -45),
        ("kyphosis_angle_deg", 90),
        ("bmd_t_score", -7),
        ("bmd_t_score", 4),
    ],
)
def test_range_ends_are_accepted(signed_in, field, value):
    assert post(signed_in, {**SECOND_CASE, field: value}).status_code == 200


def test_both_vhl_and_heights_is_refused_naming_both(signed_in):
    response = post(signed_in, {**SECOND_CASE, "heights_mm": HEIGHTS})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"vhl_percent", "heights_mm"}
    assert "not both" in errors["vhl_percent"][0]


def test_neither_vhl_nor_heights_is_refused_naming_both(signed_in):
    response = post(signed_in, without(SECOND_CASE, "vhl_percent"))
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"vhl_percent", "heights_mm"}


def test_a_missing_height_is_named(signed_in):
    heights = {k: v for k, v in HEIGHTS.items() if k != "caudal_posterior"}
    response = post(signed_in, {**without(SECOND_CASE, "vhl_percent"), "heights_mm": heights})
    assert response.status_code == 400
    assert response.json()["errors"] == {"heights_mm.caudal_posterior": ["This field is required."]}


@pytest.mark.parametrize(("value", "message"), [(0, "greater than 0"), (-3, "greater than 0"), (100.01, "at most 100")])
def test_a_height_out_of_range_is_named(signed_in, value, message):
    body = {**without(SECOND_CASE, "vhl_percent"), "heights_mm": {**HEIGHTS, "fractured_anterior": value}}
    response = post(signed_in, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["heights_mm.fractured_anterior"]
    assert message in errors["heights_mm.fractured_anterior"][0]


def test_heights_giving_a_vhl_below_minus_50_are_a_measurement_error(signed_in):
    heights = {**HEIGHTS, "fractured_anterior": 60, "fractured_posterior": 60, "cranial_anterior": 30}
    response = post(signed_in, {**without(SECOND_CASE, "vhl_percent"), "heights_mm": heights})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["heights_mm"]
    assert "measurement error" in errors["heights_mm"][0]


def test_unknown_fields_are_named(signed_in):
    response = post(signed_in, {**SECOND_CASE, "vhl_pct": 3, "heights_mm": None})
    assert response.status_code == 400
    assert response.json()["errors"] == {"vhl_pct": ["Unknown field."]}


def test_every_wrong_field_is_named_at_once(signed_in):
    body = {"fracture_type": "wedge", "vhl_percent": 200, "kyphosis_angle_deg": "x", "t2_signal": "dark"}
    response = post(signed_in, body)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {
        "fracture_type",
        "vhl_percent",
        "kyphosis_angle_deg",
        "t2_signal",
        "bmd_t_score",
    }


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[1, 2]",
        '"text"',
        "42",
        "null",
        '{"vhl_percent": NaN}',
        '{"a": Infinity}',
        "[" * 50_000,
        '{"age_years": ' + "9" * 5000 + "}",
        b"\xff\xfe{}",
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400_under_all(signed_in, body):
    response = post(signed_in, body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["__all__"]


def test_an_oversized_body_is_refused_with_413_json(signed_in):
    response = post(signed_in, {**SECOND_CASE, "padding": "x" * 70_000})
    assert response.status_code == 413
    assert list(response.json()["errors"]) == ["__all__"]


def test_signed_out_gets_401_json_not_a_redirect(client):
    response = post(client, SECOND_CASE)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "__all__" in response.json()["errors"]


def test_missing_csrf_token_gets_403_json(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = post(client, SECOND_CASE)
    assert response.status_code == 403
    assert "X-CSRFToken" in response.json()["errors"]["__all__"][0]


def test_with_the_csrf_header_the_post_is_accepted(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/patients/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = post(client, SECOND_CASE, headers={"X-CSRFToken": token})
    assert response.status_code == 200


def test_get_is_not_allowed(signed_in):
    response = signed_in.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    ("raw_value", "field"),
    [
        ("1e999999999999999999", "bmd_t_score"),
        ("-9E+999999999999999999", "kyphosis_angle_deg"),
        ("1e1000000", "vhl_percent"),
        ("1e999999999999999999", "age_years"),
        ("1e200000", "age_years"),
    ],
)
def test_huge_exponents_in_raw_json_are_a_400_naming_the_field_not_a_500(signed_in, raw_value, field):
    body = json.dumps({k: v for k, v in SECOND_CASE.items() if k != field})
    raw = body[:-1] + f', "{field}": {raw_value}}}'
    response = post(signed_in, raw)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_an_empty_level_is_refused_not_taken_as_unknown(signed_in):
    response = post(signed_in, {**SECOND_CASE, "level": ""})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["level"]


# -- issue 11: words and units for the live result, no negative zero, the running ODI --------------


def test_each_component_carries_its_label_category_and_display_in_words_and_units(signed_in):
    body = {**SECOND_CASE, "fracture_type": "burst", "vhl_percent": 26.9, "t2_signal": "confined_low"}
    components = post(signed_in, body).json()["components"]
    assert components["fracture_type"] == {
        "value": "burst",
        "points": 2,
        "label": "Fracture type",
        "category": "burst fracture",
        "display": "Burst fracture",
    }
    assert components["vertebral_height_loss"]["category"] == "≥ 15 %"
    assert components["vertebral_height_loss"]["display"] == "26.9 % (≥ 15 %)"
    assert components["kyphosis_angle"]["display"] == "19.6° (≥ 15°)"
    assert components["t2_signal"]["display"] == "Confined low signal (not diffuse low)"
    assert components["bmd"]["display"] == "−3.6 (T ≤ −3.5)"
    assert components["bmd"]["label"] == "Bone mineral density, T-score"
    diffuse = post(signed_in, SECOND_CASE).json()["components"]["t2_signal"]
    assert diffuse["display"] == "Diffuse low signal" and diffuse["points"] == 2


def test_a_vhl_that_rounds_to_minus_zero_is_returned_as_zero(signed_in):
    response = post(signed_in, {**SECOND_CASE, "vhl_percent": -0.04})
    assert response.status_code == 200
    raw = response.content.decode()
    assert '"value": -0.0' not in raw
    vhl = response.json()["components"]["vertebral_height_loss"]
    assert vhl["value"] == 0.0 and str(vhl["value"]) == "0.0"
    assert vhl["points"] == 0 and vhl["display"] == "0.0 % (< 15 %)"


def test_a_negative_vhl_keeps_its_sign(signed_in):
    response = post(signed_in, {**SECOND_CASE, "vhl_percent": -5.8})
    assert response.json()["components"]["vertebral_height_loss"]["value"] == -5.8


ODI_URL = "/api/odi/"


def post_odi(client, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(ODI_URL, data=data, content_type="application/json")


def test_odi_from_the_sections_answered_so_far(signed_in):
    response = post_odi(signed_in, {"sections": [3, 2, None, None, 1, 0, 5, None, 4, None]})
    assert response.status_code == 200
    assert response.json() == {"odi_percent": 50.0, "answered": 6}


def test_odi_with_every_section_answered_and_with_none(signed_in):
    assert post_odi(signed_in, {"sections": [5] * 10}).json() == {"odi_percent": 100.0, "answered": 10}
    assert post_odi(signed_in, {"sections": [None] * 10}).json() == {"odi_percent": None, "answered": 0}


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"sections": [6] + [None] * 9}, "sections.0"),
        ({"sections": [None, -1] + [None] * 8}, "sections.1"),
        ({"sections": [None, None, 2.5] + [None] * 7}, "sections.2"),
        ({"sections": [None, None, None, True] + [None] * 6}, "sections.3"),
        ({"sections": [None] * 9 + ["3"]}, "sections.9"),
        ({"sections": [1, 2, 3]}, "sections"),
        ({"sections": "1,2"}, "sections"),
        ({}, "sections"),
        ({"sections": [None] * 10, "odi_percent": 40}, "odi_percent"),
    ],
)
def test_odi_refuses_what_is_not_ten_answers_of_0_to_5_naming_where(signed_in, body, key):
    response = post_odi(signed_in, body)
    assert response.status_code == 400
    assert key in response.json()["errors"]


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", '{"sections": [NaN]}', "{" * 100_000])
def test_odi_refuses_a_body_that_is_not_a_json_object_never_a_500(signed_in, raw):
    response = post_odi(signed_in, raw)
    assert response.status_code in (400, 413)
    assert "__all__" in response.json()["errors"]


def test_odi_takes_post_only_and_a_signed_in_user(signed_in, client):
    response = signed_in.get(ODI_URL)
    assert response.status_code == 405 and response["Allow"] == "POST"
    client.logout()
    refused = client.post(ODI_URL, json.dumps({"sections": [None] * 10}), content_type="application/json")
    assert refused.status_code in (401, 403) and refused["Content-Type"].startswith("application/json")


def test_a_second_readers_values_are_averaged_unrounded_as_the_page_saves_them(signed_in):
    """spec §2, revised Decision: the live score (this API) scores the readers' mean as a save does:
    VHL 14.9 and 15.0 → 14.95, 0 points; the API needs no reader names."""
    response = post(
        signed_in,
        {**SECOND_CASE, "vhl_percent": 14.9, "second_vhl_percent": 15.0, "second_kyphosis_angle_deg": 19.0},
    )
    assert response.status_code == 200, response.json()
    components = response.json()["components"]
    assert components["vertebral_height_loss"]["value"] == 14.95
    assert components["vertebral_height_loss"]["points"] == 0
    assert components["kyphosis_angle"]["value"] == 19.3  # (19.6 + 19.0) / 2
    assert response.json()["total"] == 8


def test_a_second_readers_heights_are_checked_under_their_own_names(signed_in):
    heights = dict.fromkeys(("cranial_anterior", "cranial_posterior", "caudal_anterior", "caudal_posterior"), 30)
    response = post(
        signed_in,
        {**SECOND_CASE, "second_heights_mm": {**heights, "fractured_anterior": 0, "fractured_posterior": 20}},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"second_heights_mm.fractured_anterior": ["Must be greater than 0 mm."]}
    response = post(signed_in, {**SECOND_CASE, "second_heights_mm": {"fractured_anterior": 20}})
    assert response.json()["errors"]["second_heights_mm.caudal_posterior"] == ["This field is required."]
