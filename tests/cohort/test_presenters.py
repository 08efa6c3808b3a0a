"""The paper's column of the cohort page comes from scoring/paper.py and prints as the spec does."""

import pytest

from cohort import analysis, groups, presenters

# spec §5, radiographic course, median (IQR), as printed.
SPEC_MEDIANS = {
    "vhl_pre": ("2.5 (0.8, 7)", "5.4 (2.5, 8.4)", "15.1 (11.85, 23)"),
    "vhl_6m": ("4.8 (1.6, 9.25)", "9.35 (6.7, 15.1)", "28.6 (20.7, 36.1)"),
    "vhl_diff": ("0.9 (0.5, 1.4)", "3.5 (2.3, 6.25)", "13.1 (5.35, 18.65)"),
    "ka_pre": ("2.4 (1.5, 5.45)", "3.65 (2.7, 5.5)", "12.5 (9.35, 14.85)"),
    "ka_6m": ("4.1 (2, 6.85)", "7.45 (5.2, 11.125)", "22.1 (18.55, 27)"),
    "ka_diff": ("0.9 (0.5, 1.5)", "2.95 (1.5, 5.3)", "9.5 (5.05, 15.55)"),
}


@pytest.mark.parametrize("measure", SPEC_MEDIANS)
def test_the_papers_medians_print_as_published(measure):
    assert tuple(presenters.paper_median(measure, group) for group in analysis.GROUPS) == SPEC_MEDIANS[measure]


def test_every_measure_of_the_page_has_the_papers_figure():
    assert set(presenters.PAPER_MEASURES) == set(presenters.MEASURE_LABELS) == set(groups.RADIOGRAPHIC_MEASURES)


def test_the_papers_auc_and_models_print_as_published():
    assert presenters.paper_auc("non_union") == "0.872 (0.816–0.928)"
    assert presenters.paper_auc("progressive_kyphosis") == "not reported for the score alone"
    assert presenters.paper_model("non_union") == (
        "NASOVCF score OR 1.713 per point (1.458–2.013), P < 0.001; model AUC 0.895 (0.841–0.949)"
    )
    assert presenters.paper_model("progressive_kyphosis") == (
        "NASOVCF score OR 1.373 per point (1.203–1.568); female sex OR 4.326 (1.324–14.138); "
        "pretreatment ODI OR 1.096 per point (1.023–1.174); model AUC 0.835 (0.768–0.903)"
    )


def test_the_papers_rates_beside_ours_carry_their_wilson_interval():
    assert presenters.paper_rate("high", "non_union") == "61.9 % (39/63; 49.6–72.9)"
    assert presenters.paper_rate("low", "progressive_kyphosis").startswith("2.2 % (1/46; ")  # as published: 46


def test_an_auc_without_an_interval_says_why_and_never_prints_a_zero_width_one():
    perfect = {"auc": 1.0, "ci_low": None, "ci_high": None, "note": "the score separates the outcomes perfectly"}
    assert presenters.auc_text(perfect) == "1.000 (no interval: the score separates the outcomes perfectly)"
    too_few = {"auc": None, "note": "too few events: 2 with the outcome and 40 without"}
    assert presenters.auc_text(too_few) == "too few events: 2 with the outcome and 40 without"


def test_a_kappa_interval_past_its_range_is_not_printed_as_an_interval():
    agreement = {
        "vhl": None,
        "kyphosis": None,
        "vhl_pairs": 2,
        "kyphosis_pairs": 2,
        "group_pairs": 45,
        "group_kappa": {"kappa": 0.927, "ci_low": 0.828, "ci_high": 1.026, "agreement": 0.956, "note": ""},
        "group_weighted_kappa": {"kappa": 0.5, "ci_low": 0.3, "ci_high": 0.7, "agreement": 0.9, "note": ""},
    }
    cells = [
        row["cells"][1]["text"]
        for row in presenters.agreement_section({"agreement": agreement}, 3)["tables"][0]["rows"]
    ]
    assert cells[0] == "too few to compute: 2 measured by both, 3 needed"
    assert (
        cells[2]
        == "0.927 (no interval: the asymptotic interval reaches past κ's range, raw 0.828 to 1.026; 95.6 % agree)"
    )
    assert cells[3] == "0.500 (0.300–0.700) (90.0 % agree)"


def test_the_univariable_table_sets_the_papers_table_1_beside_each_item():
    fit = {
        "n": 100,
        "events": 30,
        "note": "",
        "predictors": ["burst"],
        "terms": [
            {
                "term": "Burst fracture",
                "key": "burst",
                "odds_ratio": 5.0,
                "ci_low": 2.0,
                "ci_high": 12.5,
                "p_value": 0.0004,
            }
        ],
    }
    (row,) = presenters._fit_rows(fit, "non_union", "burst")
    assert [c["text"] for c in row["cells"]] == [
        "5.000 (2.000–12.500)",
        "< 0.001",
        "100 (30 events)",
        "5.677 (2.781–11.586), P < 0.001",
    ]
    (row,) = presenters._fit_rows(fit, "progressive_kyphosis", "burst")
    assert row["cells"][-1]["text"] == "not restated in the spec"


def test_an_icc_outside_its_range_or_with_an_interval_past_it_is_not_printed_as_one():
    base = {"kyphosis": None, "kyphosis_pairs": 0, "group_kappa": None, "group_weighted_kappa": None, "group_pairs": 0}

    def vhl_cell(icc: dict) -> str:
        agreement = {**base, "vhl": icc, "vhl_pairs": 3}
        return presenters.agreement_section({"agreement": agreement}, 3)["tables"][0]["rows"][0]["cells"][1]["text"]

    assert vhl_cell({"icc": -3.0, "ci_low": -3.0, "ci_high": -3.0}) == (
        "not computable: the estimate (−3.000) falls outside −1 to 1 with 3 pairs"
    )
    assert vhl_cell({"icc": 0.859, "ci_low": -1.341, "ci_high": 0.996}).startswith("0.859 (no interval: ")
    assert vhl_cell({"icc": 0.9, "ci_low": 0.8, "ci_high": 0.95}) == "0.900 (0.800–0.950)"


def test_the_papers_odds_ratios_name_their_unit_in_the_readers_language():
    """ "OR 1.713 per point": the unit is marked for the catalogue, so a Chinese page does not
    read "每增加 1 point"; the English is unchanged."""
    from django.utils import translation

    with translation.override("en-gb"):
        assert "NASOVCF score OR 1.713 per point (1.458–2.013)" in presenters.paper_model("non_union")
    with translation.override("zh-hans"):
        line = presenters.paper_model("non_union")
        assert "point" not in line and "1 分" in line
