"""The assessment pages (scoring/views/fractures.py): the baseline form, the result and timeline
page, and the printed report."""

import datetime
from decimal import Decimal

import pytest

from scoring.models import Fracture, Visit
from tests.scoring.views.conftest import confirmed_post, new_assessment_url, text, visit_url

pytestmark = pytest.mark.django_db

D = Decimal


# -- the baseline assessment -------------------------------------------------------------------


def test_second_worked_case_saves_exactly_one_row_scoring_10_high(signed_in, user, patient, second_case):
    response = signed_in.post(new_assessment_url(patient), second_case)
    fracture = Fracture.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assessments/{fracture.pk}/"
    assert fracture.total_score == 10
    assert fracture.risk_group == "high"
    assert fracture.rules_version == "NASOVCF-2025.2"
    assert fracture.age_at_assessment == 71
    assert fracture.vhl_percent == Decimal("17.8") and fracture.vhl_entered_percent == Decimal("17.8")
    assert {name: c["points"] for name, c in fracture.score_components.items()} == {
        "fracture_type": 0,
        "vertebral_height_loss": 2,
        "kyphosis_angle": 2,
        "t2_signal": 2,
        "bmd": 4,
    }
    assert fracture.population_warnings == []
    assert fracture.created_by == user and fracture.patient == patient


def test_first_worked_case_scores_0_low(signed_in, make_patient):
    patient = make_patient(mrn="CASE1", date_of_birth=datetime.date(1945, 1, 15))  # 79 on 2024-06-01
    data = {
        "assessment_date": "2024-06-01",
        "level": "L2",
        "low_energy_trauma": "yes",
        "fracture_type": "compression",
        "vhl_percent": "0.5",
        "kyphosis_angle_deg": "4.6",
        "t2_signal": "diffuse_high",
        "bmd_t_score": "-1.5",
        "treatment": "conservative",
    }
    signed_in.post(new_assessment_url(patient), data)
    fracture = Fracture.objects.get()
    assert (fracture.total_score, fracture.risk_group, fracture.age_at_assessment) == (0, "low", 79)


def test_vhl_from_six_heights_is_computed_saved_and_shown(signed_in, patient, second_case):
    del second_case["vhl_percent"]
    heights = {
        "fractured_anterior_mm": "20",
        "fractured_posterior_mm": "30",
        "cranial_anterior_mm": "30",
        "cranial_posterior_mm": "30",
        "caudal_anterior_mm": "30",
        "caudal_posterior_mm": "30",
    }
    response = signed_in.post(new_assessment_url(patient), {**second_case, **heights, "preview": "1"})
    assert "VHL computed from the six heights: <strong>16.7 %</strong>" in text(response)
    assert Fracture.objects.count() == 0
    signed_in.post(new_assessment_url(patient), {**second_case, **heights})
    fracture = Fracture.objects.get()
    assert fracture.vhl_percent == Decimal("16.7")
    assert fracture.vhl_entered_percent is None
    assert fracture.fractured_anterior_mm == Decimal("20")
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "16.7 % (from six heights)" in page


def test_calculate_shows_the_result_and_saves_nothing(signed_in, patient, second_case):
    response = signed_in.post(new_assessment_url(patient), {**second_case, "preview": "1"})
    assert response.status_code == 200
    assert Fracture.objects.count() == 0
    page = text(response)
    assert '<div class="score-total" data-testid="score-total">10</div>' in page
    assert "Calculated, not saved yet." in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kyphosis_angle_deg", "90.1", "Must be at most 90°."),
        ("kyphosis_angle_deg", "-45.1", "Must be at least -45°."),
        ("bmd_t_score", "-7.1", "Must be at least -7.0."),
        ("bmd_t_score", "4.1", "Must be at most 4.0."),
        ("bmd_t_score", "abc", "Enter a number."),
        ("bmd_t_score", "NaN", "Enter a number."),
        ("vhl_percent", "100.1", "Must be at most 100 %."),
        ("vhl_percent", "-50.1", "Must be at least -50 %."),
        ("vhl_percent", "", "Enter the VHL percentage, or all six heights"),
        ("vas_pain", "10.1", "Must be at most 10."),
        ("odi_percent", "101", "Must be at most 100 %."),
        ("level", "S1", "Select a valid choice"),
        ("fracture_type", "", "This field is required."),
        ("t2_signal", "black", "Select a valid choice"),
        ("treatment", "", "This field is required."),
        ("low_energy_trauma", "", "This field is required."),
        ("assessment_date", "2999-01-01", "This date is in the future."),
        ("assessment_date", "1940-01-01", "This is before the patient"),
        ("injury_date", "2025-03-11", "The injury cannot come after the assessment."),
        ("height_cm", "20", "Must be at least 100 cm."),
        ("weight_kg", "9" * 40, "Enter a number."),
        ("bmd_t_score", "1e1000000", "Enter a number."),
        ("kyphosis_angle_deg", "-9E+999999999999999999", "Enter a number."),
        ("vas_pain", "1e999999", "Enter a number."),
        ("kyphosis_angle_deg", "1_5", "Enter a number."),
        ("kyphosis_angle_deg", "١٥", "Enter a number."),
        ("treatment_start_date", "2025-03-09", "Treatment starts after the pretreatment assessment"),
    ],
)
def test_a_bad_assessment_saves_nothing_and_shows_the_fields_error(
    signed_in, patient, second_case, field, value, message
):
    response = signed_in.post(new_assessment_url(patient), {**second_case, field: value})
    assert response.status_code == 200
    page = text(response)
    assert message in page
    if field == "low_energy_trauma":
        radios = page[page.index('id="div_id_low_energy_trauma"') :]
        assert message in radios[: radios.index("</fieldset>")]
    else:
        assert f'id="error_1_id_{field}"' in page
    assert "Nothing was saved" in page
    assert Fracture.objects.count() == 0


def test_vhl_and_heights_both_given_is_refused(signed_in, patient, second_case):
    response = signed_in.post(new_assessment_url(patient), {**second_case, "fractured_anterior_mm": "20"})
    page = text(response)
    assert "Enter either the VHL percentage or the six heights, not both." in page
    assert Fracture.objects.count() == 0


def test_heights_that_give_an_impossible_vhl_are_refused(signed_in, patient, second_case):
    del second_case["vhl_percent"]
    heights = {
        "fractured_anterior_mm": "60",
        "fractured_posterior_mm": "60",
        "cranial_anterior_mm": "30",
        "cranial_posterior_mm": "30",
        "caudal_anterior_mm": "30",
        "caudal_posterior_mm": "30",
    }
    response = signed_in.post(new_assessment_url(patient), {**second_case, **heights})
    page = text(response)
    vhl_fieldset = page[page.index('class="vhl-fieldset"') :]
    vhl_fieldset = vhl_fieldset[: vhl_fieldset.index("</fieldset>")]
    assert "outside −50 … 100 %: check the heights" in vhl_fieldset  # beside the heights
    assert "Nothing was saved" in page
    assert Fracture.objects.count() == 0


def test_the_result_page_shows_score_group_breakdown_cohort_and_citation(signed_in, patient, second_case):
    signed_in.post(new_assessment_url(patient), second_case)
    page = text(signed_in.get(Fracture.objects.get().get_absolute_url()))
    assert '<div class="score-total" data-testid="score-total">10</div>' in page
    assert "High risk</span>" in page  # a text label, not colour alone
    assert "17.8 %" in page and "19.6°" in page and "−3.6" in page and "T ≤ −3.5" in page
    # spec §5, high group: non-union 39/63 (61.9 %), kyphosis 30/63 (47.6 %), with Wilson intervals.
    assert "non-union at 6 months in 61.9 %</strong>" in page
    assert "39/63; 95 % CI 49.6–72.9 %" in page
    assert "progressive kyphosis in 47.6 %</strong>" in page
    assert "vertebral augmentation may be the better option" in page
    assert "Scientific Reports" in page
    assert "Outside the population" not in page


def test_the_result_page_warns_for_each_criterion_outside_the_validated_population(
    signed_in, make_patient, second_case
):
    young = make_patient(mrn="YOUNG", date_of_birth=datetime.date(1980, 1, 1))
    data = {**second_case, "level": "L4", "low_energy_trauma": "no", "bmd_t_score": "-0.5"}
    signed_in.post(new_assessment_url(young), data)
    fracture = Fracture.objects.get()
    page = text(signed_in.get(fracture.get_absolute_url()))
    for code in ["bmd_above_inclusion", "age_below_inclusion", "level_outside_validated", "high_energy_trauma"]:
        assert f'data-warning-code="{code}"' in page
    assert "Level L4 is outside T11–L2" in page


def test_a_treatment_other_than_conservative_is_warned_about(signed_in, patient, second_case):
    signed_in.post(new_assessment_url(patient), {**second_case, "treatment": "kyphoplasty"})
    fracture = Fracture.objects.get()
    assert [w["code"] for w in fracture.population_warnings] == ["treatment_not_conservative"]
    assert 'data-warning-code="treatment_not_conservative"' in text(signed_in.get(fracture.get_absolute_url()))


def test_editing_an_assessment_recomputes_its_score(signed_in, patient, second_case, make_user):
    signed_in.post(new_assessment_url(patient), second_case)
    fracture = Fracture.objects.get()
    form_page = text(signed_in.get(f"/assessments/{fracture.pk}/edit/"))
    assert 'value="17.8"' in form_page and 'value="-3.6"' in form_page
    editor = make_user("editor")
    signed_in.force_login(editor)
    response = signed_in.post(
        f"/assessments/{fracture.pk}/edit/",
        {**second_case, "bmd_t_score": "-2.0", "vhl_percent": "14.9", "version": "1"},
    )
    assert response.status_code == 302
    fracture.refresh_from_db()
    assert fracture.total_score == 4  # KA 2 + T2 2
    assert fracture.risk_group == "medium"
    assert fracture.updated_by == editor
    assert Fracture.objects.count() == 1


def test_bmi_is_shown_from_height_and_weight(signed_in, patient, second_case):
    signed_in.post(new_assessment_url(patient), second_case)
    page = text(signed_in.get(Fracture.objects.get().get_absolute_url()))
    assert "21.6 kg/m²" in page  # 50 / 1.52²


def test_the_edit_form_of_an_assessment_without_heights_shows_its_vhl(signed_in, patient, make_fracture):
    fracture = make_fracture(patient)  # saved outside the form: no vhl_entered_percent
    page = text(signed_in.get(f"/assessments/{fracture.pk}/edit/"))
    assert 'name="vhl_percent" value="17.8"' in page


def test_a_second_readers_mean_is_scored_and_a_large_disagreement_flagged(signed_in, patient, second_case):
    data = {
        **second_case,
        "vhl_percent": "12.0",
        "kyphosis_angle_deg": "12.0",
        "first_reader_name": "Dr A",
        "second_reader_name": "Dr B",
        "second_vhl_percent": "18.0",
        "second_kyphosis_angle_deg": "18.1",
    }
    signed_in.post(new_assessment_url(patient), data)
    fracture = Fracture.objects.get()
    assert (fracture.first_vhl_percent, fracture.second_vhl_percent, fracture.vhl_percent) == (
        Decimal("12.0"),
        Decimal("18.0"),
        Decimal("15.0"),
    )
    assert (fracture.first_kyphosis_angle_deg, fracture.second_kyphosis_angle_deg) == (Decimal("12.0"), Decimal("18.1"))
    assert fracture.kyphosis_angle_deg == Decimal("15.05")  # spec §2, revised: the mean is not rounded
    assert fracture.score_components["vertebral_height_loss"]["points"] == 2  # the mean, 15.0, is scored
    assert fracture.readers_disagree
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "Readers differ by more than 5 % or 5°" in page and "Dr B" in page
    edit = text(signed_in.get(f"/assessments/{fracture.pk}/edit/"))
    assert 'name="kyphosis_angle_deg" value="12.0"' in edit  # the first reader's own values
    assert 'name="vhl_percent" value="12.0"' in edit
    # Saving again unchanged keeps the same mean (it must not drift towards the second reader).
    signed_in.post(f"/assessments/{fracture.pk}/edit/", {**data, "version": "1"})
    fracture.refresh_from_db()
    assert (fracture.first_vhl_percent, fracture.vhl_percent, fracture.version) == (Decimal("12.0"), Decimal("15.0"), 2)


def test_a_second_reader_needs_a_name(signed_in, patient, second_case):
    response = signed_in.post(new_assessment_url(patient), {**second_case, "second_vhl_percent": "18"})
    assert "Name the second reader." in text(response)
    assert Fracture.objects.count() == 0


def test_genant_grade_and_of_class_are_shown_beside_the_score(signed_in, patient, second_case):
    del second_case["vhl_percent"]
    heights = {
        "fractured_anterior_mm": "22.5",
        "fractured_posterior_mm": "28.5",
        "cranial_anterior_mm": "30",
        "cranial_posterior_mm": "30",
        "caudal_anterior_mm": "30",
        "caudal_posterior_mm": "30",
    }
    signed_in.post(new_assessment_url(patient), {**second_case, **heights, "of_class": "OF3"})
    fracture = Fracture.objects.get()
    assert (fracture.genant_grade, fracture.genant_reduction_percent) == (2, Decimal("25.0"))
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "Genant grade (height-based approximation)" in page
    assert "grade 2 (largest height reduction 25.0 %)" in page
    assert "OF 3: deformation of one endplate, distinct" in page


def test_the_assessment_form_preselects_no_fracture_type_or_t2_pattern(signed_in, patient, second_case):
    page = text(signed_in.get(new_assessment_url(patient)))
    for name in ("fracture_type", "t2_signal"):
        select = page[page.index(f'name="{name}"') :]
        select = select[: select.index("</select>")]
        assert '<option value="" selected>—</option>' in select, name
    del second_case["t2_signal"]
    response = signed_in.post(new_assessment_url(patient), second_case)
    assert "This field is required." in text(response) and Fracture.objects.count() == 0


def test_odi_at_baseline_from_sections_is_saved_and_shown_with_what_was_answered(signed_in, patient, second_case):
    del second_case["odi_percent"]
    sections = {f"odi_section_{n}": "3" for n in range(1, 11)}
    sections["odi_section_8"] = ""
    signed_in.post(f"/patients/{patient.pk}/assessments/new/", {**second_case, **sections})
    fracture = Fracture.objects.get()
    assert fracture.odi_percent == D("60.0")
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "60.0 % (from 9 of 10 sections; not answered: Sex life)" in page


# -- editing the baseline after visits or a treatment change -----------------------------------


def test_editing_the_baseline_recomputes_the_visits_differences(signed_in, case_two, second_case):
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0"})
    edit = {**second_case, "kyphosis_angle_deg": "15.0", "version": "1"}
    response = signed_in.post(f"/assessments/{case_two.pk}/edit/", edit)
    # The edit moves a known outcome (no progressive kyphosis at +6.4° → yes at +11.0°): asked first.
    assert (
        "Not saved yet: This changes the fracture&#x27;s course: progressive kyphosis at 6 months no (+6.4°) → yes (+11.0°)."
        in text(response)
    )
    assert Visit.objects.get().kyphosis_difference_deg == D("6.4")
    confirmed_post(signed_in, f"/assessments/{case_two.pk}/edit/", edit)
    visit = Visit.objects.get()
    assert visit.kyphosis_difference_deg == D("11.0") and visit.progressive_kyphosis is True
    case_two.refresh_from_db()
    assert case_two.progressive_kyphosis is True


def test_the_assessment_cannot_be_moved_after_its_first_visit(signed_in, case_two, second_case):
    signed_in.post(visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "6"})
    response = signed_in.post(
        f"/assessments/{case_two.pk}/edit/",
        {**second_case, "assessment_date": "2025-04-11", "injury_date": "", "version": "1"},
    )
    assert "A follow-up visit is dated 2025-04-10, before this" in text(response)


def test_after_a_change_the_first_treatment_and_its_start_stay_consistent(signed_in, case_two, second_case):
    signed_in.post(
        f"/assessments/{case_two.pk}/treatment-change/",
        {"treatment": "vertebroplasty", "changed_on": "2025-04-01", "version": "1"},
    )
    response = signed_in.post(
        f"/assessments/{case_two.pk}/edit/",
        {**second_case, "treatment": "kyphoplasty", "treatment_start_date": "2025-04-05", "version": "2"},
    )
    page = text(response)
    assert "the treatment first chosen stays as it was" in page
    assert "Treatment changed on 2025-04-01: it started before that." in page
    case_two.refresh_from_db()
    assert case_two.treatment == "conservative"


# -- timeline and report -----------------------------------------------------------------------


def test_timeline_draws_charts_with_the_cohort_medians_for_the_group(signed_in, case_two):
    signed_in.post(
        visit_url(case_two),
        {
            "kind": "6m",
            "visit_date": "2025-09-10",
            "kyphosis_angle_deg": "26.0",
            "vhl_percent": "38.1",
            "vas_pain": "4",
            "odi_percent": "30",
        },
    )
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert page.count('<svg viewBox="0 0 360 200"') == 4
    assert "Kyphosis angle over time" in page
    # spec §5, high group: KA 12.5 (9.35–14.85) before, 22.1 (18.55–27) at 6 months.
    assert "Cohort median (IQR), high group: pretreatment and 6 months: 12.5 (9.35–14.85), then 22.1 (18.55–27)" in page
    assert "6 months (2025-09-10): 26°" in page


def test_the_charts_show_a_new_or_edited_visit_at_once(signed_in, case_two):
    """A new visit and an edited visit each show at once, on the page and on the printed report."""
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0"})
    assert "6 months (2025-09-10): 26°" in text(signed_in.get(case_two.get_absolute_url()))
    visit = case_two.visits.get()
    confirmed_post(  # +6.4° → +10.4°: progressive kyphosis no → yes, confirmed
        signed_in,
        f"/visits/{visit.pk}/edit/",
        {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "30.0", "version": visit.version},
    )
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert "6 months (2025-09-10): 30°" in page and "26°" not in page
    signed_in.post(visit_url(case_two), {"kind": "3m", "visit_date": "2025-06-10", "kyphosis_angle_deg": "20.0"})
    assert "3 months (2025-06-10): 20°" in text(signed_in.get(case_two.get_absolute_url()))
    assert "3 months (2025-06-10): 20°" in text(signed_in.get(f"/assessments/{case_two.pk}/print/"))


def test_the_page_shows_the_course_as_stored(signed_in, case_two):
    """The course is saved without raising the fracture's version (services.refresh_course): the
    page shows it as it is stored, whatever the version."""
    assert "Not assessed yet" in text(signed_in.get(case_two.get_absolute_url()))
    Fracture.objects.filter(pk=case_two.pk).update(non_union=True, non_union_on=datetime.date(2025, 9, 10))
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert "Not assessed yet" not in page and "Non-union</span> (2025-09-10)" in page


def test_print_page_is_a_clean_report(signed_in, case_two, user):
    signed_in.post(
        visit_url(case_two),
        {
            "kind": "6m",
            "visit_date": "2025-09-10",
            "kyphosis_angle_deg": "26.0",
            "bone_union": "non_union",
            "vacuum_cleft_ct": "on",
        },
    )
    response = signed_in.get(f"/assessments/{case_two.pk}/print/")
    page = text(response)
    assert response.status_code == 200
    assert "NASOVCF fracture report" in page and case_two.patient.mrn in page
    assert f"by {user.username}" in page and "Printed " in page
    assert 'class="navbar' not in page  # no navigation
    assert "print.css" in page
    assert "Non-union" in page and "intravertebral vacuum cleft on CT" in page
    assert page.count("<svg") >= 1


def test_fracture_page_queries_do_not_grow_with_its_visits(signed_in, case_two, django_assert_max_num_queries):
    with django_assert_max_num_queries(12) as small:
        signed_in.get(case_two.get_absolute_url())
    for n in range(12):
        Visit.objects.create(
            fracture=case_two,
            kind="unscheduled",
            visit_date=datetime.date(2025, 4, 1) + datetime.timedelta(days=n),
            vas_pain=D(5),
            created_by=case_two.created_by,
            updated_by=case_two.created_by,
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(case_two.get_absolute_url())
