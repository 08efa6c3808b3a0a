"""The forms an imported table's rows are checked with (cohort/importing.py): the pages' own forms,
less the fields the table has no column for (the ODI's ten sections, a follow-up film's six
heights, a visit's notes) and the hidden fields of a page (the one-time token, the version, the
confirmations). Every value the table carries meets the same field, range, message and
cross-field rule as on the page.

Two things differ, both because the import itself decides them:
- a record is matched on its key (the patient's MRN; the patient, level and assessment date of a
  fracture; the kind of a scheduled visit), so a known key is that record, not a duplicate: the
  forms do not look for twins in the database (they check nothing there at all, so a whole file is
  checked before anything is read or written);
- a matched record that the file changes is saved through the page's own form and service
  (cohort/importing.py), which run every check against the database as a page save does.
"""

from __future__ import annotations

import functools

from django.core.exceptions import ValidationError

from .assessment import AssessmentForm
from .fields import HEIGHT_FORM_FIELDS
from .patient import PatientForm
from .readings import ODI_SECTION_FIELDS, SECOND_HEIGHT_FIELDS
from .treatment import TreatmentChangeForm
from .visit import VisitForm

PAGE_ONLY_FIELDS = ("submission", "version", "confirmed")
NOT_IN_THE_TABLE = dict.fromkeys((*ODI_SECTION_FIELDS, *PAGE_ONLY_FIELDS))
VISIT_NOT_IN_THE_TABLE = {
    **NOT_IN_THE_TABLE,
    **dict.fromkeys((*HEIGHT_FORM_FIELDS, *SECOND_HEIGHT_FIELDS)),
}


class _Matched:
    """The import matches records on their keys: no lookup of a twin in the database."""

    def validate_unique(self) -> None:
        pass


class ImportedPatientForm(_Matched, PatientForm):
    submission = version = confirmed = None


# A field set to None in a subclass is removed (Django's declarative forms); the class body's
# namespace takes the names from the lists above.
class ImportedAssessmentForm(_Matched, AssessmentForm):
    locals().update(NOT_IN_THE_TABLE)


class ImportedVisitForm(_Matched, VisitForm):
    locals().update(VISIT_NOT_IN_THE_TABLE)

    class Meta(VisitForm.Meta):
        fields = [name for name in VisitForm.Meta.fields if name not in VISIT_NOT_IN_THE_TABLE]


class ImportedTreatmentChangeForm(TreatmentChangeForm):
    submission = version = confirmed = None


def _remembered(clean):
    """A field's clean() that answers a value it has seen from memory: a cohort's columns repeat
    their values (levels, choices, dates, numbers to 0.1) across thousands of rows, and a field's
    answer depends on the value alone (the form-level rules run for every row)."""

    @functools.lru_cache(maxsize=4096)
    def answer(value):
        try:
            return clean(value), None
        except ValidationError as error:
            return None, error

    def remembered(value):
        try:
            hash(value)
        except TypeError:
            return clean(value)
        cleaned, error = answer(value)
        if error is not None:
            raise error.with_traceback(None)  # a fresh traceback each time, not a growing one
        return cleaned

    return remembered


class RowChecker:
    """Checks row after row with one form of `form_class`: what `form_class(data, **kwargs)` then
    `is_valid()` would say, at a third of the cost. Django deep-copies every field (with its
    widget, choices and validators) each time a form is made, which is half the cost of checking
    a row; an import checks up to 200,000 records (bench/import.md), so the form is made once and
    each row starts from the state it had when new, and each field remembers its answer to a value
    it has seen (a property test holds the two ways to the same results).

    The form returned is the checker's own: read what you need from it before the next row."""

    def __init__(self, form_class, **kwargs):
        self.form = form_class(data={}, **kwargs)
        for field in self.form.fields.values():
            field.clean = _remembered(field.clean)
        self._new = dict(self.form.__dict__)

    def check(self, data: dict, instance=None, **kwargs):
        form = self.form
        form.__dict__.clear()
        form.__dict__.update(self._new)
        # What the form's __init__ made that a row's check changes: new for each row.
        form.__dict__.update(data=data, _bound_fields_cache={}, notices=[], **kwargs)
        if hasattr(form, "_meta"):  # a ModelForm builds its instance as it validates
            form.instance = instance if instance is not None else form._meta.model()
        form.full_clean()
        return form
