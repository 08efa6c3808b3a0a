"""The paper's column of the cohort page comes from scoring/paper.py and prints as the spec does."""

import pytest

from cohort import analysis, presenters

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
    assert set(presenters.PAPER_MEASURES) == set(analysis.MEASURES)


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
    empty = analysis.Rate(0, 0, float("nan"), float("nan"), float("nan"))
    result = type(
        "Result",
        (),
        {
            "group_n": dict.fromkeys(analysis.GROUPS, 0),
            "rates": {o: dict.fromkeys(analysis.GROUPS, empty) for o in analysis.OUTCOMES},
        },
    )
    rows = {row["group"]: row for row in presenters.cohort_table(result)}
    assert [rows[g]["paper_n"] for g in analysis.GROUPS] == [47, 98, 63]
    assert rows["high"]["outcomes"][0] == {"ours": "—", "paper": "61.9 % (39/63; 49.6–72.9)"}
    assert rows["low"]["outcomes"][1]["paper"].startswith("2.2 % (1/46; ")  # as published: 46, not 47
