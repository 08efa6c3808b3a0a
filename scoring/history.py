"""The audit trail in plain words: what changed in each saved version of a record, and by whom.

django-simple-history keeps a full copy of every version (HistoricalPatient, HistoricalFracture,
HistoricalVisit); this module compares consecutive copies and says what changed, in the words a
clinician uses: each field by its name on the page, with its unit, choices by their labels,
booleans as yes/no, empty as "—", the stored breakdowns (score items, population warnings, ODI
sections) summarised. Every field of the three models has an entry in FIELDS (a test walks them),
so no line ever shows a column name.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.utils import dateformat, timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext, gettext_lazy, pgettext, pgettext_lazy

from nasovcf_site.i18n import words

from . import measurements, presenters
from .rules import format_signed

EMPTY = "—"
# 2026-12-01 09:14 CET: the clinic's zone (settings.TIME_ZONE), named; the date and time as the
# language writes them (SHORT_DATETIME_FORMAT: Y-m-d H:i in English), the zone's name after them.
ZONE_FORMAT = "T"
NOT_RECORDED = gettext_lazy("not recorded")
NOT_KNOWN_YET = gettext_lazy("not known yet")


@dataclass(frozen=True)
class FieldText:
    """How the history names and writes one field."""

    label: str | Promise  # gettext_lazy: named in the language of the page that shows it
    unit: str = ""  # appended to a number: " %", "°", " mm"
    computed: bool = False  # derived by the app from other fields: its line says "(computed)"
    signed: bool = False  # a difference: +8.5° rather than 8.5°
    empty: str | Promise = EMPTY  # what an empty value reads as
    # A value written with words around it ("%(value)s years"), instead of value and unit.
    template: str | Promise = ""


def _computed(label: str | Promise, unit: str = "", **extra) -> FieldText:
    return FieldText(label, unit, computed=True, **extra)


# Every field of Patient, Fracture and Visit (and of their historical copies), in the order a
# clinician reads a record: the history lists changes in this order.
FIELDS: dict[str, FieldText] = {
    # The patient.
    "mrn": FieldText(gettext_lazy("MRN")),
    "name": FieldText(gettext_lazy("Name")),
    "sex": FieldText(gettext_lazy("Sex")),
    "date_of_birth": FieldText(gettext_lazy("Date of birth")),
    # What a fracture or a visit belongs to.
    "patient": FieldText(gettext_lazy("Patient")),
    "fracture": FieldText(gettext_lazy("Fracture")),
    # The fracture episode.
    "assessment_date": FieldText(gettext_lazy("Assessment date")),
    "level": FieldText(pgettext_lazy("fracture level", "Level")),
    "injury_date": FieldText(gettext_lazy("Injury date")),
    "low_energy_trauma": FieldText(gettext_lazy("Low-energy trauma")),
    "fracture_type": FieldText(gettext_lazy("Fracture type")),
    # The visit.
    "kind": FieldText(pgettext_lazy("visit kind", "Visit")),
    "visit_date": FieldText(gettext_lazy("Visit date")),
    # The lateral film: the value scored or compared, then each reader's own.
    "vhl_percent": FieldText(gettext_lazy("VHL"), " %"),
    "vhl_entered_percent": FieldText(gettext_lazy("VHL (typed)"), " %"),
    "kyphosis_angle_deg": FieldText(gettext_lazy("Kyphosis angle"), "°"),
    "first_reader_name": FieldText(gettext_lazy("First reader")),
    "first_vhl_percent": FieldText(gettext_lazy("First reader's VHL"), " %"),
    "first_kyphosis_angle_deg": FieldText(gettext_lazy("First reader's kyphosis angle"), "°"),
    "fractured_anterior_mm": FieldText(gettext_lazy("Height a, fractured vertebra, anterior"), " mm"),
    "fractured_posterior_mm": FieldText(gettext_lazy("Height b, fractured vertebra, posterior"), " mm"),
    "cranial_anterior_mm": FieldText(gettext_lazy("Height c, vertebra above, anterior"), " mm"),
    "cranial_posterior_mm": FieldText(gettext_lazy("Height d, vertebra above, posterior"), " mm"),
    "caudal_anterior_mm": FieldText(gettext_lazy("Height e, vertebra below, anterior"), " mm"),
    "caudal_posterior_mm": FieldText(gettext_lazy("Height f, vertebra below, posterior"), " mm"),
    "second_reader_name": FieldText(gettext_lazy("Second reader")),
    "second_vhl_percent": FieldText(gettext_lazy("Second reader's VHL"), " %"),
    "second_vhl_entered_percent": FieldText(gettext_lazy("Second reader's VHL (typed)"), " %"),
    "second_kyphosis_angle_deg": FieldText(gettext_lazy("Second reader's kyphosis angle"), "°"),
    "second_fractured_anterior_mm": FieldText(
        gettext_lazy("Second reader's height a, fractured vertebra, anterior"), " mm"
    ),
    "second_fractured_posterior_mm": FieldText(
        gettext_lazy("Second reader's height b, fractured vertebra, posterior"), " mm"
    ),
    "second_cranial_anterior_mm": FieldText(gettext_lazy("Second reader's height c, vertebra above, anterior"), " mm"),
    "second_cranial_posterior_mm": FieldText(
        gettext_lazy("Second reader's height d, vertebra above, posterior"), " mm"
    ),
    "second_caudal_anterior_mm": FieldText(gettext_lazy("Second reader's height e, vertebra below, anterior"), " mm"),
    "second_caudal_posterior_mm": FieldText(gettext_lazy("Second reader's height f, vertebra below, posterior"), " mm"),
    # The rest of the assessment.
    "t2_signal": FieldText(gettext_lazy("MRI T2 signal")),
    "bmd_t_score": FieldText(gettext_lazy("BMD T-score")),
    "vas_pain": FieldText(gettext_lazy("VAS pain")),
    "odi_percent": FieldText(gettext_lazy("ODI"), " %"),
    "odi_sections": FieldText(gettext_lazy("ODI sections"), empty=NOT_RECORDED),
    "height_cm": FieldText(pgettext_lazy("body height", "Height"), " cm"),
    "weight_kg": FieldText(gettext_lazy("Weight"), " kg"),
    "treatment": FieldText(gettext_lazy("Treatment")),
    "treatment_start_date": FieldText(gettext_lazy("Treatment start")),
    "of_class": FieldText(gettext_lazy("AO Spine-DGOU class"), empty=NOT_RECORDED),
    "treatment_changed_to": FieldText(gettext_lazy("Treatment changed to")),
    "treatment_changed_on": FieldText(gettext_lazy("Treatment changed on")),
    "treatment_change_reason": FieldText(gettext_lazy("Reason for the treatment change")),
    # The follow-up visit's findings.
    "bone_union": FieldText(gettext_lazy("Bone union"), empty=NOT_RECORDED),
    "vacuum_cleft_mri": FieldText(gettext_lazy("Intravertebral vacuum cleft on MRI")),
    "vacuum_cleft_ct": FieldText(gettext_lazy("Intravertebral vacuum cleft on CT")),
    "anterior_height_change": FieldText(gettext_lazy("Anterior height change between standing and supine films")),
    "notes": FieldText(gettext_lazy("Notes")),
    # What the app computed from the inputs.
    "age_at_assessment": _computed(gettext_lazy("Age at assessment"), template=gettext_lazy("%(value)s years")),
    "score_components": _computed(gettext_lazy("Score items")),
    "total_score": _computed(gettext_lazy("Total score")),
    "risk_group": _computed(gettext_lazy("Risk group")),
    "population_warnings": _computed(gettext_lazy("Population warnings")),
    "rules_version": _computed(gettext_lazy("Scoring rules")),
    "genant_reduction_percent": _computed(gettext_lazy("Genant height reduction"), " %"),
    "genant_grade": _computed(gettext_lazy("Genant grade")),
    "kyphosis_difference_deg": _computed(gettext_lazy("Kyphosis angle change since pretreatment"), "°", signed=True),
    "vhl_difference_percent": _computed(gettext_lazy("VHL change since pretreatment"), " %", signed=True),
    "kyphosis_difference_six_months_deg": _computed(
        gettext_lazy("Kyphosis angle change at 6 months"), "°", signed=True
    ),
    "vhl_difference_six_months_percent": _computed(gettext_lazy("VHL change at 6 months"), " %", signed=True),
    "progressive_kyphosis": _computed(gettext_lazy("Progressive kyphosis"), empty=NOT_KNOWN_YET),
    "progressive_kyphosis_on": _computed(gettext_lazy("Progressive kyphosis found on")),
    "non_union": _computed(gettext_lazy("Non-union"), empty=NOT_KNOWN_YET),
    "non_union_on": _computed(gettext_lazy("Non-union found on")),
    # Archiving (one line: "Archived: reason" or "Restored", see _archive_line).
    "archived_at": FieldText(gettext_lazy("Archived")),
    "archived_by": FieldText(gettext_lazy("Archived by")),
    "archive_reason": FieldText(gettext_lazy("Reason for archiving")),
    # Bookkeeping: named, not listed as changes (who and when head each line).
    "id": FieldText(gettext_lazy("Record number")),
    "version": FieldText(gettext_lazy("Version")),
    "created_at": FieldText(gettext_lazy("Entered at")),
    "created_by": FieldText(gettext_lazy("Entered by")),
    "updated_at": FieldText(gettext_lazy("Last saved at")),
    "updated_by": FieldText(gettext_lazy("Last saved by")),
    # The historical copies' own columns.
    "history_id": FieldText(gettext_lazy("History entry")),
    "history_date": FieldText(gettext_lazy("Saved at")),
    "history_change_reason": FieldText(gettext_lazy("Reason given")),
    "history_type": FieldText(gettext_lazy("Kind of change")),
    "history_user": FieldText(gettext_lazy("Saved by")),
}

# Where a field means something else on one kind of record.
MODEL_FIELDS: dict[str, dict[str, FieldText]] = {
    "fracture": {
        "vhl_percent": FieldText(gettext_lazy("VHL (pretreatment, scored)"), " %"),
        "kyphosis_angle_deg": FieldText(gettext_lazy("Kyphosis angle (pretreatment, scored)"), "°"),
        "progressive_kyphosis": _computed(gettext_lazy("Progressive kyphosis (course)"), empty=NOT_KNOWN_YET),
        "non_union": _computed(gettext_lazy("Non-union (course)"), empty=NOT_KNOWN_YET),
    },
    "visit": {
        "progressive_kyphosis": _computed(gettext_lazy("Progressive kyphosis at this visit"), empty=NOT_KNOWN_YET),
    },
}

# Fields a person does not need to read about: bookkeeping (who and when head each line), or
# said by another field's line (the archive's who and reason: _archive_line).
HIDDEN_FIELDS = {
    "id",
    "updated_at",
    "updated_by",
    "created_at",
    "created_by",
    "version",
    "archived_by",
    "archive_reason",
}

# A reading that moved exactly as another field already listed says nothing new: one reader's
# typed VHL is also the first reader's VHL and the film's VHL. Left out when it changed from and
# to the same values as one of these.
SAME_AS = {
    "first_vhl_percent": ("vhl_entered_percent", "vhl_percent"),
    "vhl_entered_percent": ("vhl_percent",),
    "first_kyphosis_angle_deg": ("kyphosis_angle_deg",),
    "second_vhl_percent": ("second_vhl_entered_percent",),
}

# Population warnings (rules.population_warnings) in a few words each.
WARNING_WORDS = {
    "bmd_above_inclusion": gettext_lazy("T-score above −1.0"),
    "age_below_inclusion": gettext_lazy("age under 60"),
    "level_outside_validated": gettext_lazy("level outside T11–L2"),
    "high_energy_trauma": gettext_lazy("high-energy trauma"),
    "treatment_not_conservative": gettext_lazy("treatment not conservative"),
}


@dataclass(frozen=True)
class Entry:
    """One saved version: when, who, why (the reason given, if any) and what changed, in the words
    of the language active when it was built (entries() runs for each page shown)."""

    when: datetime.datetime
    who: str
    changes: tuple[str, ...]
    reason: str = ""

    @property
    def text(self) -> str:
        return pgettext("between changes", "; ").join(self.changes)


def _live_model(model):
    """A historical model's record model (HistoricalFracture → Fracture), else the model itself."""
    return getattr(model, "instance_type", model)


def field_text(model, field_name: str) -> FieldText | None:
    """How the history names `field_name` of `model` (or of its historical copy); None if unnamed."""
    own = MODEL_FIELDS.get(_live_model(model)._meta.model_name, {})
    return own.get(field_name) or FIELDS.get(field_name)


def _label(model, field_name: str) -> str:
    text = field_text(model, field_name)
    if text is not None:
        return str(text.label)
    # Not named here yet: the model's own verbose name, never the column's name.
    return str(model._meta.get_field(field_name).verbose_name).capitalize()


def local_time(moment: datetime.datetime) -> str:
    """'2026-12-01 09:14 CET': a stored (UTC) moment in the clinic's time zone, with its name."""
    local = timezone.localtime(moment)
    return f"{date_format(local, 'SHORT_DATETIME_FORMAT')} {dateformat.format(local, ZONE_FORMAT)}"


def _choice(label) -> str:
    """A choice's label inside a sentence: 'Non-union' → 'non-union', but 'OF 2: …', 'T11' stay.
    English only: another language's label is written as its catalogue has it."""
    label = words(label)
    if not (get_language() or "en").startswith("en"):
        return label
    if len(label) > 1 and label[0].isupper() and not (label[1].isupper() or label[1].isdigit()):
        return label[0].lower() + label[1:]
    return label


def _number(value, text: FieldText) -> str:
    written = format_signed(value)
    if text.signed and value > 0:
        written = f"+{written}"
    return f"{written}{text.unit}"


def _components(value) -> str:
    if not isinstance(value, dict):
        return str(value)
    items = [
        f"{_choice(label)} {value[name].get('points', '?')}"
        for name, label in presenters.COMPONENT_LABELS.items()
        if isinstance(value.get(name), dict)
    ]
    return gettext("%(items)s points") % {"items": " · ".join(items)} if items else EMPTY


def _warnings(value) -> str:
    if not value:
        return pgettext("no population warnings", "none")
    return pgettext("list separator", ", ").join(
        str(WARNING_WORDS.get(item.get("code"), item.get("message") or str(item.get("code", "?")))) for item in value
    )


def _odi_sections(value) -> str:
    if not isinstance(value, list):
        return str(value)
    answered = sum(score is not None for score in value)
    return gettext("%(answered)s of %(total)s sections answered") % {
        "answered": answered,
        "total": len(measurements.ODI_SECTIONS),
    }


def _value(model, field_name: str, value) -> str:
    """One stored value as a page prints it: its label, unit, yes/no, date or summary."""
    text = field_text(model, field_name) or FieldText(field_name)
    if value is None or value == "":
        return str(text.empty)
    if field_name == "score_components":
        return _components(value)
    if field_name == "population_warnings":
        return _warnings(value)
    if field_name == "odi_sections":
        return _odi_sections(value)
    field = model._meta.get_field(field_name)
    if field.choices:
        return _choice(str(dict(field.flatchoices).get(value, value)))
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, Decimal):
        return _number(value, text)
    if isinstance(value, datetime.datetime):
        return local_time(value)
    if isinstance(value, datetime.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if field.is_relation:
        return f"#{value}"
    if text.template:
        return text.template % {"value": value}
    return f"{value}{text.unit}"


def _change_line(label, before: str, after: str, *, computed: bool = False) -> str:
    """'BMD T-score −2.4 → −2.6', 'Total score 4 → 6 (computed)'."""
    values = {"field": label, "before": before, "after": after}
    if computed:
        return gettext("%(field)s %(before)s → %(after)s (computed)") % values
    return gettext("%(field)s %(before)s → %(after)s") % values


def _archive_line(new) -> str:
    """The words services.set_archived gives as the change's reason, so the two read as one."""
    if new.archived_at is None:
        return gettext("Restored")
    if new.archive_reason:
        return gettext("Archived: %(reason)s") % {"reason": new.archive_reason}
    return gettext("Archived")


# The reasons the app itself stores with a change (services.set_archived, cohort's import), in
# English as stored: said again in the reader's language from their parts. Any other reason (one
# a person typed, or a sentence stored whole) is shown as it was stored.
_ARCHIVED_BECAUSE = re.compile(r"Archived: (?P<reason>.+)", re.DOTALL)
BEFORE_THE_AUDIT_TRAIL = "baseline: saved before the audit trail began"
_IMPORTED = re.compile(r"Imported from (?P<source>.+) by (?P<person>.+)", re.DOTALL)


def reason_words(reason: str) -> str:
    """A stored change reason in the active language, where the app wrote it from known parts."""
    if reason == "Archived":
        return gettext("Archived")
    if reason == "Restored":
        return gettext("Restored")
    if reason == BEFORE_THE_AUDIT_TRAIL:  # migration 0005's first version of every older record
        return gettext("baseline: saved before the audit trail began")
    if found := _ARCHIVED_BECAUSE.fullmatch(reason):
        return gettext("Archived: %(reason)s") % {"reason": found["reason"]}
    if found := _IMPORTED.fullmatch(reason):
        return gettext("Imported from %(source)s by %(person)s") % {
            "source": found["source"],
            "person": found["person"],
        }
    if found := _COURSE_CHANGE.fullmatch(reason):
        return _course_change_words(found["changes"]) or reason
    return reason


# services.confirm_course_change's reason (presenters.course_change_text, stored in English).
_COURSE_CHANGE = re.compile(r"This changes the fracture's course: (?P<changes>.+)\.", re.DOTALL)
_ANSWER = r"(?:not known yet|yes|no)(?: \([^()]*\))?"
_COURSE_PART = re.compile(rf"(?P<outcome>.+?) (?P<before>{_ANSWER}) → (?P<after>{_ANSWER})")
_OUTCOME_ANSWER = re.compile(r"(?P<answer>not known yet|yes|no)(?: \((?P<difference>[^()]*)\))?")
_ANSWERS = {"not known yet": gettext_lazy("not known yet"), "yes": gettext_lazy("yes"), "no": gettext_lazy("no")}


def _course_change_words(changes: str) -> str | None:
    """The course change's stored English said again in the active language; None if it is not
    one presenters.course_change_text wrote (then it is shown as stored)."""
    from django.utils import translation

    from .services import STORED_LANGUAGE

    with translation.override(STORED_LANGUAGE):
        outcomes = {str(label): label for label in presenters.COURSE_OUTCOME_LABELS.values()}

    def answer(stored: str) -> str | None:
        found = _OUTCOME_ANSWER.fullmatch(stored)
        if found is None:
            return None
        said = str(_ANSWERS[found["answer"]])
        if found["difference"] is None:
            return said
        return gettext("%(answer)s (%(difference)s)") % {"answer": said, "difference": found["difference"]}

    parts = []
    for stored in changes.split("; "):
        found = _COURSE_PART.fullmatch(stored)
        if found is None or found["outcome"] not in outcomes:
            return None
        before, after = answer(found["before"]), answer(found["after"])
        if before is None or after is None:
            return None
        parts.append(
            gettext("%(outcome)s %(before)s → %(after)s")
            % {"outcome": outcomes[found["outcome"]], "before": before, "after": after}
        )
    return gettext("This changes the fracture's course: %(changes)s.") % {
        "changes": pgettext("list separator", "; ").join(parts)
    }


def _component_lines(before, after) -> list[str]:
    """'Points for vertebral height loss (pretreatment) 0 → 2 (computed)' for each item whose
    points changed (a value that moved within its category is said by its own field's line)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        label = FIELDS["score_components"].label
        return [_change_line(label, _components(before), _components(after), computed=True)]
    lines = []
    for name, label in presenters.COMPONENT_LABELS.items():
        old, new = (before.get(name) or {}).get("points"), (after.get(name) or {}).get("points")
        if old != new:
            lines.append(
                gettext("Points for %(item)s %(before)s → %(after)s (computed)")
                % {"item": _choice(label), "before": EMPTY if old is None else old, "after": new}
            )
    return lines


def _odi_lines(before, after) -> list[str]:
    """'ODI section walking 2 → 3' for each section answered differently."""
    if not isinstance(before, list) or not isinstance(after, list):
        text = FIELDS["odi_sections"]
        empty = str(text.empty)
        return [
            _change_line(text.label, _value_or(before, empty, _odi_sections), _value_or(after, empty, _odi_sections))
        ]
    lines = []
    english = (get_language() or "en").startswith("en")
    for number, name in enumerate(measurements.ODI_SECTIONS):
        old = before[number] if number < len(before) else None
        new = after[number] if number < len(after) else None
        if old != new:
            section = words(name)
            lines.append(
                gettext("ODI section %(section)s %(before)s → %(after)s")
                % {
                    "section": section.lower() if english else section,
                    "before": EMPTY if old is None else old,
                    "after": EMPTY if new is None else new,
                }
            )
    return lines


def _value_or(value, empty: str, summary) -> str:
    return empty if value is None else summary(value)


def _field_order(model) -> list:
    """The model's fields in FIELDS' order (a field not named there comes last)."""
    order = {name: number for number, name in enumerate(FIELDS)}
    return sorted(model._meta.concrete_fields, key=lambda field: order.get(field.name, len(order)))


def _comparable(name: str, value):
    """What a change is judged on: a population warning by its code and sentence, not the `params`
    an assessment saved since issue 16 also keeps (an older row saved again is no change to show)."""
    if name == "population_warnings" and isinstance(value, list):
        return [(w.get("code"), w.get("message")) if isinstance(w, dict) else w for w in value]
    return value


def changes(model, new, old) -> list[str]:
    """Each change between two historical records of one row, in words: 'BMD T-score −2.4 → −2.6',
    'Total score 4 → 6 (computed)'. Only the model's current fields are compared, so a column
    an old version kept and the model has since dropped is never named. (simple-history's
    diff_against skips non-editable fields, and the computed score is one of those, so the
    comparison is made here.)"""
    fields = _field_order(model)
    moved = {
        field.name: (getattr(old, field.attname, None), getattr(new, field.attname, None))
        for field in fields
        if _comparable(field.name, getattr(old, field.attname, None))
        != _comparable(field.name, getattr(new, field.attname, None))
    }
    lines = []
    for field in fields:
        name = field.name
        if name not in moved or name in HIDDEN_FIELDS:
            continue
        if any(moved.get(other) == moved[name] for other in SAME_AS.get(name, ())):
            continue
        before, after = moved[name]
        if name == "archived_at":
            lines.append(_archive_line(new))
        elif name == "score_components":
            lines.extend(_component_lines(before, after))
        elif name == "odi_sections":
            lines.extend(_odi_lines(before, after))
        else:
            text = field_text(model, name)
            lines.append(
                _change_line(
                    _label(model, name),
                    _value(model, name, before),
                    _value(model, name, after),
                    computed=bool(text and text.computed),
                )
            )
    return lines


def describe(model, new, old) -> str:
    """The changes between two versions as one sentence: 'BMD T-score −2.4 → −2.6; Total score 4 → 6 (computed)'."""
    return pgettext("between changes", "; ").join(changes(model, new, old))


def entries(model, records) -> list[Entry]:
    """The record's history, newest first; `records` oldest first, with history_user loaded."""
    result = []
    previous = None
    for record in records:
        if record.history_type == "+" or previous is None:
            lines = [pgettext("history: the record was made", "Recorded")]
        elif record.history_type == "-":
            lines = [gettext("Deleted in the admin")]
        else:
            lines = changes(model, record, previous) or [gettext("Saved again with no change a person would see")]
        reason = reason_words((getattr(record, "history_change_reason", None) or "").strip())
        if reason:
            lines = [line for line in lines if line != reason]  # "Archived: duplicate record" once
        user = record.history_user
        result.append(Entry(record.history_date, presenters.person(user) if user else system(), tuple(lines), reason))
        previous = record
    result.reverse()
    return result


def system() -> str:
    """Who saved a version no user saved (a migration, a command)."""
    return pgettext("who saved a version", "system")


def changes_since(instance, seen_version: int) -> tuple[str, str, datetime.datetime] | None:
    """What others saved after `seen_version`: (changes, who by full name, when), for a refused
    stale save; changes is "" when nothing a person would see changed."""
    records = list(instance.history.select_related("history_user").order_by("history_date", "history_id"))
    seen = [record for record in records if record.version == seen_version]
    if not seen or not records:
        return None
    base, latest = seen[-1], records[-1]
    user = latest.history_user
    return (
        describe(type(instance), latest, base),
        presenters.person(user) if user else system(),
        latest.history_date,
    )
