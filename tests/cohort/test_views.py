"""The cohort page (the validation report), its JSON and its download: the groups beside the
paper, the filter, the exclusions, agreement, head-to-head, one computation for all three."""

import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from scoring.models import Fracture

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_the_cohort_pages_are_named_in_their_own_namespace():
    assert reverse("cohort:cohort") == "/cohort/"
    assert reverse("cohort:export") == "/cohort/export/"
    assert reverse("cohort:dictionary") == "/cohort/dictionary.csv"
    assert reverse("cohort:report_json") == "/cohort/report.json"
    assert reverse("cohort:report_download") == "/cohort/report.html"


def test_the_navigation_links_to_the_cohort_page_and_marks_it_current(signed_in, demo):
    page = text(signed_in.get("/cohort/"))
    assert 'active" aria-current="page" href="/cohort/">Cohort</a>' in page


def test_cohort_page_shows_the_three_groups_beside_the_paper(signed_in, demo):
    page = text(signed_in.get("/cohort/"))
    for group in ("low", "medium", "high"):
        assert f'data-row="{group}"' in page
    assert "fractures counted" in page and "not counted:" in page
    assert "39/63" in page  # the paper's high-group non-union, beside ours
    assert page.count('data-testid="auc"') == 2
    assert "0.872 (0.816–0.928)" in page
    assert page.count('src="/cohort/plot/') == 6  # Figs. 1, 3, 4, the models, calibration, decision
    assert "Radiographic course" in page and "15.1 (11.85, 23)" in page
    assert "NASOVCF score OR 1.713 per point (1.458–2.013), P &lt; 0.001; model AUC 0.895 (0.841–0.949)" in page
    assert "spec §5; 208 patients" in page


@pytest.mark.parametrize(
    "reference",
    [
        "the paper&#x27;s Table 3",
        "the paper&#x27;s Table 4",
        "the paper&#x27;s Tables 1, 5 and 6",
        "the paper&#x27;s Fig. 3",
        "the paper&#x27;s Fig. 1",
        "the paper&#x27;s Fig. 4",
    ],
)
def test_every_table_and_figure_of_the_paper_has_its_section(signed_in, demo, reference):
    assert reference in text(signed_in.get("/cohort/"))


def test_the_page_and_the_json_give_the_same_number(signed_in, demo):
    page = text(signed_in.get("/cohort/"))
    report = signed_in.get("/cohort/report.json").json()
    auc = report["discrimination"]["non_union"]["auc"]
    from cohort import formatting

    shown = re.search(r'data-testid="auc">([^<]*)<', page).group(1)
    assert shown.startswith(formatting.ratio(auc["auc"]) + " (" + formatting.ratio(auc["ci_low"]))
    assert report["meta"]["schema"] == "nasovcf-validation-report/1"
    assert report["population"]["counted"] == int(re.search(r"(\d+) of \d+ fractures counted", page).group(1))


def test_the_json_is_strict_json_and_keeps_full_precision(signed_in, demo):
    response = signed_in.get("/cohort/report.json?sex=F")
    assert response["Content-Type"] == "application/json"
    body = response.content.decode()
    assert "NaN" not in body and "Infinity" not in body
    report = json.loads(body)
    assert report["meta"]["filters"] == {"sex": "F"}
    assert len(repr(report["discrimination"]["non_union"]["auc"]["auc"])) > 8  # not rounded to 3 decimals


def test_an_invalid_filter_gives_the_apis_error_shape(signed_in, user):
    response = signed_in.get("/cohort/report.json?date_from=2025-99-01")
    assert response.status_code == 400
    assert list(response.json()) == ["errors"] and "date_from" in response.json()["errors"]
    assert signed_in.get("/cohort/report.html?date_from=2025-99-01").status_code == 400


def test_the_download_is_one_self_contained_stamped_html_file(signed_in, demo):
    from nasovcf_site.version import VERSION
    from scoring.rules import RULES_VERSION

    response = signed_in.get("/cohort/report.html?level=L1&eligible=on")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="nasovcf-validation-report-')
    page = response.content.decode()
    assert f"NASOVCF Clinic {VERSION}" in page and f"rules {RULES_VERSION}" in page
    assert "Filter: level L1; only the paper&#x27;s eligible population (spec §4)" in page
    assert "<link" not in page and "<script" not in page  # nothing to fetch: the styles and plots are inside
    assert page.count('src="data:image/svg+xml;base64,') >= 4 and "/cohort/plot/" not in page
    assert "Sensitivity analysis: one fracture per patient" in page


def test_the_report_needs_the_same_permission_as_the_page(client, make_user, demo):
    assert client.get("/cohort/report.json").status_code == 302  # sign in first
    client.force_login(make_user("nobody", role=None))
    assert client.get("/cohort/report.json").status_code == 403
    assert client.get("/cohort/report.html").status_code == 403
    client.force_login(make_user("reader", role="viewer"))
    assert client.get("/cohort/report.json").status_code == 200


def test_the_report_is_computed_once_per_version_of_the_data(signed_in, demo, make_patient, make_fracture):
    from cohort import report

    calls = []
    original = report.compute

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    report.compute = counting
    try:
        first = signed_in.get("/cohort/report.json").json()
        signed_in.get("/cohort/")
        signed_in.get("/cohort/report.html")
        assert len(calls) == 1  # the page, the JSON and the download share one computation
        make_fracture(make_patient(mrn="NEW-1"))  # any change makes a new version
        second = signed_in.get("/cohort/report.json").json()
        assert len(calls) == 2
        assert second["population"]["total"] == first["population"]["total"] + 1
        assert second["meta"]["data_version"] != first["meta"]["data_version"]
    finally:
        report.compute = original


def test_cohort_page_filters_and_counts_the_exclusions(signed_in, demo):
    everyone = text(signed_in.get("/cohort/"))
    women = text(signed_in.get("/cohort/?sex=F"))
    total = Fracture.objects.count()
    female = Fracture.objects.filter(patient__sex="F").count()
    assert f"of {total} fractures counted" in everyone
    assert f"of {female} fractures counted" in women
    assert "not conservative care" in everyone
    assert "The end comes before the start." in text(signed_in.get("/cohort/?date_from=2025-02-01&date_to=2025-01-01"))


def test_cohort_page_says_plainly_when_there_are_too_few_events(signed_in, user):
    call_command("seed_demo", patients=12, seed=3)
    page = text(signed_in.get("/cohort/"))
    assert "fractures counted" in page
    assert "Too few events to fit" in page or "too few events" in page


def test_cohort_page_queries_do_not_grow_with_the_data(signed_in, user, django_assert_max_num_queries):
    call_command("seed_demo", patients=50, seed=1)
    with django_assert_max_num_queries(
        14
    ) as small:  # session, user, permissions, the data version (3), fractures, visits
        signed_in.get("/cohort/")
    call_command("seed_demo", patients=300, seed=2)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get("/cohort/")


def test_viewers_see_the_cohort_page_and_de_identified_exports_only(client, make_user, demo):
    client.force_login(make_user("reader", role="viewer"))
    page = text(client.get("/cohort/"))
    assert "De-identified CSV" in page and "Identified CSV" not in page
    assert client.get("/cohort/export/?format=csv&identified=0").status_code == 200
    assert client.get("/cohort/export/?format=csv&identified=1").status_code == 403
    assert client.get("/cohort/export/?format=xlsx&identified=1").status_code == 403


def test_an_invalid_filter_exports_nothing_and_analyses_nothing(signed_in, demo):
    from cohort.models import ExportLog

    response = signed_in.get("/cohort/export/?format=csv&identified=1&level=L1&date_from=2025-99-01")
    assert response.status_code == 400
    assert not ExportLog.objects.exists()
    page = signed_in.get("/cohort/?level=L1&date_from=2025-99-01")
    assert page.status_code == 400 and "nothing is analysed or exported" in text(page)
    assert 'data-table="' not in text(page)


def test_cohort_page_shows_reader_agreement_and_the_head_to_head(signed_in, demo):
    page = text(signed_in.get("/cohort/"))
    assert "ICC(2,1), 95 % CI" in page and "Cohen" in page
    with_both = Fracture.objects.exclude(second_vhl_percent=None).count()
    assert with_both > 10
    assert f"<td>{with_both}</td>" in page
    assert "Genant grade (height-based approximation)" in page and "AO Spine-DGOU class (OF 1–5)" in page
    assert "weighted κ" in page and "paired DeLong" in page


def two_reader_fracture(make_patient, make_fracture, mrn, first_vhl, second_vhl, first_ka, second_ka):
    """A fracture both readers measured, saved as the assessment page saves it: the film's values
    the readers' mean, not rounded."""
    return make_fracture(
        make_patient(mrn=mrn),
        first_reader_name="Dr Ahn",
        second_reader_name="Dr Baker",
        first_vhl_percent=first_vhl,
        second_vhl_percent=second_vhl,
        vhl_percent=(first_vhl + second_vhl) / 2,
        first_kyphosis_angle_deg=first_ka,
        second_kyphosis_angle_deg=second_ka,
        kyphosis_angle_deg=(first_ka + second_ka) / 2,
    )


def agreement_cells(page: str) -> list[tuple[str, str]]:
    import re

    table = page[page.index('data-table="agreement"') :]
    table = table[: table.index("</table>")]
    return re.findall(r'<td data-testid="agreement">([^<]*)</td><td>(\d+)</td>', table)


def test_two_fractures_read_twice_count_two_even_if_too_few_for_a_statistic(signed_in, make_patient, make_fracture):
    from decimal import Decimal as D

    two_reader_fracture(make_patient, make_fracture, "R1", D("14.9"), D("15.0"), D("10.0"), D("12.0"))
    two_reader_fracture(make_patient, make_fracture, "R2", D("20.0"), D("22.0"), D("16.0"), D("15.0"))
    make_fracture(make_patient(mrn="R3"), first_vhl_percent=D("17.8"), first_kyphosis_angle_deg=D("19.6"))  # one reader
    cells = agreement_cells(text(signed_in.get("/cohort/")))
    too_few = "too few to compute: 2 measured by both, 3 needed"
    assert cells == [(too_few, "2")] * 4


def test_a_third_two_reader_fracture_gives_the_statistics(signed_in, make_patient, make_fracture):
    from decimal import Decimal as D

    two_reader_fracture(make_patient, make_fracture, "R1", D("14.9"), D("15.0"), D("10.0"), D("12.0"))
    two_reader_fracture(make_patient, make_fracture, "R2", D("20.0"), D("22.0"), D("16.0"), D("15.0"))
    two_reader_fracture(make_patient, make_fracture, "R3", D("5.0"), D("6.0"), D("3.0"), D("4.0"))
    cells = agreement_cells(text(signed_in.get("/cohort/")))
    assert [n for _, n in cells] == ["3", "3", "3", "3"]
    assert all(value[0].isdigit() or value.startswith("−") for value, _ in cells[:2])  # ICCs, not a message
    assert "% agree" in cells[2][0] and "% agree" in cells[3][0]


def test_the_cohort_page_gives_a_treatment_change_as_the_reason(signed_in, make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="CHG1"))
    signed_in.post(
        f"/assessments/{fracture.pk}/treatment-change/",
        {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "version": "1"},
    )
    make_fracture(make_patient(mrn="VP1"), treatment="vertebroplasty")
    page = text(signed_in.get("/cohort/"))
    assert "<li>1 not counted: treatment changed</li>" in page
    assert "<li>1 not counted: not conservative care</li>" in page


def test_each_plot_has_its_own_url_drawn_from_the_cached_report(signed_in, demo):
    page = text(signed_in.get("/cohort/?sex=F"))
    sources = re.findall(r'src="(/cohort/plot/[a-z_]+\.svg\?sex=F)"', page)
    assert len(sources) == 6
    for source in sources:
        response = signed_in.get(source)
        assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
        assert response.content.lstrip().startswith(b"<?xml") and b"<svg" in response.content
    assert signed_in.get("/cohort/plot/nothing.svg").status_code == 404
    assert signed_in.get("/cohort/plot/roc.svg?date_from=2025-99-01").status_code == 400


def test_a_plot_with_nothing_to_draw_is_not_asked_for(signed_in, user):
    page = text(signed_in.get("/cohort/"))  # no fracture at all: only the paper's rates to draw
    assert re.findall(r'src="/cohort/plot/(\w+)\.svg"', page) == ["rates"]
    assert signed_in.get("/cohort/plot/rates.svg").status_code == 200
    assert signed_in.get("/cohort/plot/roc.svg").status_code == 404


@pytest.fixture
def back_to_english():
    """A request in Chinese leaves its language active in this thread: the tests after it must not
    read Chinese."""
    from django.utils import translation

    yield
    translation.deactivate()


def test_a_report_cached_in_one_language_is_not_served_in_the_other(signed_in, demo, back_to_english):
    """The cached report holds no words; its sections are written per request and each plot is
    cached per language (issue 16), so English after Chinese (and back) reads in its own language."""
    from django.utils import translation

    from cohort import report

    with translation.override("zh-hans"):
        chinese_heading = translation.gettext("Who is counted")
    english = text(signed_in.get("/cohort/", HTTP_ACCEPT_LANGUAGE="en"))
    chinese = text(signed_in.get("/cohort/", HTTP_ACCEPT_LANGUAGE="zh-Hans"))
    english_again = text(signed_in.get("/cohort/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Who is counted" in english and "Who is counted" in english_again
    assert chinese_heading in chinese
    if chinese_heading != "Who is counted":  # the catalogue has it
        assert "Who is counted" not in chinese

    drawn = []
    original = report._plotters

    def plotters():
        return {
            name: (lambda figures, name=name: drawn.append(name) or translation.get_language()) for name in original()
        }

    report._plotters = plotters
    try:
        assert signed_in.get("/cohort/plot/rates.svg", HTTP_ACCEPT_LANGUAGE="en").content == b"en-gb"
        assert signed_in.get("/cohort/plot/rates.svg", HTTP_ACCEPT_LANGUAGE="zh-Hans").content == b"zh-hans"
        assert signed_in.get("/cohort/plot/rates.svg", HTTP_ACCEPT_LANGUAGE="en").content == b"en-gb"
        assert signed_in.get("/cohort/plot/rates.svg", HTTP_ACCEPT_LANGUAGE="zh-Hans").content == b"zh-hans"
        assert drawn == ["rates", "rates"]  # once in each language, then from the cache
    finally:
        report._plotters = original


def test_the_json_report_is_in_english_whoever_asks(signed_in, demo, back_to_english):
    """A data contract: its keys and its words do not change with the reader's language."""
    english = signed_in.get("/cohort/report.json", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = signed_in.get("/cohort/report.json", HTTP_ACCEPT_LANGUAGE="zh-Hans").json()
    english["meta"].pop("generated_at"), chinese["meta"].pop("generated_at")
    assert english == chinese
