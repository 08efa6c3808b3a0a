"""`POST /api/measure/`, exactly as spec §9's contract writes it, answered like `/api/score/`."""

import copy
import json

import pytest
from django.test import Client

URL = "/api/measure/"

WORKED = {
    "points": {
        "cranial": {
            "anterior_superior": [100, 100],
            "anterior_inferior": [100, 130],
            "posterior_superior": [140, 100],
            "posterior_inferior": [140, 130],
        },
        "fractured": {
            "anterior_superior": [100, 140],
            "anterior_inferior": [100, 160],
            "posterior_superior": [140, 138],
            "posterior_inferior": [140, 168],
        },
        "caudal": {
            "anterior_superior": [100, 170],
            "anterior_inferior": [100, 200],
            "posterior_superior": [140, 170],
            "posterior_inferior": [140, 200],
        },
    },
    "pixel_spacing_mm": [0.5, 0.5],
}
WORKED_ANSWER = {
    "heights": {
        "unit": "mm",
        "fractured_anterior": 10.0,
        "fractured_posterior": 15.0,
        "cranial_anterior": 15.0,
        "cranial_posterior": 15.0,
        "caudal_anterior": 15.0,
        "caudal_posterior": 15.0,
    },
    "vhl_percent": 16.7,
    "kyphosis_angle_deg": 0.0,
    "genant": {"grade": 2, "anterior_reduction_percent": 33.3, "posterior_reduction_percent": 0.0},
}

pytestmark = pytest.mark.django_db


def post(client, body, **kwargs):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **kwargs)


def changed(path, value):
    """The worked example with one value at a dotted path replaced (None: removed)."""
    body = copy.deepcopy(WORKED)
    *parents, last = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return body


def refused(client, body):
    response = post(client, body)
    assert response.status_code == 400
    return response.json()["errors"]


def test_worked_example_answers_the_contracts_json_exactly(signed_in):
    response = post(signed_in, WORKED)
    assert response.status_code == 200
    assert response.json() == WORKED_ANSWER
    assert response["Cache-Control"] == "no-store"


def test_without_a_spacing_the_heights_are_in_pixels(signed_in):
    response = post(signed_in, changed("pixel_spacing_mm", None))
    assert response.status_code == 200
    answer = response.json()
    assert answer["heights"] == {
        "unit": "px",
        "fractured_anterior": 20.0,
        "fractured_posterior": 30.0,
        "cranial_anterior": 30.0,
        "cranial_posterior": 30.0,
        "caudal_anterior": 30.0,
        "caudal_posterior": 30.0,
    }
    assert (answer["vhl_percent"], answer["kyphosis_angle_deg"], answer["genant"]) == (
        16.7,
        0.0,
        WORKED_ANSWER["genant"],
    )


def test_fractions_are_accepted_and_a_null_spacing_means_pixels(signed_in):
    body = changed("points.fractured.anterior_inferior", [100.0, 160.5])
    body["pixel_spacing_mm"] = None
    response = post(signed_in, body)
    assert response.status_code == 200
    assert response.json()["heights"]["fractured_anterior"] == 20.5


def test_a_kyphotic_film_answers_a_positive_angle(signed_in):
    response = post(signed_in, changed("points.caudal.anterior_superior", [100, 160]))
    assert response.json()["kyphosis_angle_deg"] == 14.0


def test_a_missing_vertebra_is_refused_under_its_path(signed_in):
    assert refused(signed_in, changed("points.caudal", None)) == {"points.caudal": ["This field is required."]}


def test_a_missing_corner_is_refused_under_its_path(signed_in):
    errors = refused(signed_in, changed("points.fractured.posterior_inferior", None))
    assert errors == {"points.fractured.posterior_inferior": ["This field is required."]}


def test_missing_points_are_refused(signed_in):
    assert list(refused(signed_in, {"pixel_spacing_mm": [0.5, 0.5]})) == ["points"]


@pytest.mark.parametrize(
    "point",
    [[100], [100, 100, 1], ["100", 100], [True, 100], [100, None], [[100], 100], {"x": 1, "y": 2}, 100, "100,100"],
)
def test_a_point_that_is_not_a_pair_of_json_numbers_is_refused(signed_in, point):
    errors = refused(signed_in, changed("points.fractured.posterior_inferior", point))
    assert list(errors) == ["points.fractured.posterior_inferior"]


@pytest.mark.parametrize("point", [[-1, 100], [100, -0.5], [1e300, 100], [100, 10**50]])
def test_a_negative_or_absurdly_large_coordinate_is_refused(signed_in, point):
    errors = refused(signed_in, changed("points.caudal.anterior_superior", point))
    assert list(errors) == ["points.caudal.anterior_superior"]


@pytest.mark.parametrize("spacing", [[0.5], [0, 0.5], [0.5, -0.5], ["0.5", "0.5"], [True, 0.5], 0.5, {"row": 0.5}])
def test_a_spacing_that_is_not_two_positive_numbers_is_refused(signed_in, spacing):
    assert list(refused(signed_in, changed("pixel_spacing_mm", spacing))) == ["pixel_spacing_mm"]


def test_unknown_keys_are_refused_each_under_its_path(signed_in):
    body = copy.deepcopy(WORKED)
    body["image"] = "x"
    body["points"]["lumbar"] = {}
    body["points"]["fractured"]["centre"] = [1, 2]
    errors = refused(signed_in, body)
    assert set(errors) == {"image", "points.lumbar", "points.fractured.centre"}


def test_a_zero_height_is_refused_naming_the_corner(signed_in):
    errors = refused(signed_in, changed("points.fractured.anterior_inferior", [100, 140]))
    assert list(errors) == ["points.fractured.anterior_inferior"]
    assert "anterior inferior" in errors["points.fractured.anterior_inferior"][0]


def test_swapped_corners_are_refused_under_the_vertebra(signed_in):
    body = changed("points.fractured.anterior_inferior", [140, 168])
    body["points"]["fractured"]["posterior_inferior"] = [100, 160]
    errors = refused(signed_in, body)
    assert list(errors) == ["points.fractured"]
    assert "crosses itself" in errors["points.fractured"][0]


def test_signed_out_gets_401_json_not_a_redirect(client):
    response = post(client, WORKED)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "__all__" in response.json()["errors"]


def test_a_user_without_a_role_gets_403_json(client, make_user):
    client.force_login(make_user("nobody", role=None))
    response = post(client, WORKED)
    assert response.status_code == 403
    assert "errors" in response.json()


def test_missing_csrf_token_gets_403_json(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = post(client, WORKED)
    assert response.status_code == 403
    assert "X-CSRFToken" in response.json()["errors"]["__all__"][0]


def test_get_is_not_allowed(signed_in):
    response = signed_in.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


HOSTILE = [
    '"points"',
    "[1, 2]",
    "not json",
    '{"points": NaN}',
    '{"points": {"cranial": {"anterior_superior": [NaN, 1]}}}',
    '{"points": {"cranial": {"anterior_superior": [Infinity, 1]}}}',
    json.dumps({"points": [[1, 2]] * 12}),
    json.dumps({"points": {"cranial": [[[[1]]]]}}),
    json.dumps({"points": "x" * 1000}),
    json.dumps(changed("points.cranial.anterior_superior", [[100, 100], [1, 2]])),
    json.dumps(changed("pixel_spacing_mm", [[0.5], [0.5]])),
    json.dumps(WORKED).replace("[0.5, 0.5]", "[1e999999, 1e999999]"),
    json.dumps(WORKED).replace("[0.5, 0.5]", "[1e-999999, 1e-999999]"),
    json.dumps(WORKED).replace("[100, 100]", "[1e999999, 1e999999]"),
    json.dumps(WORKED).replace("[100, 100]", "[" + "9" * 4000 + ", 100]"),
    json.dumps(WORKED).replace("[100, 100]", "[" + "9" * 5000 + ", 100]"),
    "[" * 30_000,
    "\xff\xfe",
    "",
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_bodies_get_a_4xx_json_answer_never_a_500(signed_in, body):
    response = post(signed_in, body)
    assert 400 <= response.status_code < 500
    assert "errors" in response.json()


def test_a_vanishingly_small_coordinate_is_a_number_like_any_other(signed_in):
    response = post(signed_in, json.dumps(WORKED).replace("[100, 100]", "[1e-999999, 100]"))
    assert response.status_code == 200
    assert response.json()["heights"]["cranial_anterior"] == 52.2  # √(100² + 30²) × 0.5 = 52.2015
