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
    assert "treatment other than conservative" in everyone
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
