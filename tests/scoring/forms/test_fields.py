"""The shared fields and validators (scoring/forms/fields.py): free text printed back holds no
invisible or control character, in every form that takes one; dates stay in a plausible range."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scoring.forms import AssessmentForm, PatientForm, TreatmentChangeForm, VisitForm
from scoring.forms.fields import VisibleText, at_most_a_year_ahead
from tests.scoring.forms.conftest import error_codes

# One character of each kind that hides itself in printed text, with the name the message gives.
INVISIBLE = [
    ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),  # Cf: reverses the rest of the line
    ("\u202d", "U+202D LEFT-TO-RIGHT OVERRIDE"),
    ("\u202b", "U+202B RIGHT-TO-LEFT EMBEDDING"),
    ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("\u2067", "U+2067 RIGHT-TO-LEFT ISOLATE"),
    ("\u2068", "U+2068 FIRST STRONG ISOLATE"),
    ("\u2069", "U+2069 POP DIRECTIONAL ISOLATE"),
    ("\u200f", "U+200F RIGHT-TO-LEFT MARK"),
    ("\u200b", "U+200B ZERO WIDTH SPACE"),
    ("\u200d", "U+200D ZERO WIDTH JOINER"),
    ("\u2060", "U+2060 WORD JOINER"),
    ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("\u00ad", "U+00AD SOFT HYPHEN"),
    ("\u0007", "U+0007 CONTROL CHARACTER"),  # Cc
    ("\u001b", "U+001B CONTROL CHARACTER"),
    ("\u0085", "U+0085 CONTROL CHARACTER"),
    ("\u2028", "U+2028 LINE SEPARATOR"),  # Zl
    ("\u2029", "U+2029 PARAGRAPH SEPARATOR"),  # Zp
]
LINE_BREAKS = ["\n", "\r\n", "\t"]
# Visible text that must pass: accents, other scripts, punctuation, emoji.
VISIBLE = ["Zoë O'Brien-Łukasz", "陈美玲", "محمد علي", "Иван Петров", "d'Artagnan, J. (Dr)", "😀"]


@pytest.mark.parametrize(("character", "name"), INVISIBLE)
def test_an_invisible_or_control_character_is_refused_and_named(character, name):
    with pytest.raises(ValidationError) as refused:
        VisibleText("The name")(f"Chen{character} Margaret, 86 years")
    error = refused.value.error_list[0]
    assert error.code == "invisible_character"
    assert error.message % error.params == f"The name contains an invisible control character ({name}): retype it."


@pytest.mark.parametrize("text", VISIBLE)
def test_visible_text_in_any_script_passes(text):
    VisibleText("The name")(text)
    VisibleText(multiline=True)(text)


@pytest.mark.parametrize("line_break", LINE_BREAKS)
def test_line_breaks_pass_in_text_on_several_lines_only(line_break):
    VisibleText(multiline=True)(f"first{line_break}second")
    with pytest.raises(ValidationError):
        VisibleText("The name")(f"first{line_break}second")


# -- every free-text field a person types that is printed back ------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("character", "name"), INVISIBLE)
def test_a_patients_name_with_an_invisible_character_is_refused(character, name):
    form = PatientForm({"mrn": "A1", "name": f"Chen{character}Margaret", "sex": "F", "date_of_birth": "1950-01-01"})
    assert error_codes(form) == {"name": ["invisible_character"]}
    assert form.errors["name"] == [f"The name contains an invisible control character ({name}): retype it."]


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["first_reader_name", "second_reader_name"])
@pytest.mark.parametrize("character", ["\u202e", "\u2067", "\u200b", "\ufeff", "\u0007", "\u2028"])
def test_a_readers_name_with_an_invisible_character_is_refused(patient, second_case, field, character):
    form = AssessmentForm({**second_case, field: f"Dr{character} Wu"}, patient=patient)
    assert error_codes(form) == {field: ["invisible_character"]}


@pytest.mark.django_db
@pytest.mark.parametrize(("character", "name"), INVISIBLE)
def test_visit_notes_with_an_invisible_character_are_refused(case_two, character, name):
    data = {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "5", "notes": f"pain{character} less"}
    form = VisitForm(data, fracture=case_two)
    assert error_codes(form) == {"notes": ["invisible_character"]}


@pytest.mark.django_db
@pytest.mark.parametrize(("character", "name"), INVISIBLE)
def test_a_treatment_change_reason_with_an_invisible_character_is_refused(case_two, character, name):
    data = {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "reason": f"pain{character} worse"}
    form = TreatmentChangeForm(data, fracture=case_two)
    assert error_codes(form) == {"reason": ["invisible_character"]}


@pytest.mark.django_db
def test_notes_and_a_reason_keep_their_line_breaks(case_two):
    notes = "Pain less.\r\nWalks with a stick.\tNo fall."
    visit = VisitForm({"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "5", "notes": notes}, fracture=case_two)
    assert visit.is_valid(), visit.errors
    change = TreatmentChangeForm(
        {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "reason": notes}, fracture=case_two
    )
    assert change.is_valid(), change.errors


@pytest.mark.django_db
@pytest.mark.parametrize("name", VISIBLE)
def test_names_in_any_script_are_taken(name):
    form = PatientForm({"mrn": "A1", "name": name, "sex": "F", "date_of_birth": "1950-01-01"})
    assert form.is_valid(), form.errors


# -- dates ----------------------------------------------------------------------------------------


def test_a_date_up_to_a_year_ahead_is_taken_and_later_refused():
    latest = timezone.localdate() + datetime.timedelta(days=365)
    at_most_a_year_ahead(latest)
    with pytest.raises(ValidationError) as refused:
        at_most_a_year_ahead(latest + datetime.timedelta(days=1))
    assert refused.value.error_list[0].code == "date_too_late"
    with pytest.raises(ValidationError):
        at_most_a_year_ahead(datetime.date.max)
