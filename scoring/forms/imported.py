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
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import AutoField, FileField, Model
from django.db.models.base import ModelState
from django.db.models.expressions import DatabaseDefault
from django.db.models.signals import post_init, pre_init
from django.forms.models import BaseModelForm, InlineForeignKeyField

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
            cleaned, error = answer(value)
        except TypeError:  # an unhashable value (a list): checked each time
            return clean(value)
        if error is not None:
            raise error.with_traceback(None)  # a fresh traceback each time, not a growing one
        return cleaned

    return remembered


class _ModelChecks:
    """Model.clean_fields for a checker's records: each field's clean() answers a value it has seen
    from memory, as the form's fields do."""

    def __init__(self, model):
        self.fields = [field for field in model._meta.fields if not field.generated]
        self.answers: dict[tuple, tuple] = {}

    def clean_fields(self, record, exclude: set[str]) -> None:
        """Model.clean_fields, remembering each field's answer to a value."""
        errors = {}
        for field in self.fields:
            if field.name in exclude:
                continue
            raw = getattr(record, field.attname)
            if (field.blank and raw in field.empty_values) or isinstance(raw, DatabaseDefault):
                continue
            try:
                setattr(record, field.attname, self._clean(field, raw, record))
            except ValidationError as error:
                errors[field.name] = error.error_list
        if errors:
            raise ValidationError(errors)

    def _clean(self, field, raw, record):
        # A Decimal by its digits too (1.0 and 1.00 are equal, and kept as given).
        key = (field.attname, type(raw), str(raw) if isinstance(raw, Decimal) else raw)
        try:
            answer = self.answers.get(key)
        except TypeError:  # an unhashable value (a list, a dict): checked each time
            return field.clean(raw, record)
        if answer is None:
            try:
                answer = (field.clean(raw, record), None)
            except ValidationError as error:
                answer = (None, error.with_traceback(None))  # (not the frames: they hold the record)
            if len(self.answers) < 20_000:
                self.answers[key] = answer
        cleaned, error = answer
        if error is not None:
            raise ValidationError(error.error_list)
        return cleaned


class _BlankRecords:
    """New records of `model` as `model()` makes them (each field's default, a new state), at a
    fraction of the cost: the defaults are read once, and a default that is a function (a list,
    a dict, a time) is called anew for each record. `model()` itself wherever something listens to
    a record being made (pre_init, post_init) or the model has its own __init__."""

    def __init__(self, model):
        self.model = model
        self.plain = model.__init__ is Model.__init__ and not (
            pre_init.has_listeners(model) or post_init.has_listeners(model)
        )
        prototype = model()
        self.values = {name: value for name, value in vars(prototype).items() if name != "_state"}
        self.mutable = [
            (field.attname, field.get_default)
            for field in model._meta.concrete_fields
            if field.attname in self.values and field.has_default() and callable(field.default)
        ]

    def __call__(self):
        if not self.plain:
            return self.model()
        record = self.model.__new__(self.model)
        values = vars(record)
        values.update(self.values)
        values["_state"] = ModelState()
        for name, default in self.mutable:
            values[name] = default()
        return record


# The steps RowChecker does its own way (for a ModelForm, the last three and its model's).
_FORM_STEPS = {"_clean_fields": forms.BaseForm, "_widget_data_value": forms.BaseForm}
_MODEL_FORM_STEPS = {"_post_clean": BaseModelForm, "_get_validation_exclusions": BaseModelForm}
_MODEL_STEPS = ("full_clean", "clean_fields", "validate_constraints")


def _replaced_steps(form) -> list[str]:
    """The steps of Django's validation that `form` or its model do their own way, which RowChecker
    would not run (it does those steps itself): none for the import's forms."""
    steps = dict(_FORM_STEPS)
    if hasattr(form, "_meta"):
        steps.update(_MODEL_FORM_STEPS)
    own = [name for name, base in steps.items() if getattr(type(form), name) is not getattr(base, name)]
    if hasattr(form, "_meta"):
        model = form._meta.model
        own += [f"{model.__name__}.{name}" for name in _MODEL_STEPS if getattr(model, name) is not getattr(Model, name)]
    return own


class RowChecker:
    """Checks row after row with one form of `form_class`: what `form_class(data, **kwargs)` then
    `is_valid()` would say, at a fraction of the cost. Django deep-copies every field (with its
    widget, choices and validators) each time a form is made, which is half the cost of checking
    a row; an import checks up to 200,000 records (bench/import.md), so the form is made once and
    each row starts from the state it had when new. Each field, of the form and of its record,
    remembers its answer to a value it has seen. And the steps of Django's validation that depend
    on the form alone (which field is read how, which model field a form field fills, which are
    left out of the record's checks) are worked out once, here, not for each field of each row:
    `_clean_fields` and `_post_clean` below are Django 5.2's (BaseForm, BaseModelForm and
    construct_instance) with those steps done ahead. Property tests hold the two ways to the same
    results.

    The form returned is the checker's own: read what you need from it before the next row."""

    def __init__(self, form_class, **kwargs):
        self.form = form = form_class(data={}, **kwargs)
        for field in form.fields.values():
            field.clean = _remembered(field.clean)
        plain = form.prefix is None and not any(
            field.disabled
            or isinstance(field, (forms.FileField, InlineForeignKeyField))
            or type(field)._clean_bound_field is not forms.Field._clean_bound_field
            for field in form.fields.values()
        )
        if not plain:
            raise TypeError(f"{form_class.__name__}: RowChecker checks forms without prefix, disabled or file fields.")
        replaced = _replaced_steps(form)
        if replaced:
            raise TypeError(f"{form_class.__name__}: RowChecker would not run its own {replaced[0]}.")
        # Each field: its name, how its widget reads the data, its clean(), the form's clean_<name>().
        self._reads = [
            (name, field.widget.value_from_datadict, field.clean, getattr(form, f"clean_{name}", None))
            for name, field in form.fields.items()
        ]
        own_steps = {"_clean_fields": self._clean_fields}
        if hasattr(form, "_meta"):
            self._model_steps(form)
            self._model_checks = _ModelChecks(form._meta.model)
            self._blank = _BlankRecords(form._meta.model)
            own_steps["_post_clean"] = self._post_clean
        # The new form's state, with these steps; its BoundField cache is kept from row to row (a
        # BoundField reads the row's data when asked and keeps nothing of a row).
        self._new = {**form.__dict__, **own_steps}

    def _model_steps(self, form) -> None:
        """What BaseModelForm._get_validation_exclusions and construct_instance decide from the form
        alone, decided once."""
        opts = form._meta
        self._excluded: set[str] = set()  # always left out of the record's own checks
        self._maybe_excluded = []  # left out when the form refused them, or when empty and optional
        self._filled = []  # the model fields the form's cleaned data fill
        for f in opts.model._meta.fields:
            name = f.name
            if isinstance(f, FileField):
                raise TypeError(f"{type(form).__name__}: RowChecker checks models without file fields.")
            if (
                name not in form.fields
                or (opts.fields and name not in opts.fields)
                or (opts.exclude and name in opts.exclude)
            ):
                self._excluded.add(name)
            else:
                form_field = form.fields[name]
                optional = not f.blank and not form_field.required
                self._maybe_excluded.append((name, optional, form_field.empty_values))
            if not f.editable or isinstance(f, AutoField):
                continue
            if (opts.fields is not None and name not in opts.fields) or (opts.exclude and name in opts.exclude):
                continue
            # A field with a default keeps it when the data leave its widget out and it is empty.
            kept_default = None
            if f.has_default() and name in form.fields:
                kept_default = (form.fields[name].widget.value_omitted_from_data, form.fields[name].empty_values)
            self._filled.append((f, name, kept_default))

    def _clean_fields(self) -> None:
        """BaseForm._clean_fields, with each field's reading worked out once."""
        form = self.form
        for name, read, clean, own_clean in self._reads:
            try:  # (the form's data and cleaned data read for each field, as Django does)
                form.cleaned_data[name] = clean(read(form.data, form.files, name))
                if own_clean is not None:
                    form.cleaned_data[name] = own_clean()
            except ValidationError as error:
                form.add_error(name, error)

    def _post_clean(self) -> None:
        """BaseModelForm._post_clean: build the record from the cleaned data (construct_instance),
        then run its own checks (Model.full_clean without the database's unique checks and
        constraints: the import matches records on their keys, see _Matched)."""
        form = self.form
        cleaned, errors = form.cleaned_data, form._errors
        exclude = set(self._excluded)
        for name, optional, empty_values in self._maybe_excluded:
            if name in errors or (optional and cleaned.get(name) in empty_values):
                exclude.add(name)
        record = form.instance
        try:
            for f, name, kept_default in self._filled:
                if name not in cleaned:
                    continue
                if kept_default is not None:
                    omitted, empty_values = kept_default
                    if omitted(form.data, form.files, name) and cleaned.get(name) in empty_values:
                        continue
                f.save_form_data(record, cleaned[name])
        except ValidationError as error:
            form._update_errors(error)
        found: dict = {}
        try:
            self._model_checks.clean_fields(record, exclude)
        except ValidationError as error:
            found = error.update_error_dict(found)
        try:
            record.clean()
        except ValidationError as error:
            found = error.update_error_dict(found)
        if found:
            form._update_errors(ValidationError(found))
        if form._validate_unique:
            form.validate_unique()

    def check(self, data: dict, instance=None, **kwargs):
        form = self.form
        form.__dict__.clear()
        form.__dict__.update(self._new)
        # What the form's __init__ made that a row's check changes: new for each row.
        form.__dict__.update(data=data, notices=[], **kwargs)
        if hasattr(form, "_meta"):
            # A ModelForm builds its instance as it validates.
            form.instance = instance if instance is not None else self._blank()
        form.full_clean()
        return form
