"""The cohort filter's dates (cohort/forms.py): from 1900 to a year from today, with a clear message,
both on the form and on the page."""

import datetime

import pytest
from django.utils import timezone

from cohort.forms import CohortFilterForm


def codes(form) -> dict[str, list[str]]:
    return {field: [error.code for error in errors] for field, errors in form.errors.as_data().items()}


def test_dates_from_1900_to_a_year_from_today_are_taken():
    latest = (timezone.localdate() + datetime.timedelta(days=365)).isoformat()
    assert CohortFilterForm({"date_from": "1900-01-01", "date_to": latest}).is_valid()


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("9999-12-31", "date_too_late"),  # was taken: any date up to 9999 passed
        ((datetime.date.today() + datetime.timedelta(days=800)).isoformat(), "date_too_late"),
        ("1899-12-31", "date_too_early"),
    ],
)
def test_a_date_outside_1900_to_a_year_ahead_is_refused(field, value, code):
    form = CohortFilterForm({field: value})
    assert codes(form) == {field: [code]}


def test_the_message_says_the_latest_date_taken():
    latest = (timezone.localdate() + datetime.timedelta(days=365)).isoformat()
    form = CohortFilterForm({"date_to": "9999-12-31"})
    assert form.errors["date_to"] == [f"Enter a date up to a year from today ({latest})."]


@pytest.mark.django_db
def test_the_cohort_page_shows_the_refusal(signed_in):
    page = signed_in.get("/cohort/?date_to=9999-12-31")
    assert page.status_code == 400  # nothing analysed on a filter that is not valid
    assert "Enter a date up to a year from today" in page.content.decode()


# -- the eligibility box (spec §4) -------------------------------------------------------------------


def test_the_eligibility_box_is_off_unless_ticked():
    form = CohortFilterForm({})
    assert form.is_valid() and form.cleaned_data["eligible"] is False
    form = CohortFilterForm({"eligible": "on"})
    assert form.is_valid() and form.cleaned_data["eligible"] is True


def test_the_eligibility_box_says_what_it_keeps_with_the_pure_cores_thresholds():
    field = CohortFilterForm().fields["eligible"]
    assert field.label == "Only the paper's eligible population"
    assert field.help_text == "Spec §4: age ≥ 60, T11–L2, low-energy, T ≤ −1.0, one fracture per patient."
    html = str(CohortFilterForm()["eligible"])
    assert 'type="checkbox"' in html and 'class="form-check-input"' in html
