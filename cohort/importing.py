"""Import a retrospective cohort: the identified export's table (one row per fracture, its patient,
its baseline assessment, its 1-, 3- and 6-month visits, a treatment change) back into the app.

One path for every value: each row is checked by the pages' own forms (scoring/forms/imported.py),
new records are built by those forms and scored by the same model methods a save uses, and a
record the file changes is saved through the page's form and service, with its version checked
(optimistic locking) and its history saying where it came from. Rows are matched on their keys:
the MRN for a patient; the patient, level and assessment date for a fracture; the kind for a
scheduled visit. So importing a file again changes nothing.

`check(table)` reads nothing but the file and an index of the records the file names, writes
nothing, and gives a Report: what would be created, updated or left unchanged, every problem with
its row and column, and every row where the file's own computed columns (score, group, outcomes)
disagree with the app's. `run(table, user, source)` checks again and writes, chunk by chunk, each
chunk in its own transaction; it refuses to start on a file with any problem.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import gc
import hashlib
import multiprocessing
import operator
import os
import pickle
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import NotSupportedError, connections, router, transaction
from django.db.models import DateField, DateTimeField, Field
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, gettext_noop, pgettext, pgettext_lazy
from simple_history.models import HistoricalRecords
from simple_history.utils import get_history_manager_for_model

import scoring
from nasovcf_site.private_files import PRIVATE_FILE_MODE
from scoring import measurements, services
from scoring.forms import AssessmentForm, PatientForm, TreatmentChangeForm, VisitForm
from scoring.forms.fields import EARLIEST_DATE
from scoring.forms.imported import (
    ImportedAssessmentForm,
    ImportedPatientForm,
    ImportedTreatmentChangeForm,
    ImportedVisitForm,
    RowChecker,
)
from scoring.locking import StaleEdit
from scoring.models import (
    SCHEDULED_KINDS,
    ExpectedVisit,
    Fracture,
    Patient,
    PatientNameWord,
    Treatment,
    Visit,
    VisitKind,
    visit_schedule,
)

from . import exports
from .tables import Message, Table, words

CHUNK_ROWS = 500  # rows checked (and written) together: one transaction each, and the progress step
MAX_LISTED = 1000  # problems and differences kept for the page (the count is always exact)
HEIGHTS = measurements.HEIGHT_FIELDS
READERS = ("first", "second")
FLAGS = {
    "1": "true",
    "yes": "true",
    "true": "true",
    "y": "true",
    "0": "false",
    "no": "false",
    "false": "false",
    "n": "false",
    "": "false",
}

# -- what each column is for -------------------------------------------------------------------------

PATIENT_COLUMNS = {"patient": "mrn", "name": "name", "sex": "sex", "date_of_birth": "date_of_birth"}
ASSESSMENT_COLUMNS = {
    "assessment_date": "assessment_date",
    "injury_date": "injury_date",
    "level": "level",
    "fracture_type": "fracture_type",
    "t2_signal": "t2_signal",
    "bmd_t_score": "bmd_t_score",
    "vas_pre": "vas_pain",
    "odi_pre_percent": "odi_percent",
    "height_cm": "height_cm",
    "weight_kg": "weight_kg",
    "treatment": "treatment",
    "treatment_start_date": "treatment_start_date",
    "of_class": "of_class",
    "first_reader_name": "first_reader_name",
    "second_reader_name": "second_reader_name",
}
CHANGE_COLUMNS = {
    "treatment_changed_to": "treatment",
    "treatment_changed_on": "changed_on",
    "treatment_change_reason": "reason",
}
EVIDENCE = ("vacuum_cleft_mri", "vacuum_cleft_ct", "anterior_height_change")
# The form fields that take a date: the table writes them YYYY-MM-DD (the data dictionary) and
# nothing else is read, not even the DD/MM/YYYY the pages' forms take (en-gb).
DATE_FIELDS = {"date_of_birth", "assessment_date", "injury_date", "treatment_start_date", "changed_on", "visit_date"}
ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
# The template's worked cases (spec §6): to copy, not to import.
EXAMPLE_MRNS = frozenset(case["patient"]["mrn"] for case in exports.EXAMPLE_CASES)


@functools.cache  # (asked for several times a row: made once, read only)
def visit_columns(kind: str) -> dict[str, str]:
    """A scheduled visit's own columns → the visit form's fields (its film's in `visit_film`)."""
    return {
        f"visit_{kind}_date": "visit_date",
        f"visit_{kind}_vas": "vas_pain",
        f"visit_{kind}_odi_percent": "odi_percent",
        f"visit_{kind}_union": "bone_union",
        f"visit_{kind}_first_reader_name": "first_reader_name",
        f"visit_{kind}_second_reader_name": "second_reader_name",
        **{f"visit_{kind}_{name}": name for name in EVIDENCE},
    }


@dataclasses.dataclass(frozen=True)
class Film:
    """Where a film's columns are: its value (the readers' mean where two read), each reader's
    own value, and (the baseline only) each reader's six heights."""

    vhl: str
    ka: str
    reader_vhl: dict[str, str]
    reader_ka: dict[str, str]
    reader_heights: dict[str, dict[str, str]]  # reader → height field → column


BASELINE_FILM = Film(
    vhl="vhl_pre_percent",
    ka="ka_pre_deg",
    reader_vhl={reader: f"{reader}_reader_vhl_pre_percent" for reader in READERS},
    reader_ka={reader: f"{reader}_reader_ka_pre_deg" for reader in READERS},
    reader_heights={reader: {name: f"{reader}_reader_{name}_pre_mm" for name in HEIGHTS} for reader in READERS},
)


@functools.cache
def visit_film(kind: str) -> Film:
    return Film(
        vhl=f"visit_{kind}_vhl_percent",
        ka=f"visit_{kind}_ka_deg",
        reader_vhl={reader: f"visit_{kind}_{reader}_reader_vhl_percent" for reader in READERS},
        reader_ka={reader: f"visit_{kind}_{reader}_reader_ka_deg" for reader in READERS},
        reader_heights={},
    )


# -- the report --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Problem:
    """What is wrong in a cell (or a row). Its message is a tables.Message (as a str, the English):
    the preview shows it in the reader's language, from the parts kept with the import."""

    row: int  # as the spreadsheet numbers it (1 is the header)
    column: str  # "" for the row as a whole
    message: str

    def as_message(self) -> Message:
        if self.column:
            return Message(
                gettext_noop("row %(row)s, %(column)s: %(message)s"),
                {"row": self.row, "column": self.column, "message": self.message},
            )
        return Message(gettext_noop("row %(row)s: %(message)s"), {"row": self.row, "message": self.message})

    def __str__(self) -> str:
        """In the active language (English: "row 17, bmd_t_score: “-8.2”: Must be at least -7.0.")."""
        return words(self.as_message())


@dataclasses.dataclass(frozen=True)
class Difference:
    """A computed column where the file says one thing and the app's rules another."""

    row: int
    column: str
    in_file: str
    in_app: str  # the app's value, or a Message ("empty")
    reason: str = ""  # a Message, or ""

    def as_message(self) -> Message:
        values = {"row": self.row, "column": self.column, "in_file": self.in_file, "in_app": self.in_app}
        if self.reason:
            return Message(
                gettext_noop(
                    "row %(row)s, %(column)s: the file says %(in_file)s, the app gives %(in_app)s: %(reason)s"
                ),
                {**values, "reason": self.reason},
            )
        return Message(
            gettext_noop("row %(row)s, %(column)s: the file says %(in_file)s, the app gives %(in_app)s"), values
        )

    def __str__(self) -> str:
        """In the active language."""
        return words(self.as_message())


RECORDS = ("patients", "fractures", "visits")
ACTIONS = ("create", "update", "unchanged")
RECORD_LABELS = {
    "patients": gettext_lazy("patients"),
    "fractures": gettext_lazy("fractures"),
    "visits": gettext_lazy("visits"),
}


def _data(value):
    """A Message as its parts (JSON), anything else as it is."""
    return value.as_data() if isinstance(value, Message) else value


def joined(parts: list) -> Message | str:
    """Messages as one, "a; b; c" (each part translated when shown)."""
    if not parts:
        return ""
    message = parts[0]
    for part in parts[1:]:
        message = Message(gettext_noop("%(first)s; %(then)s"), {"first": message, "then": part})
    return message


@dataclasses.dataclass
class Report:
    """An import's preview (or what it wrote), kept as JSON with the import (as_dict): its
    problems, differences and notes as their parts (tables.Message), so the page says them in
    the language of whoever reads it. `message` is why the work stopped, kept the same way (the
    import's own `message` column holds its English); a report holding only that was never
    `checked`."""

    rows: int = 0
    counts: dict[str, Counter] = dataclasses.field(default_factory=lambda: {name: Counter() for name in RECORDS})
    problems: list[Problem] = dataclasses.field(default_factory=list)
    problem_count: int = 0
    differences: list[Difference] = dataclasses.field(default_factory=list)
    difference_count: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)
    # What the check found to update, each as "record:pk:version": the import writes only these
    # updates, at these versions (a record edited since the preview is refused, not overwritten).
    plan: list[str] = dataclasses.field(default_factory=list)
    message: str = ""  # why the work stopped (a Message), "" if it did not
    checked: bool = True  # False: nothing but `message` (the file could not be checked)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add_problem(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)

    def add_difference(self, difference: Difference) -> None:
        self.difference_count += 1
        if len(self.differences) < MAX_LISTED:
            self.differences.append(difference)

    def count(self, record: str, action: str) -> int:
        return self.counts[record][action]

    @property
    def count_rows(self) -> list[tuple[str, str, Counter]]:
        """(record, its name in the active language, its counts), for the preview's table."""
        return [(name, RECORD_LABELS[name], self.counts[name]) for name in RECORDS]

    @property
    def notes_words(self) -> list[str]:
        return [words(note) for note in self.notes]

    @property
    def message_words(self) -> str:
        return words(self.message)

    def as_dict(self) -> dict:
        """For keeping with the import (JSON): every message as its parts."""
        data = {
            "rows": self.rows,
            "counts": {name: dict(counter) for name, counter in self.counts.items()},
            "problems": [[problem.row, problem.column, _data(problem.message)] for problem in self.problems],
            "problem_count": self.problem_count,
            "differences": [
                [item.row, item.column, item.in_file, _data(item.in_app), _data(item.reason)]
                for item in self.differences
            ],
            "difference_count": self.difference_count,
            "notes": [_data(note) for note in self.notes],
        }
        if self.message:
            data["message"] = _data(self.message)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        """as_dict's output back (a message kept as text before issue 16 stays that text)."""
        read = Message.from_data
        return cls(
            rows=data.get("rows", 0),
            counts={name: Counter(data.get("counts", {}).get(name, {})) for name in RECORDS},
            problems=[Problem(row, column, read(message)) for row, column, message in data.get("problems", [])],
            problem_count=data.get("problem_count", 0),
            differences=[
                Difference(row, column, in_file, read(in_app), read(reason))
                for row, column, in_file, in_app, reason in data.get("differences", [])
            ],
            difference_count=data.get("difference_count", 0),
            notes=[read(note) for note in data.get("notes", [])],
            message=read(data.get("message", "")),
            checked="rows" in data,
        )

    def merge(self, other: Report) -> None:
        for name in RECORDS:
            self.counts[name].update(other.counts[name])
        for problem in other.problems:
            self.add_problem(problem)
        self.problem_count += other.problem_count - len(other.problems)
        for difference in other.differences:
            self.add_difference(difference)
        self.difference_count += other.difference_count - len(other.differences)
        self.plan += other.plan


RECORD_COUNTS = {
    "patients": gettext_noop("patients: %(counts)s"),
    "fractures": gettext_noop("fractures: %(counts)s"),
    "visits": gettext_noop("visits: %(counts)s"),
}
RECORD_NONE = {
    "patients": gettext_noop("patients: none"),
    "fractures": gettext_noop("fractures: none"),
    "visits": gettext_noop("visits: none"),
}


def summary(report: Report, done: bool = False) -> str:
    """An import's counts in words, in the active language: "3 rows. patients: 3 to create; …"
    ("created" once done)."""
    verbs = {
        "create": gettext("%(n)s created") if done else gettext("%(n)s to create"),
        "update": gettext("%(n)s updated") if done else gettext("%(n)s to update"),
        "unchanged": gettext("%(n)s unchanged"),
    }
    parts = []
    for record in RECORDS:
        counts = report.counts[record]
        said = [verbs[action] % {"n": f"{counts[action]:,}"} for action in ACTIONS if counts[action]]
        if said:
            parts.append(gettext(RECORD_COUNTS[record]) % {"counts": pgettext("between items", ", ").join(said)})
        else:
            parts.append(gettext(RECORD_NONE[record]))
    sentences = [
        gettext("%(rows)s rows.") % {"rows": f"{report.rows:,}"},
        gettext("%(records)s.") % {"records": pgettext("between clauses", "; ").join(parts)},
    ]
    if report.problem_count:
        sentences.append(gettext("%(n)s problem(s).") % {"n": f"{report.problem_count:,}"})
    if report.difference_count:
        sentences.append(
            gettext("%(n)s value(s) where the file's computed columns differ from the app's.")
            % {"n": f"{report.difference_count:,}"}
        )
    return " ".join(sentences)


# -- the columns -------------------------------------------------------------------------------------


def check_columns(table: Table) -> list[Problem]:
    """The header against the import table's columns: none unknown, none required missing."""
    known = set(exports.IMPORT_ROLES)
    header = table.header_number
    problems = []
    columns = set(table.columns)
    if "patient" in columns and "date_of_birth" not in columns and "assessment_date" not in columns:
        return [
            Problem(
                header,
                "",
                Message(
                    gettext_noop(
                        "This looks like the de-identified export: it has no MRNs, dates of birth or dates, so its "
                        "rows cannot become patients. Import the identified export (or the template) instead."
                    )
                ),
            )
        ]
    for name in table.columns:
        if name not in known:
            problems.append(
                Problem(
                    header,
                    name,
                    Message(
                        gettext_noop(
                            "not a column of the import table (the data dictionary lists them): rename or remove it."
                        )
                    ),
                )
            )
    for name, role in exports.IMPORT_ROLES.items():
        if role in ("required",) and name not in columns:
            problems.append(Problem(header, name, Message(gettext_noop("this required column is missing."))))
    for film in (BASELINE_FILM,):
        if (
            film.vhl not in columns
            and film.reader_vhl["first"] not in columns
            and not (set(film.reader_heights["first"].values()) <= columns)
        ):
            problems.append(
                Problem(
                    header,
                    film.vhl,
                    Message(gettext_noop("this column is missing (or the first reader's VHL or six heights instead).")),
                )
            )
        if film.ka not in columns and film.reader_ka["first"] not in columns:
            problems.append(
                Problem(
                    header,
                    film.ka,
                    Message(gettext_noop("this column is missing (or the first reader's angle instead).")),
                )
            )
    return problems


# -- one row -----------------------------------------------------------------------------------------


class Row:
    """One row's cells by column name, and which form field each column went to (to name the
    column in a form's error)."""

    def __init__(self, table_columns: list[str], cells: tuple[str, ...], number: int):
        self.cells = dict(zip(table_columns, cells, strict=True))
        self.number = number
        self.used: dict[str, dict[str, str]] = defaultdict(dict)  # form → field → column
        self.problems: list[Problem] = []

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def take(self, form: str, data: dict, columns: dict[str, str]) -> None:
        for column, name in columns.items():
            if column in self.cells:
                self.used[form][name] = column
                value = self.cells[column]
                if name in DATE_FIELDS and value and not ISO_DATE.fullmatch(value):
                    # The forms also take DD/MM/YYYY (en-gb): a file's 03/04/2024 may be either.
                    self.problems.append(
                        Problem(
                            self.number,
                            column,
                            Message(gettext_noop("“%(value)s”: Enter the date as YYYY-MM-DD."), {"value": value}),
                        )
                    )
                    continue
                data[name] = value

    def flag(self, form: str, data: dict, column: str, name: str, yes: str = "true", no: str = "false") -> None:
        """A 1/0 column into a yes/no field (a checkbox or a choice)."""
        if column not in self.cells:
            return
        value = FLAGS.get(self.cells[column].strip().lower())
        if value is None:
            self.problems.append(
                Problem(
                    self.number,
                    column,
                    Message(gettext_noop("“%(value)s” is not 1 (yes) or 0 (no)."), {"value": self.cells[column]}),
                )
            )
            self.used[form][name] = column  # the form's own error on the field is then this one's
            return
        data[name] = yes if value == "true" else no
        self.used[form][name] = column

    def take_film(self, form: str, data: dict, film: Film) -> set[str]:
        """A film's values into the form's fields: the six heights where a reader has them, else
        the reader's own value, else (the first reader) the film's value. Returns the columns that
        were computed from others rather than read (compared afterwards)."""
        computed: set[str] = set()
        for reader in READERS:
            prefix = "" if reader == "first" else "second_"
            heights = film.reader_heights.get(reader, {})
            if any(self.get(column) for column in heights.values()):
                for name, column in heights.items():
                    data[f"{prefix}{name}_mm"] = self.get(column)
                    self.used[form][f"{prefix}{name}_mm"] = column
                computed.add(film.reader_vhl[reader])
            elif self.get(film.reader_vhl[reader]):
                data[f"{prefix}vhl_percent"] = self.get(film.reader_vhl[reader])
                self.used[form][f"{prefix}vhl_percent"] = film.reader_vhl[reader]
            if self.get(film.reader_ka[reader]):
                name = "second_kyphosis_angle_deg" if prefix else "kyphosis_angle_deg"
                data[name] = self.get(film.reader_ka[reader])
                self.used[form][name] = film.reader_ka[reader]
        if "vhl_percent" not in data and not any(f"{name}_mm" in data for name in HEIGHTS):
            data["vhl_percent"] = self.get(film.vhl)
            self.used[form]["vhl_percent"] = film.vhl
        else:
            computed.add(film.vhl)
        if "kyphosis_angle_deg" not in data:
            data["kyphosis_angle_deg"] = self.get(film.ka)
            self.used[form]["kyphosis_angle_deg"] = film.ka
        else:
            computed.add(film.ka)
        return computed

    def refuse(self, form_name: str, form) -> None:
        """A form's errors as problems on this row, each under the column it came from."""
        used = self.used[form_name]
        told = {problem.column for problem in self.problems}  # a cell refused before the form saw it
        for field, errors in form.errors.as_data().items():
            column = used.get(field, "") if field != NON_FIELD_ERRORS else ""
            if column and column in told:
                continue
            value = self.get(column) if column else ""
            for message in error_messages(errors):
                if value:
                    message = Message(gettext_noop("“%(value)s”: %(message)s"), {"value": value, "message": message})
                self.problems.append(Problem(self.number, column, message))


def error_messages(errors) -> list[Message]:
    """A form field's ValidationErrors as Messages: their message ids and values, translated when
    the page shows them (not in the background work's language)."""
    messages = []
    for error in errors:
        for single in error.error_list:
            if hasattr(single, "message"):
                messages.append(Message.of(single.message, single.params))
            else:  # (a ValidationError made from a dict has no one message)
                messages += [Message(str(text)) for text in single.messages]
    return messages


@dataclasses.dataclass
class Built:
    """A row as the forms built it: unsaved records with their values and computed fields."""

    row: int
    patient: Patient
    fracture: Fracture
    visits: list[Visit]
    change: dict | None
    data: dict  # the forms' data, for a page form when the record is saved as an update


class Checkers:
    """One RowChecker per form, made in the process that checks (see RowChecker)."""

    def __init__(self):
        probe_patient = Patient(date_of_birth=datetime.date(1950, 1, 1))
        probe_fracture = Fracture(patient=probe_patient, assessment_date=datetime.date(2000, 1, 1))
        probe_fracture.treatment_start_date = probe_fracture.assessment_date
        self.patient = RowChecker(ImportedPatientForm)
        self.assessment = RowChecker(ImportedAssessmentForm, patient=probe_patient)
        self.visit = RowChecker(ImportedVisitForm, fracture=probe_fracture)
        self.change = RowChecker(ImportedTreatmentChangeForm, fracture=probe_fracture)


def build_row(row: Row, checkers: Checkers) -> tuple[Built | None, set[str]]:
    """Check a row with the forms and build its records (None when it has a problem); also the
    columns that were computed from others (to compare)."""
    data: dict[str, dict] = {"patient": {}, "assessment": {}, "change": {}}
    row.take("patient", data["patient"], PATIENT_COLUMNS)
    if row.get("patient").strip().upper() in EXAMPLE_MRNS:
        row.problems.append(
            Problem(
                row.number,
                "patient",
                Message(
                    gettext_noop(
                        "%(mrn)s is the template's example: replace the row with one of your patients, or delete it."
                    ),
                    {"mrn": row.get("patient")},
                ),
            )
        )
    form = checkers.patient.check(data["patient"])
    patient = None
    if form.is_valid():
        patient = form.save(commit=False)
    else:
        row.refuse("patient", form)

    assessment = data["assessment"]
    row.take("assessment", assessment, ASSESSMENT_COLUMNS)
    row.flag("assessment", assessment, "low_energy_trauma", "low_energy_trauma", yes="yes", no="no")
    computed = row.take_film("assessment", assessment, BASELINE_FILM)
    fracture = None
    # A row whose patient has a problem is still checked whole (against a stand-in born on the
    # earliest date a form takes), so the file comes back with all its problems at once.
    subject = patient or Patient(date_of_birth=EARLIEST_DATE)
    form = checkers.assessment.check(assessment, patient=subject)
    if form.is_valid():
        fracture = form.save()
        fracture.patient = subject
        fracture.rescore()
    else:
        row.refuse("assessment", form)

    visits = []
    for kind in SCHEDULED_KINDS:
        name = f"visit_{kind}"
        visit_data = {"kind": kind}
        row.take(name, visit_data, visit_columns(kind))
        for evidence in EVIDENCE:
            row.flag(name, visit_data, f"visit_{kind}_{evidence}", evidence)
        film = visit_film(kind)
        film_given = any(
            row.get(column) for column in (film.vhl, film.ka, *film.reader_vhl.values(), *film.reader_ka.values())
        )
        if film_given:
            computed |= row.take_film(name, visit_data, film)
        data[name] = visit_data
        findings = [
            column
            for column, field in visit_columns(kind).items()
            if field != "visit_date" and row.get(column) and not (field in EVIDENCE and row.get(column) in ("0", "no"))
        ]
        if not row.get(f"visit_{kind}_date"):
            if findings or film_given:
                row.problems.append(
                    Problem(
                        row.number,
                        f"visit_{kind}_date",
                        Message(
                            gettext_noop(
                                "the %(visit)s visit has findings but no date: give its date, or clear its columns."
                            ),
                            {"visit": Message.of(VisitKind(kind).label)},
                        ),
                    )
                )
            continue
        if fracture is None:
            continue
        form = checkers.visit.check(visit_data, fracture=fracture)
        if form.is_valid():
            visit = form.save()
            visit.fracture = fracture
            visits.append(visit)
        else:
            row.refuse(name, form)

    change = None
    if any(row.get(column) for column in CHANGE_COLUMNS):
        row.take("change", data["change"], CHANGE_COLUMNS)
        if fracture is not None and fracture.treatment != Treatment.CONSERVATIVE:
            row.problems.append(
                Problem(
                    row.number,
                    "treatment_changed_to",
                    Message(gettext_noop("a treatment change is recorded for conservative care only.")),
                )
            )
        elif fracture is not None:
            form = checkers.change.check(data["change"], fracture=fracture, instance=fracture)
            if form.is_valid():
                change = form.cleaned_data
            else:
                row.refuse("change", form)

    if row.problems or fracture is None:
        return None, computed
    if change:
        fracture.treatment_changed_to = change["treatment"]
        fracture.treatment_changed_on = change["changed_on"]
        fracture.treatment_change_reason = change["reason"]
    fracture.refresh_outcomes(visits)  # each visit's differences and the course, as a save does
    return Built(row.number, patient, fracture, visits, change, data), computed


# -- the file's computed columns against the app's ----------------------------------------------------

COMPONENT_WORDS = {
    "fracture_type": (gettext_noop("fracture type"), ""),
    "vertebral_height_loss": (gettext_noop("VHL"), " %"),
    "kyphosis_angle": (gettext_noop("kyphosis angle"), "°"),
    "t2_signal": (gettext_noop("T2 signal"), ""),
    "bmd": (gettext_noop("T-score"), ""),
}


def _flag_value(value: bool | None) -> int | None:
    return None if value is None else int(value)


def app_values(built: Built, unscheduled: int) -> dict[str, object]:
    """The app's value of each computed column the file may carry ("checked" in the dictionary)."""
    fracture = built.fracture
    values: dict[str, object] = {
        "age_years": fracture.age_at_assessment,
        "genant_grade": fracture.genant_grade,
        "genant_reduction_percent": fracture.genant_reduction_percent,
        "nasovcf_total": fracture.total_score,
        "nasovcf_group": fracture.risk_group,
        "unscheduled_visits": unscheduled,
        "ka_difference_6m_deg": fracture.kyphosis_difference_six_months_deg,
        "vhl_difference_6m_percent": fracture.vhl_difference_six_months_percent,
        "progressive_kyphosis": _flag_value(fracture.progressive_kyphosis),
        "non_union": _flag_value(fracture.non_union),
        BASELINE_FILM.vhl: fracture.vhl_percent,
        BASELINE_FILM.ka: fracture.kyphosis_angle_deg,
        BASELINE_FILM.reader_vhl["first"]: fracture.first_vhl_percent,
        BASELINE_FILM.reader_vhl["second"]: fracture.second_vhl_percent,
    }
    for name, component in fracture.score_components.items():
        values[f"points_{name}"] = component["points"]
    for visit in built.visits:
        film = visit_film(visit.kind)
        values[film.vhl] = visit.vhl_percent
        values[film.ka] = visit.kyphosis_angle_deg
    return values


def _same(in_file: str, in_app: object) -> bool:
    if in_app is None:
        return False
    try:
        return Decimal(in_file) == Decimal(str(in_app))
    except InvalidOperation:
        return in_file.strip().lower() == str(in_app).lower()


def _score_reason(fracture: Fracture) -> Message | str:
    """Each component's value and points: "T-score -3.6 scores 4; …" (the values as the file has them)."""
    parts = []
    for name, component in fracture.score_components.items():
        label, unit = COMPONENT_WORDS.get(name, (name.replace("_", " "), ""))
        value = component["value"]
        parts.append(
            Message(
                gettext_noop("%(label)s %(value)s%(unit)s scores %(points)s"),
                {
                    "label": Message(label),
                    "value": value,
                    "unit": unit if value not in (None, "") and unit else "",
                    "points": component["points"],
                },
            )
        )
    return joined(parts)


CHECKED_COLUMNS = frozenset(name for name, role in exports.IMPORT_ROLES.items() if role == "checked")


def compare(row: Row, built: Built, computed: set[str], unscheduled: int) -> list[Difference]:
    """Every computed column the file fills whose value is not the app's."""
    checked = CHECKED_COLUMNS | computed
    app = app_values(built, unscheduled)
    differences = []
    for column in row.cells:  # in the file's order
        if column not in checked:
            continue
        in_file = row.get(column)
        if not in_file or column not in app:
            continue
        in_app = app[column]
        if _same(in_file, in_app):
            continue
        reason = ""
        if column.startswith("points_") or column in ("nasovcf_total", "nasovcf_group"):
            reason = _score_reason(built.fracture)
        elif column == "unscheduled_visits":
            reason = Message(gettext_noop("unscheduled visits are not in the table, so they are not imported"))
        shown = Message.of(pgettext_lazy("no value", "empty")) if in_app is None else str(in_app)
        differences.append(Difference(row.number, column, in_file, shown, reason))
    return differences


# -- the records the file names, as stored -----------------------------------------------------------

PATIENT_FIELDS = {"mrn": ("patient",), "name": ("name",), "sex": ("sex",), "date_of_birth": ("date_of_birth",)}


def _film_fields(film: Film, heights: bool) -> dict[str, tuple[str, ...]]:
    first_vhl = (film.vhl, film.reader_vhl["first"], *(film.reader_heights.get("first", {}).values()))
    fields = {
        "vhl_percent": (*first_vhl, film.reader_vhl["second"]),
        "first_vhl_percent": first_vhl,
        "kyphosis_angle_deg": (film.ka, film.reader_ka["first"], film.reader_ka["second"]),
        "first_kyphosis_angle_deg": (film.ka, film.reader_ka["first"]),
        "second_vhl_percent": (film.reader_vhl["second"], *(film.reader_heights.get("second", {}).values())),
        "second_kyphosis_angle_deg": (film.reader_ka["second"],),
    }
    if heights:
        for reader, prefix in (("first", ""), ("second", "second_")):
            for name, column in film.reader_heights[reader].items():
                fields[f"{prefix}{name}_mm"] = (column,)
    return fields


FRACTURE_FIELDS = {
    **{field: (column,) for column, field in ASSESSMENT_COLUMNS.items()},
    "low_energy_trauma": ("low_energy_trauma",),
    **_film_fields(BASELINE_FILM, heights=True),
    "treatment_changed_to": ("treatment_changed_to",),
    "treatment_changed_on": ("treatment_changed_on",),
    "treatment_change_reason": ("treatment_change_reason",),
}


@functools.cache
def visit_fields(kind: str) -> dict[str, tuple[str, ...]]:
    return {
        **{field: (column,) for column, field in visit_columns(kind).items()},
        **_film_fields(visit_film(kind), heights=False),
    }


def _plain(value) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value.normalize())
    if value is None:
        return ""
    return str(value)


def digest(record, fields: dict[str, tuple[str, ...]], columns: set[str]) -> str:
    """What the table says of a record, as one value: the fields whose columns the file has
    (a column the file leaves out leaves its field as stored)."""
    names = [name for name, sources in fields.items() if columns.intersection(sources)]
    return hashlib.sha1("\x1f".join(_plain(getattr(record, name)) for name in names).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Stored:
    pk: int
    version: int
    archived: bool
    digest: str
    treatment_changed: bool = False  # a fracture whose conservative care was abandoned


@dataclasses.dataclass
class Index:
    """The stored records the file names (by their keys), compact: what the check compares."""

    patients: dict[str, Stored] = dataclasses.field(default_factory=dict)  # MRN
    fractures: dict[tuple[int, str, datetime.date], Stored] = dataclasses.field(default_factory=dict)
    visits: dict[tuple[int, str], Stored] = dataclasses.field(default_factory=dict)
    unscheduled: Counter = dataclasses.field(default_factory=Counter)


def load_index(table: Table) -> Index:
    columns = set(table.columns)
    at = table.columns.index("patient") if "patient" in table.columns else None
    index = Index()
    if at is None:
        return index
    mrns = sorted({row[at].strip().upper() for row in table.rows if row[at].strip()})
    fracture_fields = FRACTURE_FIELDS
    for start in range(0, len(mrns), 500):
        batch = mrns[start : start + 500]
        for patient in Patient.objects.filter(mrn__in=batch).only("pk", "version", "archived_at", *PATIENT_FIELDS):
            index.patients[patient.mrn] = Stored(
                patient.pk, patient.version, patient.is_archived, digest(patient, PATIENT_FIELDS, columns)
            )
        fractures = Fracture.objects.filter(patient__mrn__in=batch).only(
            "pk", "version", "archived_at", "patient_id", *fracture_fields
        )
        fracture_ids = []
        for fracture in fractures:
            fracture_ids.append(fracture.pk)
            index.fractures[(fracture.patient_id, fracture.level, fracture.assessment_date)] = Stored(
                fracture.pk,
                fracture.version,
                fracture.is_archived,
                digest(fracture, fracture_fields, columns),
                bool(fracture.treatment_changed_to),
            )
        for visit in Visit.objects.filter(fracture_id__in=fracture_ids):
            if visit.kind == VisitKind.UNSCHEDULED:
                index.unscheduled[visit.fracture_id] += 1
            else:
                index.visits[(visit.fracture_id, visit.kind)] = Stored(
                    visit.pk, visit.version, False, digest(visit, visit_fields(visit.kind), columns)
                )
    return index


# -- checking the table --------------------------------------------------------------------------------


TWICE = {
    "date_of_birth": gettext_noop("MRN %(mrn)s has two dates of birth: “%(first)s” (row %(row)s) and “%(value)s”."),
    "sex": gettext_noop("MRN %(mrn)s has two sexes: “%(first)s” (row %(row)s) and “%(value)s”."),
    "name": gettext_noop("MRN %(mrn)s has two names: “%(first)s” (row %(row)s) and “%(value)s”."),
}


def whole_file_problems(table: Table) -> list[Problem]:
    """What no single row shows: a fracture twice, a patient with two dates of birth (or sexes,
    or names), a formula."""
    problems = [
        Problem(
            table.number(index),
            table.columns[column],
            Message(gettext_noop("a formula, not a value: paste the values only.")),
        )
        for index, column in sorted(table.formulas)
    ]
    position = {name: at for at, name in enumerate(table.columns)}
    if "patient" not in position:
        return problems
    seen_fractures: dict[tuple, int] = {}
    patients: dict[str, dict[str, tuple[str, int]]] = {}
    key_columns = [position.get(name) for name in ("level", "assessment_date")]
    for index, row in enumerate(table.rows):
        number = table.number(index)
        mrn = row[position["patient"]].strip().upper()
        if not mrn:
            continue
        key = (mrn, *(row[at].strip().upper() if at is not None else "" for at in key_columns))
        if key in seen_fractures:
            problems.append(
                Problem(
                    number,
                    "",
                    Message(
                        gettext_noop(
                            "the same patient, level and assessment date as row %(row)s: one row per fracture."
                        ),
                        {"row": seen_fractures[key]},
                    ),
                )
            )
        else:
            seen_fractures[key] = number
        first = patients.setdefault(mrn, {})
        for column in ("date_of_birth", "sex", "name"):
            if column not in position:
                continue
            value = row[position[column]].strip()
            if column in first and first[column][0].upper() != value.upper():
                problems.append(
                    Problem(
                        number,
                        column,
                        Message(
                            TWICE[column],
                            {"mrn": mrn, "first": first[column][0], "row": first[column][1], "value": value},
                        ),
                    )
                )
            first.setdefault(column, (value, number))
    return problems


def check_rows(table: Table, index: Index, start: int, stop: int, checkers: Checkers | None = None):
    """Check rows [start, stop): a report of them and the rows built (with their matches)."""
    checkers = checkers or Checkers()
    report = Report()
    plans = []
    formulas = defaultdict(set)  # a formula's cell is reported as one (whole_file_problems), only
    for place, column in table.formulas:
        if start <= place < stop:
            formulas[place].add(table.columns[column])
    for at in range(start, stop):
        row = Row(table.columns, table.rows[at], table.number(at))
        built, computed = build_row(row, checkers)
        for problem in row.problems:
            if problem.column not in formulas[at]:
                report.add_problem(problem)
        if built is None:
            continue
        plan = match(built, index, set(table.columns), report)
        if plan is None:
            continue
        stored_fracture = plan.fracture[1]
        unscheduled = index.unscheduled[stored_fracture.pk] if stored_fracture else 0
        for difference in compare(row, built, computed, unscheduled):
            report.add_difference(difference)
        plans.append(plan)
    return report, plans


@dataclasses.dataclass
class Plan:
    """What to do with a row's records: (action, stored) for the patient, the fracture and each visit."""

    built: Built | None  # None once only its counts are wanted (a preview's, from a worker process)
    mrn: str
    patient: tuple[str, Stored | None]
    fracture: tuple[str, Stored | None]
    visits: list[tuple[str, Stored | None]]
    new: NewRows | None = None  # a new fracture's rows, made where it was checked (_kept) or by the writer


def match(built: Built, index: Index, columns: set[str], report: Report) -> Plan | None:
    """Find the row's records among the stored ones: created, updated or unchanged."""
    number = built.row
    patient = index.patients.get(built.patient.mrn)
    fracture = None
    if patient is not None:
        if patient.archived:
            report.add_problem(
                Problem(
                    number,
                    "patient",
                    Message(
                        gettext_noop("patient %(mrn)s is archived: restore them in the app first."),
                        {"mrn": built.patient.mrn},
                    ),
                )
            )
            return None
        fracture = index.fractures.get((patient.pk, built.fracture.level, built.fracture.assessment_date))
        if fracture is not None and fracture.archived:
            report.add_problem(
                Problem(
                    number,
                    "assessment_date",
                    Message(
                        gettext_noop("this assessment is archived: restore it in the app first, or leave the row out.")
                    ),
                )
            )
            return None

    if (
        fracture is not None
        and fracture.treatment_changed
        and "treatment_changed_to" in columns
        and not built.fracture.treatment_changed_to
    ):
        report.add_problem(
            Problem(
                number,
                "treatment_changed_to",
                Message(
                    gettext_noop(
                        "the app records a treatment change for this fracture and the file has none: an import does "
                        "not remove a treatment change. Fill in the change as the app has it (its export shows it)."
                    )
                ),
            )
        )
        return None

    def action(stored: Stored | None, record, fields) -> str:
        if stored is None:
            return "create"
        return "unchanged" if digest(record, fields, columns) == stored.digest else "update"

    patient_action = action(patient, built.patient, PATIENT_FIELDS)
    fracture_action = action(fracture, built.fracture, FRACTURE_FIELDS)
    visits = []
    for visit in built.visits:
        stored = index.visits.get((fracture.pk, visit.kind)) if fracture else None
        visits.append((action(stored, visit, visit_fields(visit.kind)), stored))
    plan = Plan(built, built.patient.mrn, (patient_action, patient), (fracture_action, fracture), visits)
    for record, (what, stored) in (("patient", plan.patient), ("fracture", plan.fracture)):
        if what == "update":
            report.plan.append(f"{record}:{stored.pk}:{stored.version}")
    for what, stored in visits:
        if what == "update":
            report.plan.append(f"visit:{stored.pk}:{stored.version}")
    return plan


def _count(report: Report, plans: list[Plan], patients_seen: set[str]) -> None:
    for plan in plans:
        mrn = plan.mrn
        if mrn not in patients_seen:
            patients_seen.add(mrn)
            report.counts["patients"][plan.patient[0]] += 1
        report.counts["fractures"][plan.fracture[0]] += 1
        for what, _ in plan.visits:
            report.counts["visits"][what] += 1


def _chunks(rows: int) -> list[tuple[int, int]]:
    return [(start, min(start + CHUNK_ROWS, rows)) for start in range(0, rows, CHUNK_ROWS)]


# The table and index a pool's processes check (inherited when they fork: nothing is copied).
_SHARED: dict = {}


def _check_chunk(bounds: tuple[int, int]):
    if "checkers" not in _SHARED:
        _SHARED["checkers"] = Checkers()
    report, plans = check_rows(_SHARED["table"], _SHARED["index"], *bounds, checkers=_SHARED["checkers"])
    return report, _kept(plans, bounds, _SHARED["records"], _SHARED.get("keep"))


def _kept(plans: list[Plan], bounds: tuple[int, int], records: bool, keep: Path | None) -> list[Plan]:
    """A chunk's plans as its caller wants them: with their records, or (a preview counts them)
    without, the records first kept in `keep` for the import to write (Checked)."""
    if keep is not None:
        for plan in plans:
            if plan.fracture[0] == "create":
                # Converted here, in the check's worker process, not by the writer, which runs alone.
                plan.new = new_rows(plan.built, plan.patient[0] == "create")
                if plan.patient[0] != "update":
                    plan.built = None  # the rows are all the writer reads (a patient's update reads the forms' data)
        Checked(keep).put(bounds, plans)
    if not records:
        plans = [dataclasses.replace(plan, built=None, new=None) for plan in plans]
    return plans


@contextlib.contextmanager
def _checked_chunks(
    table: Table, index: Index, records: bool = True, keep: Path | None = None
) -> Iterator[Iterator[tuple[Report, list[Plan]]]]:
    """Each chunk's check, in order: in worker processes (one per core) for a large table, in this
    process for a small one or inside a transaction (a test's)."""
    chunks = _chunks(len(table.rows))
    processes = min(os.cpu_count() or 1, settings.NASOVCF_IMPORT_PROCESSES)
    parallel = (
        processes > 1
        and len(table.rows) >= settings.NASOVCF_IMPORT_PARALLEL_ROWS
        and not connections["default"].in_atomic_block
    )
    if not parallel:
        checkers = Checkers()

        def one(start: int, stop: int):
            report, plans = check_rows(table, index, start, stop, checkers)
            return report, _kept(plans, (start, stop), records, keep)

        yield (one(start, stop) for start, stop in chunks)
        return
    _SHARED.update(table=table, index=index, records=records, keep=keep)
    connections.close_all()  # a forked process must not share this one's database connection
    try:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
            yield pool.map(_check_chunk, chunks)
    finally:
        _SHARED.clear()


def with_fewer_collections(function):
    """Run with the cyclic garbage collector passing less often: a check or an import makes
    millions of small objects and frees few, and the collector's passes over them (every 700 new
    objects by default) cost some 6 % of a check. Restored after (the process goes on serving)."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        before = gc.get_threshold()
        gc.set_threshold(100_000, *before[1:])
        try:
            return function(*args, **kwargs)
        finally:
            gc.set_threshold(*before)

    return run


def in_the_site_language(function):
    """Run in settings.LANGUAGE_CODE whoever asks: the forms read a file's values the same way
    for every reader (a locale's input formats), and their messages are kept as message ids
    (tables.Message), worded only when a page shows them."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        with translation.override(settings.LANGUAGE_CODE):
            return function(*args, **kwargs)

    return run


@with_fewer_collections
@in_the_site_language
def check(table: Table, progress: Callable[[int, int], None] | None = None, keep: Path | None = None) -> Report:
    """The preview: what the import of `table` would do, and every problem. Writes nothing to the
    database. With `keep` (an empty directory), the records the check built are kept there, so
    that `run(..., checked=keep)` writes them without checking the table a second time (as long
    as the table and the stored records it names are still the same: see Checked)."""
    report = Report(rows=len(table.rows), notes=list(table.notes))
    for problem in check_columns(table):
        report.add_problem(problem)
    if not report.ok:
        return report
    if not table.rows:
        report.add_problem(
            Problem(table.header_number + 1, "", Message(gettext_noop("the table has a header but no rows.")))
        )
        return report
    for problem in whole_file_problems(table):
        report.add_problem(problem)
    index = load_index(table)
    patients_seen: set[str] = set()
    with _checked_chunks(table, index, records=False, keep=keep) as results:
        for (_, stop), (chunk_report, plans) in zip(_chunks(len(table.rows)), results, strict=True):
            report.merge(chunk_report)
            _count(report, plans, patients_seen)
            if progress:
                progress(stop, report.rows)
    report.problems.sort(key=lambda problem: (problem.row, problem.column))
    if keep is not None:
        if report.ok:
            Checked(keep).seal(table, index, report.plan)
        else:
            Checked(keep).clear()  # nothing to import: no copy of the rows kept
    return report


@functools.cache
def _rules_digest() -> bytes:
    """This module's and the scoring package's code (its forms, rules and models: what the check
    runs), read once in a process: a kept check is written only by the code that made it."""
    digest = hashlib.sha256()
    for path in (Path(__file__), *sorted(Path(scoring.__file__).parent.rglob("*.py"))):
        digest.update(path.read_bytes())
    return digest.digest()


class Checked:
    """The records a check built, kept in a directory (one pickle a chunk) for the import to write
    without checking the table again. Sealed with what the check depended on: the table's digest,
    the stored records it matched the rows against (the Index, i.e. the database's state as far as
    the file is concerned), the plan of updates, the code that checks (this module's and the
    scoring package's), the visit schedule and the day. The import uses them only when all of that
    is still the same; otherwise it checks every row again."""

    SEAL = "seal"

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def _path(self, bounds: tuple[int, int]) -> Path:
        return self.directory / f"{bounds[0]}-{bounds[1]}.pickle"

    def _write(self, path: Path, data: bytes) -> None:
        """Patient data: the file is the app's user's alone (0600) from its first byte."""
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)

    def put(self, bounds: tuple[int, int], plans: list[Plan]) -> None:
        self._write(self._path(bounds), pickle.dumps(plans, protocol=pickle.HIGHEST_PROTOCOL))

    def get(self, bounds: tuple[int, int]) -> list[Plan]:
        with self._path(bounds).open("rb") as handle:
            return pickle.load(handle)  # written by check() in a directory only this app writes

    @staticmethod
    def stamp(table: Table, index: Index, plan: list[str]) -> str:
        digest = hashlib.sha256()
        for part in (table.columns, sorted(table.formulas), list(table.numbers), table.header_number, sorted(plan)):
            digest.update(repr(part).encode())
        for row in table.rows:
            digest.update("\x1f".join(row).encode())
            digest.update(b"\x1e")
        digest.update(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
        digest.update(_rules_digest())
        digest.update(repr(visit_schedule()).encode())
        digest.update(f"{settings.NASOVCF_WORKLIST_OVERDUE_DAYS} {datetime.date.today()}".encode())
        return digest.hexdigest()

    def clear(self) -> None:
        for path in self.directory.glob("*.pickle"):
            path.unlink(missing_ok=True)
        (self.directory / self.SEAL).unlink(missing_ok=True)

    def seal(self, table: Table, index: Index, plan: list[str]) -> None:
        self._write(self.directory / self.SEAL, self.stamp(table, index, plan).encode())

    def valid_for(self, table: Table, index: Index, plan: list[str]) -> bool:
        seal = self.directory / self.SEAL
        return seal.is_file() and seal.read_text() == self.stamp(table, index, plan)


# -- writing -------------------------------------------------------------------------------------------


class ImportRefused(Exception):
    """The import did not start, or stopped (what was written before stays: see the message)."""


@contextlib.contextmanager
def attributed_to(user) -> Iterator[None]:
    """History rows written here name `user` (outside a request, e.g. in the background worker)."""
    context = HistoricalRecords.context
    before = getattr(context, "request", None)
    context.request = SimpleNamespace(user=user)
    try:
        yield
    finally:
        if before is None:
            del context.request
        else:
            context.request = before


def _as_data(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def page_data(form) -> dict[str, str]:
    """What the record's edit page would send if saved untouched."""
    data = {name: _as_data(form[name].value()) for name in form.fields if name not in ("submission", "confirmed")}
    data["version"] = str(form.instance.version) if getattr(form, "instance", None) is not None else ""
    return data


def _overlay(page: dict[str, str], given: dict[str, str], stored) -> dict[str, str]:
    """The edit page's data with the file's values in place of the record's. A value the table
    keeps in one form and the page in two (a VHL typed or from six heights, an ODI typed or from
    ten answers) keeps the record's way when the value did not change."""
    data = dict(page)
    for prefix in ("", "second_"):
        heights = [f"{prefix}{name}_mm" for name in HEIGHTS]
        percent = f"{prefix}vhl_percent"
        if any(given.get(name) for name in heights):
            data[percent] = ""
        elif percent in given:
            unchanged = _same(
                given[percent], getattr(stored, f"{'first' if not prefix else 'second'}_vhl_percent", None)
            )
            if unchanged and any(page.get(name) for name in heights):
                given = {key: value for key, value in given.items() if key != percent}
            else:
                for name in heights:
                    data[name] = ""
    if "odi_percent" in given:
        if given["odi_percent"] and _same(given["odi_percent"], stored.odi_percent) and stored.odi_sections:
            given = {key: value for key, value in given.items() if key != "odi_percent"}
        else:
            for name in data:
                if name.startswith("odi_section_"):
                    data[name] = ""
    data.update(given)
    return data


def _confirmed_save(save: Callable[[dict], object], data: dict) -> object:
    """Save, confirming what a page would ask once (an outcome the change moves): the person
    confirmed the import on its preview."""
    try:
        return save(data)
    except services.CourseChangeToConfirm as change:
        data = {**data, "confirmed": f"{data.get('confirmed', '')} {change.key}".strip()}
        return save(data)


# Values whose database form depends on the value alone: kept per field and type (a Decimal by its
# text, so 1.0 and 1.00 are two values), the rest converted each time.
_PLAIN_TYPES = frozenset({type(None), bool, int, str, Decimal, datetime.date, datetime.datetime})
_DB_VALUES: dict[tuple, Callable] = {}


def _db_value(field, connection) -> Callable:
    """`field.get_db_prep_save(value, connection)`, remembering its answer to a plain value: a
    cohort's values repeat (levels, choices, dates, numbers to 0.1) across thousands of rows."""
    key = (field, connection)  # a thread's own connection (its wrapper object)
    if key in _DB_VALUES:
        return _DB_VALUES[key]
    by_type: dict[type, dict] = {}  # one dict a type: True and 1 are equal keys, not one value
    convert = field.get_db_prep_save

    def db_value(value):
        kind = type(value)
        answers = by_type.get(kind)
        if answers is None:
            if kind not in _PLAIN_TYPES:
                return convert(value, connection)
            answers = by_type[kind] = {}
        at = str(value) if kind is Decimal else value
        try:
            return answers[at]
        except KeyError:
            answer = convert(value, connection)
            if len(answers) < 20_000:
                answers[at] = answer
            return answer

    _DB_VALUES[key] = db_value
    return db_value


def _stamped(field) -> bool:
    """A field Django stamps with the time as a new record is saved (auto_now, auto_now_add)."""
    return isinstance(field, DateTimeField) and (field.auto_now or field.auto_now_add)


def _as_set(field) -> bool:
    """A date or time field that saves its attribute as set, or is stamped with `now` (_Table.written)."""
    return isinstance(field, DateField) and (_stamped(field) or not (field.auto_now or field.auto_now_add))


def _columns(model) -> list:
    """The columns a new record's INSERT names: all but its automatic key (and generated ones)."""
    pk = model._meta.pk
    fields = [field for field in model._meta.concrete_fields if field is not pk and not field.generated]
    # Field's pre_save reads the attribute, as a date's does unless Django stamps it (_Table.written
    # stamps a time itself); no other kind (a file's, a date stamped with the day) is imported.
    unknown = [field for field in fields if not (type(field).pre_save is Field.pre_save or _as_set(field))]
    if unknown:
        raise TypeError(f"{model.__name__}.{unknown[0].name}: the import's insert does not know this field's save.")
    return fields


class _Table:
    """A model's new records as rows of database values: the columns its INSERT names (_columns),
    each value through its field's get_db_prep_save as Django's SQL compiler calls it (as
    QuerySet.bulk_create writes these models: no parent model, an automatic key). The check's
    worker processes make the rows (NewRows); the writer fills in what only it knows (the keys of
    the records a row refers to, who wrote it and when) and executes."""

    def __init__(self, model, connection):
        self.model, self.connection = model, connection
        self.fields = _columns(model)
        self.at = {field.attname: at for at, field in enumerate(self.fields)}
        self.convert = {field.attname: _db_value(field, connection) for field in self.fields}

    def rows(self, records: list) -> list[list]:
        converters = [(field.attname, self.convert[field.attname]) for field in self.fields]
        return [[convert(values[name]) for name, convert in converters] for values in map(vars, records)]

    def written(self, rows: list[list], user, now: datetime.datetime) -> None:
        """Who wrote the rows (created_by, updated_by, where the model has them) and when: each time
        a save stamps (auto_now, auto_now_add) is `now`, one time for the rows a transaction writes."""
        given = [
            (self.at[name], self.convert[name](user.pk if user is not None else None))
            for name in ("created_by_id", "updated_by_id")
            if name in self.at
        ]
        given += [
            (self.at[field.attname], self.convert[field.attname](now)) for field in self.fields if _stamped(field)
        ]
        for row in rows:
            for at, value in given:
                row[at] = value

    def link(self, rows: list[list], name: str, keys: list) -> None:
        """Each row's `name` column (a foreign key) set to its key."""
        at, convert = self.at[name], self.convert[name]
        for row, key in zip(rows, keys, strict=True):
            row[at] = convert(key)


_TABLES: dict[tuple, _Table] = {}


def _table(model) -> _Table:
    connection = connections[router.db_for_write(model)]
    key = (model, connection)  # a thread's own connection (its wrapper object)
    if key not in _TABLES:
        _TABLES[key] = _Table(model, connection)
    return _TABLES[key]


def _insert(table: _Table, rows: list[list]) -> list:
    """Insert the rows, reading their new keys back (RETURNING), in order: one statement for as many
    rows as the database takes at once. The rows they refer to are written first (the writer's
    order; the database's foreign keys refuse a row whose parent is not)."""
    if not rows:
        return []
    connection = table.connection
    if not connection.features.can_return_rows_from_bulk_insert:
        raise NotSupportedError("The import needs INSERT … RETURNING: SQLite 3.35 or later, or PostgreSQL.")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in table.fields)
    head = f"INSERT INTO {quote(table.model._meta.db_table)} ({columns}) VALUES "
    one = "(" + ", ".join(["%s"] * len(table.fields)) + ")"
    returning = f" RETURNING {quote(table.model._meta.pk.column)}"
    batch = max(connection.ops.bulk_batch_size(table.fields, rows), 1)
    keys = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            cursor.execute(head + ", ".join([one] * len(part)) + returning, [value for row in part for value in row])
            keys.extend(key for (key,) in cursor.fetchall())
    return keys


def _insert_rows(table: _Table, rows: list[list]) -> None:
    """Rows whose keys nobody reads back (history, name words, expected visits): one statement,
    executed for each row."""
    if not rows:
        return
    quote = table.connection.ops.quote_name
    with table.connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(table.model._meta.db_table)} "
            f"({', '.join(quote(field.column) for field in table.fields)}) "
            f"VALUES ({', '.join(['%s'] * len(table.fields))})",
            rows,
        )


def _insert_with_history(table: _Table, rows: list[list], user, reason: str, now: datetime.datetime) -> list:
    """simple_history's bulk_create_with_history, through `_insert`: the rows, then a history row
    for each ("+", at `now`, by `user`, with `reason`), each tracked field's value as the record
    was written: what HistoryManager.bulk_history_create writes. Returns the records' keys."""
    keys = _insert(table, rows)
    model = table.model
    history = _table(get_history_manager_for_model(model).model)
    pk = model._meta.pk.attname
    added = (pk, "history_date", "history_user_id", "history_change_reason", "history_type")
    tracked = {field.attname for field in history.model.tracked_fields}
    if not tracked <= set(table.at) | {pk} or set(history.at) != tracked | set(added[1:]):
        raise TypeError(f"{history.model.__name__}: a history model the import's insert does not know.")
    # A history row is its record's row as written, then its key and the history's own four values,
    # picked in the history's column order.
    at = {**table.at, **{name: len(table.fields) + i for i, name in enumerate(added)}}
    pick = operator.itemgetter(*(at[field.attname] for field in history.fields))
    convert = history.convert
    given = [
        convert["history_date"](now),
        convert["history_user_id"](user.pk if user is not None else None),
        convert["history_change_reason"](reason),
        convert["history_type"]("+"),
    ]
    key = convert[pk]
    _insert_rows(history, [pick([*row, key(record), *given]) for row, record in zip(rows, keys, strict=True)])
    return keys


@dataclasses.dataclass
class NewRows:
    """A row's new records as the database takes them (_Table.rows), made where the row was checked
    (in a worker process: see _kept), so that the writer has only to fill in keys, who and when."""

    patient: list | None  # None: the patient is stored
    words: list[list]  # the patient's name words
    fracture: list
    visits: list[list]
    expected: list[tuple[list, int | None]]  # each expected visit, with the index of the visit it links


def new_rows(built: Built, new_patient: bool) -> NewRows:
    """The rows of a new fracture (with its visits and expected visits), and of its patient if new:
    the records the forms built, as a save writes them (services.expected_visits_of, the patient's
    name words)."""
    expected = services.expected_visits_of(built.fracture, built.visits)
    index = {id(visit): at for at, visit in enumerate(built.visits)}
    return NewRows(
        patient=_table(Patient).rows([built.patient])[0] if new_patient else None,
        words=_table(PatientNameWord).rows(PatientNameWord.rows_for(built.patient)) if new_patient else [],
        fracture=_table(Fracture).rows([built.fracture])[0],
        visits=_table(Visit).rows(built.visits),
        expected=list(
            zip(
                _table(ExpectedVisit).rows(expected),
                [index[id(row.visit)] if row.visit is not None else None for row in expected],
                strict=True,
            )
        ),
    )


class _Writer:
    def __init__(self, user, reason: str, expected_plan: set[str] | None):
        self.user, self.reason, self.expected = user, reason, expected_plan
        self.patients: dict[str, int | None] = {}  # MRN → the key of the patient as this import left them
        self.written = Report()
        self.patients_seen: set[str] = set()
        self.now = timezone.now()

    def refuse_unexpected(self, entry: str) -> None:
        if self.expected is not None and entry not in self.expected:
            raise ImportRefused(
                Message(
                    gettext_noop(
                        "A record the file changes was changed in the app after the preview: nothing more was "
                        "written. Check the file again to see the change, then import it."
                    )
                )
            )

    def chunk(self, plans: list[Plan]) -> None:
        self.now = timezone.now()  # the time of the chunk's new records and their history
        for plan in plans:
            if plan.fracture[0] == "create" and plan.new is None:  # checked here, not kept: see _kept
                plan.new = new_rows(plan.built, plan.patient[0] == "create")
        with transaction.atomic():
            self._patients(plans)
            self._new_fractures([plan for plan in plans if plan.fracture[0] == "create"])
            for plan in plans:
                if plan.fracture[0] != "create":
                    self._known_fracture(plan)
        _count(self.written, plans, self.patients_seen)

    # patients
    def _patients(self, plans: list[Plan]) -> None:
        new = []
        for plan in plans:
            action, stored = plan.patient
            if plan.mrn in self.patients:
                continue
            if action == "create":
                self.patients[plan.mrn] = None  # its key once written, below
                new.append(plan)
            elif action == "update":
                self.refuse_unexpected(f"patient:{stored.pk}:{stored.version}")
                self.patients[plan.mrn] = self._update_patient(plan, stored).pk
            else:
                self.patients[plan.mrn] = stored.pk  # as stored: the file says the same of them
        if not new:
            return
        patients, words = _table(Patient), _table(PatientNameWord)
        rows = [plan.new.patient for plan in new]
        patients.written(rows, self.user, self.now)
        keys = _insert_with_history(patients, rows, self.user, self.reason, self.now)
        word_rows, owners = [], []
        for plan, key in zip(new, keys, strict=True):
            self.patients[plan.mrn] = key
            word_rows += plan.new.words
            owners += [key] * len(plan.new.words)
        words.link(word_rows, "patient_id", owners)
        _insert_rows(words, word_rows)

    def _update_patient(self, plan: Plan, stored: Stored) -> Patient:
        patient = Patient.objects.get(pk=stored.pk)
        data = page_data(PatientForm(instance=patient))
        data.update(plan.built.data["patient"])
        data["version"] = str(stored.version)
        form = PatientForm(_QueryData(data), instance=patient)
        self._valid(form, plan.built.row)
        patient._change_reason = self.reason
        return services.update_patient(form=form, user=self.user)

    # fractures and their visits
    def _new_fractures(self, plans: list[Plan]) -> None:
        if not plans:
            return
        fractures, visits, expected = _table(Fracture), _table(Visit), _table(ExpectedVisit)
        rows = [plan.new.fracture for plan in plans]
        fractures.written(rows, self.user, self.now)
        fractures.link(rows, "patient_id", [self.patients[plan.mrn] for plan in plans])
        keys = _insert_with_history(fractures, rows, self.user, self.reason, self.now)
        visit_rows, owners = [], []
        for plan, key in zip(plans, keys, strict=True):
            visit_rows += plan.new.visits
            owners += [key] * len(plan.new.visits)
        visits.written(visit_rows, self.user, self.now)
        visits.link(visit_rows, "fracture_id", owners)
        visit_keys = iter(_insert_with_history(visits, visit_rows, self.user, self.reason, self.now))
        expected_rows, owners, linked = [], [], []
        for plan, key in zip(plans, keys, strict=True):
            own_visits = [next(visit_keys) for _ in plan.new.visits]
            for row, visit in plan.new.expected:
                expected_rows.append(row)
                owners.append(key)
                linked.append(own_visits[visit] if visit is not None else None)
        expected.link(expected_rows, "fracture_id", owners)
        expected.link(expected_rows, "visit_id", linked)
        _insert_rows(expected, expected_rows)

    def _known_fracture(self, plan: Plan) -> None:
        action, stored = plan.fracture
        built = plan.built
        if action == "update":
            self.refuse_unexpected(f"fracture:{stored.pk}:{stored.version}")
            self._update_fracture(plan, stored)
        for visit, (visit_action, stored_visit) in zip(built.visits, plan.visits, strict=True):
            if visit_action == "unchanged":
                continue
            existing = None
            if visit_action == "update":
                self.refuse_unexpected(f"visit:{stored_visit.pk}:{stored_visit.version}")
                existing = Visit.objects.get(pk=stored_visit.pk)
                data = _overlay(
                    page_data(VisitForm(instance=existing, fracture=existing.fracture)),
                    built.data[f"visit_{visit.kind}"],
                    existing,
                )
                data["version"] = str(stored_visit.version)
            else:
                existing = Visit()
                data = dict(built.data[f"visit_{visit.kind}"])
            existing._change_reason = self.reason

            def save(data, existing=existing):
                form, saved = services.save_visit(
                    fracture_id=stored.pk, visit=existing, data=_QueryData(data), user=self.user
                )
                if saved is None:
                    if form.asks_confirmation:
                        key = form.data.get("confirmed", "").split()[-1]
                        raise services.CourseChangeToConfirm(key, "")
                    self._refuse_form(form, built.row)
                return saved

            _confirmed_save(save, data)
        change = built.change
        fracture = Fracture.objects.get(pk=stored.pk) if change else None
        if change and (
            fracture.treatment_changed_to,
            fracture.treatment_changed_on,
            fracture.treatment_change_reason,
        ) != (
            change["treatment"],
            change["changed_on"],
            change["reason"],
        ):
            data = {
                "treatment": change["treatment"],
                "changed_on": change["changed_on"].isoformat(),
                "reason": change["reason"],
                "version": str(fracture.version),
            }
            form = TreatmentChangeForm(_QueryData(data), fracture=fracture)
            self._valid(form, built.row)
            fracture._change_reason = self.reason
            services.change_treatment(form=form, user=self.user)

    def _update_fracture(self, plan: Plan, stored: Stored) -> None:
        fracture = Fracture.objects.select_related("patient").get(pk=stored.pk)
        patient = fracture.patient
        page = page_data(AssessmentForm(instance=fracture, patient=patient))
        data = _overlay(page, plan.built.data["assessment"], fracture)
        data["version"] = str(stored.version)

        def save(data):
            form = AssessmentForm(_QueryData(data), instance=Fracture.objects.get(pk=stored.pk), patient=patient)
            if not form.is_valid():
                if form.asks_confirmation:
                    key = form.data.get("confirmed", "").split()[-1]
                    raise services.CourseChangeToConfirm(key, "")
                self._refuse_form(form, plan.built.row)
            form.instance._change_reason = self.reason
            return services.save_assessment(form=form, user=self.user)

        _confirmed_save(save, data)

    def _valid(self, form, row: int) -> None:
        if not form.is_valid():
            self._refuse_form(form, row)

    def _refuse_form(self, form, row: int) -> None:
        messages = joined(
            [
                Message(gettext_noop("%(field)s: %(message)s"), {"field": field, "message": message})
                if field != NON_FIELD_ERRORS
                else message
                for field, errors in form.errors.as_data().items()
                for message in error_messages(errors)
            ]
        )
        raise ImportRefused(
            Message(
                gettext_noop(
                    "Row %(row)s could not be saved: %(messages)s. Nothing from this row's chunk was written."
                ),
                {"row": row, "messages": messages},
            )
        )


class _QueryData(dict):
    """A dict with QueryDict's getlist, for a service that reads a form's data."""

    def getlist(self, key):
        return [self[key]] if key in self else []


@with_fewer_collections
@in_the_site_language
def run(
    table: Table,
    *,
    user,
    source: str,
    expected_plan: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    checked: Path | None = None,
) -> Report:
    """Write the table: new records in bulk (built and scored by the forms and model methods a
    save uses), changed ones through the pages' forms and services. A table with any problem is
    refused before anything is written. `expected_plan` is the preview's list of records to
    update (with their versions): a record changed since is refused, not overwritten; without it
    the whole table is checked first. `checked` is where `check(table, keep=...)` kept the records
    it built: written as they are when the table, the stored records it names and the plan are
    still the ones checked (Checked), instead of checking every row again."""
    if expected_plan is None:
        report = check(table)
        if not report.ok:
            raise ImportRefused(
                Message(
                    gettext_noop("The file has %(n)s problem(s): nothing was written."), {"n": report.problem_count}
                )
            )
        expected_plan = report.plan
    else:
        problems = check_columns(table) + whole_file_problems(table)
        if problems:
            raise ImportRefused(
                Message(
                    gettext_noop("The file has problems (%(problem)s): nothing was written."),
                    {"problem": problems[0].as_message()},
                )
            )
    from scoring.presenters import person

    writer = _Writer(user, f"Imported from {source} by {person(user)}", set(expected_plan))
    writer.written.rows = len(table.rows)
    index = load_index(table)
    chunks = _chunks(len(table.rows))
    kept = Checked(checked) if checked is not None else None
    if kept is not None and kept.valid_for(table, index, expected_plan):
        results_of = contextlib.nullcontext((Report(), kept.get(bounds)) for bounds in chunks)
    else:
        results_of = _checked_chunks(table, index)
    with attributed_to(user), results_of as results:
        for (start, stop), (chunk_report, plans) in zip(chunks, results, strict=True):
            if not chunk_report.ok:
                raise ImportRefused(
                    Message(
                        gettext_noop(
                            "%(problem)s: the import stopped there; rows before row %(row)s were written "
                            "(importing the file again leaves them as they are)."
                        ),
                        {"problem": chunk_report.problems[0].as_message(), "row": table.number(start)},
                    )
                )
            try:
                writer.chunk(plans)
            except StaleEdit:
                raise ImportRefused(
                    Message(
                        gettext_noop(
                            "A record of rows %(first)s–%(last)s was changed in the app during the import: rows "
                            "before row %(first)s were written. Check the file again, then import it."
                        ),
                        {"first": table.number(start), "last": table.number(stop - 1)},
                    )
                ) from None
            if progress:
                progress(stop, len(table.rows))
    return writer.written
