"""Spec §9: twelve corners on the lateral film → a … f, VHL, kyphosis angle and Genant grade.

Hand-checked cases name the rule they test; the hypothesis properties check what geometry promises
whichever way the film lies: a rigid motion keeps the heights, a uniform scale scales them and keeps
the ratios and the angle, and a patient facing the other way changes nothing.
"""

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import radiograph
from scoring.radiograph import ImplausibleMeasurement, measure

# spec §9's worked example, in pixels; spacing 0.5 mm both ways.
WORKED = {
    "cranial": {
        "anterior_superior": (100, 100),
        "anterior_inferior": (100, 130),
        "posterior_superior": (140, 100),
        "posterior_inferior": (140, 130),
    },
    "fractured": {
        "anterior_superior": (100, 140),
        "anterior_inferior": (100, 160),
        "posterior_superior": (140, 138),
        "posterior_inferior": (140, 168),
    },
    "caudal": {
        "anterior_superior": (100, 170),
        "anterior_inferior": (100, 200),
        "posterior_superior": (140, 170),
        "posterior_inferior": (140, 200),
    },
}
HALF_MM = (0.5, 0.5)


def moved(points, transform):
    return {v: {c: transform(*p) for c, p in corners.items()} for v, corners in points.items()}


def with_corner(points, vertebra, corner, point):
    changed = {v: dict(corners) for v, corners in points.items()}
    changed[vertebra][corner] = point
    return changed


def heights(result):
    h = result.heights
    return (
        h.fractured_anterior,
        h.fractured_posterior,
        h.cranial_anterior,
        h.cranial_posterior,
        h.caudal_anterior,
        h.caudal_posterior,
    )


def assert_worked_example(result, unit="mm"):
    assert heights(result) == tuple(Decimal(v) for v in ("10", "15", "15", "15", "15", "15"))
    assert result.unit == unit
    assert result.vhl_percent == Decimal("16.7")
    assert result.kyphosis_angle_deg == Decimal("0.0")
    assert result.genant.grade == 2
    assert result.genant.anterior_reduction_percent == Decimal("33.3")
    assert result.genant.posterior_reduction_percent == Decimal("0.0")


def problems(points, spacing=None, image_size=None):
    with pytest.raises(ImplausibleMeasurement) as raised:
        measure(points, spacing, image_size)
    return [(p.path, p.code) for p in raised.value.problems], raised.value.problems


# -- the worked example and hand-checked orientations ------------------------------------------


def test_worked_example_gives_spec_9s_heights_vhl_ka_and_genant():
    assert_worked_example(measure(WORKED, HALF_MM))


def test_without_a_spacing_heights_are_in_pixels_and_the_ratios_are_the_same():
    result = measure(WORKED)
    assert result.unit == "px"
    assert heights(result) == tuple(Decimal(v) for v in ("20", "30", "30", "30", "30", "30"))
    assert (result.vhl_percent, result.kyphosis_angle_deg, result.genant.grade) == (Decimal("16.7"), 0, 2)


def test_patient_facing_right_mirrors_x_and_changes_nothing():
    assert_worked_example(measure(moved(WORKED, lambda x, y: (300 - x, y)), HALF_MM))


def test_film_rotated_90_degrees_gives_the_same_values():
    assert_worked_example(measure(moved(WORKED, lambda x, y: (300 - y, x)), HALF_MM))


def test_film_rotated_30_degrees_gives_the_same_values():
    cos, sin = math.cos(math.radians(30)), math.sin(math.radians(30))

    def rotate(x, y):
        dx, dy = x - 120, y - 150
        return (500 + cos * dx - sin * dy, 500 + sin * dx + cos * dy)

    assert_worked_example(measure(moved(WORKED, rotate), HALF_MM))


def test_anisotropic_spacing_uses_row_spacing_for_y_and_column_spacing_for_x():
    # Rotated 90°, the heights run along x: column spacing 0.5 gives the worked example's mm; the
    # row spacing (0.25) must not enter them.
    assert_worked_example(measure(moved(WORKED, lambda x, y: (300 - y, x)), (0.25, 0.5)))
    # Upright, the heights run along y: the row spacing 0.25 halves them; column spacing 0.5 does not enter.
    result = measure(WORKED, (0.25, 0.5))
    assert heights(result) == tuple(Decimal(v) for v in ("5", "7.5", "7.5", "7.5", "7.5", "7.5"))


def test_anisotropic_spacing_measures_the_angle_in_mm_not_in_pixels():
    # Caudal superior endplate PS (140, 170) → AS (100, 180): (−40, 10) px = (−10, 5) mm with row 0.5,
    # column 0.25 → atan(5/10) = 26.565° (in pixels it would be 14.0°); anterior corners 25 mm apart,
    # posterior 20 mm: they diverge anteriorly, lordotic, negative.
    points = with_corner(WORKED, "caudal", "anterior_superior", (100, 180))
    points = with_corner(points, "caudal", "anterior_inferior", (100, 210))
    assert measure(points, (0.5, 0.25)).kyphosis_angle_deg == Decimal("-26.6")
    assert measure(points).kyphosis_angle_deg == Decimal("-14.0")


def test_kyphotic_endplates_converging_anteriorly_give_a_positive_angle():
    # atan(10/40) = 14.036°; anterior corners 30 px apart, posterior 40 px: kyphotic.
    points = with_corner(WORKED, "caudal", "anterior_superior", (100, 160))
    assert measure(points).kyphosis_angle_deg == Decimal("14.0")
    facing_right = moved(points, lambda x, y: (300 - x, y))
    assert measure(facing_right).kyphosis_angle_deg == Decimal("14.0")


def test_lordotic_endplates_diverging_anteriorly_give_a_negative_angle():
    points = with_corner(WORKED, "caudal", "anterior_superior", (100, 180))
    points = with_corner(points, "caudal", "anterior_inferior", (100, 210))
    assert measure(points).kyphosis_angle_deg == Decimal("-14.0")
    facing_right = moved(points, lambda x, y: (300 - x, y))
    assert measure(facing_right).kyphosis_angle_deg == Decimal("-14.0")


def test_heights_round_half_up_to_a_hundredth_before_vhl_is_computed():
    # a = 20.01 px × 0.5 = 10.005 mm → 10.01 (half-up; banker's rounding would give 10.00).
    points = with_corner(WORKED, "fractured", "anterior_inferior", (100, Decimal("160.01")))
    result = measure(points, HALF_MM)
    assert result.heights.fractured_anterior == Decimal("10.01")
    # VHL from the rounded heights: (15 − (10.01 + 15)/2) / 15 = 16.633 % → 16.6.
    assert result.vhl_percent == Decimal("16.6")


# -- plausibility: refused, naming the corner ------------------------------------------------------


def test_zero_anterior_height_is_refused_naming_the_corner():
    points = with_corner(WORKED, "fractured", "anterior_inferior", (100, 140))
    found, details = problems(points, HALF_MM)
    assert found == [("points.fractured.anterior_inferior", radiograph.ZERO_HEIGHT)]
    assert "anterior inferior" in details[0].message and "fractured" in details[0].message


def test_zero_posterior_height_is_refused_naming_the_corner():
    points = with_corner(WORKED, "caudal", "posterior_inferior", (140, 170))
    found, _ = problems(points)
    assert found == [("points.caudal.posterior_inferior", radiograph.ZERO_HEIGHT)]


def test_a_height_that_rounds_to_zero_is_refused_too():
    points = with_corner(WORKED, "cranial", "anterior_inferior", (100, Decimal("100.004")))
    found, _ = problems(points)
    assert found == [("points.cranial.anterior_inferior", radiograph.ZERO_HEIGHT)]


def test_points_outside_the_image_are_refused_all_at_once():
    found, details = problems(WORKED, HALF_MM, image_size=(300, 190))
    assert found == [
        ("points.caudal.anterior_inferior", radiograph.OUTSIDE_IMAGE),
        ("points.caudal.posterior_inferior", radiograph.OUTSIDE_IMAGE),
    ]
    assert "caudal vertebra's anterior inferior corner" in details[0].message
    assert_worked_example(measure(WORKED, HALF_MM, image_size=(140, 200)))  # the edge is inside


def test_anterior_and_posterior_corners_swapped_make_the_outline_cross():
    points = with_corner(WORKED, "fractured", "anterior_inferior", (140, 168))
    points = with_corner(points, "fractured", "posterior_inferior", (100, 160))
    found, details = problems(points, HALF_MM)
    assert found == [("points.fractured", radiograph.OUTLINE_CROSSES)]
    assert "swapped" in details[0].message


def test_a_problem_is_a_sentence_the_pages_translate_with_the_corner_named_in_its_values():
    points = with_corner(WORKED, "fractured", "anterior_inferior", (100, 140))
    _, details = problems(points, HALF_MM)
    assert details[0].text.params["vertebra"].msgid == "fractured vertebra"
    assert details[0].message == (
        "The fractured vertebra's anterior superior and anterior inferior corners coincide: its anterior height is zero."
    )


def test_superior_and_inferior_corners_swapped_make_the_outline_cross():
    points = with_corner(WORKED, "cranial", "posterior_superior", (140, 130))
    points = with_corner(points, "cranial", "posterior_inferior", (140, 100))
    found, _ = problems(points)
    assert found == [("points.cranial", radiograph.OUTLINE_CROSSES)]


def test_every_problem_is_raised_together():
    points = with_corner(WORKED, "fractured", "anterior_inferior", (100, 140))
    points = with_corner(points, "cranial", "posterior_superior", (140, 130))
    points = with_corner(points, "cranial", "posterior_inferior", (140, 100))
    found, _ = problems(points, image_size=(300, 190))
    assert set(found) == {
        ("points.cranial", radiograph.OUTLINE_CROSSES),
        ("points.fractured.anterior_inferior", radiograph.ZERO_HEIGHT),
        ("points.caudal.anterior_inferior", radiograph.OUTSIDE_IMAGE),
        ("points.caudal.posterior_inferior", radiograph.OUTSIDE_IMAGE),
    }


@pytest.mark.parametrize("point", [(-1, 100), (math.nan, 100), (100, math.inf), (True, 100), (100,), (1e7, 100)])
def test_a_point_that_is_not_two_finite_numbers_in_range_is_refused(point):
    found, _ = problems(with_corner(WORKED, "caudal", "posterior_superior", point))
    assert found == [("points.caudal.posterior_superior", radiograph.INVALID_POINT)]


@pytest.mark.parametrize("spacing", [(0, 0.5), (0.5, -0.1), (0.5,), (math.nan, 0.5), (0.5, 1000)])
def test_a_spacing_that_is_not_two_positive_numbers_is_refused(spacing):
    found, _ = problems(WORKED, spacing)
    assert found == [("pixel_spacing_mm", radiograph.INVALID_SPACING)]


# -- properties ----------------------------------------------------------------------------------

lengths = st.integers(min_value=10, max_value=60)
tilts = st.integers(min_value=-6, max_value=6)


@st.composite
def spines(draw):
    """Three plausible vertebrae on integer pixels, stacked downwards, endplates tilted at random,
    the anterior and posterior walls vertical (so the heights are whole pixels)."""
    points, top = {}, 200
    for vertebra in radiograph.VERTEBRAE:
        width, anterior, posterior = draw(st.integers(20, 60)), draw(lengths), draw(lengths)
        tilt = draw(tilts)
        points[vertebra] = {
            "anterior_superior": (200, top),
            "anterior_inferior": (200, top + anterior),
            "posterior_superior": (200 + width, top + tilt),
            "posterior_inferior": (200 + width, top + tilt + posterior),
        }
        top += max(anterior, posterior + tilt) + draw(st.integers(8, 20))
    return points


@given(spines(), st.floats(min_value=0, max_value=2 * math.pi), st.integers(0, 500), st.integers(0, 500))
def test_heights_are_invariant_under_rotation_and_translation(points, angle, tx, ty):
    cos, sin = math.cos(angle), math.sin(angle)
    turned = moved(points, lambda x, y: (1000 + tx + cos * x - sin * y, 1000 + ty + sin * x + cos * y))
    before, after = measure(points, (0.2, 0.2)), measure(turned, (0.2, 0.2))
    for original, rotated in zip(heights(before), heights(after), strict=True):
        assert abs(original - rotated) <= Decimal("0.01")  # only the half-up rounding may tip
    assert abs(before.kyphosis_angle_deg - after.kyphosis_angle_deg) <= Decimal("0.1")


@given(spines(), st.integers(min_value=2, max_value=5))
def test_scaling_all_points_scales_heights_and_keeps_vhl_ka_and_genant(points, factor):
    before = measure(points)
    after = measure(moved(points, lambda x, y: (x * factor, y * factor)))
    assert heights(after) == tuple(h * factor for h in heights(before))
    assert after.vhl_percent == before.vhl_percent
    assert after.kyphosis_angle_deg == before.kyphosis_angle_deg
    assert after.genant == before.genant


@given(spines(), st.sampled_from([None, (0.5, 0.5), (0.14, 0.2)]))
def test_mirroring_left_right_changes_nothing(points, spacing):
    mirrored = moved(points, lambda x, y: (2000 - x, y))
    assert measure(mirrored, spacing) == measure(points, spacing)


SWAPPED = {
    "anterior_superior": "posterior_superior",
    "anterior_inferior": "posterior_inferior",
    "posterior_superior": "anterior_superior",
    "posterior_inferior": "anterior_inferior",
}


@given(spines(), st.sampled_from([None, (0.5, 0.5), (0.14, 0.2)]))
def test_swapping_anterior_and_posterior_corners_flips_only_the_reading_direction(points, spacing):
    """Issue 15: the same outlines read from the other side. Each anterior height becomes the
    posterior one and the reductions trade places; VHL and the grade stay; the endplates now
    converge on the side read as posterior, so the angle keeps its size and changes its sign."""
    swapped = {
        vertebra: {SWAPPED[corner]: point for corner, point in corners.items()} for vertebra, corners in points.items()
    }
    before, after = measure(points, spacing), measure(swapped, spacing)
    for vertebra in radiograph.VERTEBRAE:
        assert getattr(after.heights, f"{vertebra}_anterior") == getattr(before.heights, f"{vertebra}_posterior")
        assert getattr(after.heights, f"{vertebra}_posterior") == getattr(before.heights, f"{vertebra}_anterior")
    assert after.vhl_percent == before.vhl_percent
    assert after.kyphosis_angle_deg == -before.kyphosis_angle_deg
    assert after.genant.anterior_reduction_percent == before.genant.posterior_reduction_percent
    assert after.genant.posterior_reduction_percent == before.genant.anterior_reduction_percent
    assert after.genant.grade == before.genant.grade
