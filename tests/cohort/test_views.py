"""The cohort page: the groups beside the paper, the filter, the exclusions, agreement, head-to-head."""

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


def test_the_navigation_links_to_the_cohort_page_and_marks_it_current(signed_in, demo):
    page = text(signed_in.get("/cohort/"))
    assert 'active" aria-current="page" href="/cohort/">Cohort</a>' in page


def test_cohort_page_shows_the_three_groups_beside_the_paper(signed_in, demo):
    page = text(signed_in.get("/cohort/"))
    for group in ("low", "medium", "high"):
        assert f'data-group="{group}"' in page
    assert "fractures included" in page and "excluded:" in page
    assert "39/63" in page  # the paper's high-group non-union, beside ours
    assert page.count('data-testid="auc"') == 2
    assert "0.872 (0.816–0.928)" in page
    assert page.count('src="data:image/svg+xml;base64,') == 2
    assert "Radiographic course" in page and "15.1 (11.85, 23)" in page
    assert "NASOVCF score OR 1.713 per point (1.458–2.013), P &lt; 0.001; model AUC 0.895 (0.841–0.949)" in page
    assert "(208 patients, one centre)" in page


def test_cohort_page_filters_and_counts_the_exclusions(signed_in, demo):
    everyone = text(signed_in.get("/cohort/"))
    women = text(signed_in.get("/cohort/?sex=F"))
    total = Fracture.objects.count()
    female = Fracture.objects.filter(patient__sex="F").count()
    assert f"of {total} fractures included" in everyone
    assert f"of {female} fractures included" in women
    assert "not conservative care" in everyone
    assert "The end comes before the start." in text(signed_in.get("/cohort/?date_from=2025-02-01&date_to=2025-01-01"))


def test_cohort_page_says_plainly_when_there_are_too_few_events(signed_in, user):
    call_command("seed_demo", patients=12, seed=3)
    page = text(signed_in.get("/cohort/"))
    assert "fractures included" in page
    assert "Too few events to fit" in page


def test_cohort_page_queries_do_not_grow_with_the_data(signed_in, user, django_assert_max_num_queries):
    call_command("seed_demo", patients=50, seed=1)
    with django_assert_max_num_queries(12) as small:
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


def test_cohort_page_shows_reader_agreement_and_the_head_to_head(signed_in, demo):
    page = text(signed_in.get("/cohort/"))
    assert "ICC(2,1), 95 % CI" in page and "Cohen" in page
    with_both = Fracture.objects.exclude(second_vhl_percent=None).count()
    assert with_both > 10
    assert f'<td class="text-end">{with_both}</td>' in page
    assert "Genant grade (height-based approximation)" in page and "AO Spine-DGOU class (OF 1–5)" in page
    assert page.count("too few patients") < 6


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

    table = page[page.index('class="table table-sm w-auto cohort-agreement"') :]
    table = table[: table.index("</table>")]
    return re.findall(r'<td data-testid="agreement">([^<]*)</td><td class="text-end">(\d+)</td>', table)


def test_two_fractures_read_twice_count_two_even_if_too_few_for_a_statistic(signed_in, make_patient, make_fracture):
    from decimal import Decimal as D

    two_reader_fracture(make_patient, make_fracture, "R1", D("14.9"), D("15.0"), D("10.0"), D("12.0"))
    two_reader_fracture(make_patient, make_fracture, "R2", D("20.0"), D("22.0"), D("16.0"), D("15.0"))
    make_fracture(make_patient(mrn="R3"), first_vhl_percent=D("17.8"), first_kyphosis_angle_deg=D("19.6"))  # one reader
    cells = agreement_cells(text(signed_in.get("/cohort/")))
    too_few = "too few to compute: 2 measured by both, 3 needed"
    assert cells == [(too_few, "2"), (too_few, "2"), (too_few, "2")]


def test_a_third_two_reader_fracture_gives_the_statistics(signed_in, make_patient, make_fracture):
    from decimal import Decimal as D

    two_reader_fracture(make_patient, make_fracture, "R1", D("14.9"), D("15.0"), D("10.0"), D("12.0"))
    two_reader_fracture(make_patient, make_fracture, "R2", D("20.0"), D("22.0"), D("16.0"), D("15.0"))
    two_reader_fracture(make_patient, make_fracture, "R3", D("5.0"), D("6.0"), D("3.0"), D("4.0"))
    cells = agreement_cells(text(signed_in.get("/cohort/")))
    assert [n for _, n in cells] == ["3", "3", "3"]
    assert all(value[0].isdigit() or value.startswith("-") for value, _ in cells[:2])  # ICCs, not a message
    assert "% agree" in cells[2][0]


def test_the_cohort_page_gives_a_treatment_change_as_the_reason(signed_in, make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="CHG1"))
    signed_in.post(
        f"/assessments/{fracture.pk}/treatment-change/",
        {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "version": "1"},
    )
    make_fracture(make_patient(mrn="VP1"), treatment="vertebroplasty")
    page = text(signed_in.get("/cohort/"))
    assert "<li>1 excluded: treatment changed</li>" in page
    assert "<li>1 excluded: not conservative care</li>" in page
    assert "no union assessment at 6 months yet" not in page
