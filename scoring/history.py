"""The audit trail in plain words: what changed in each saved version of a record, and by whom.

django-simple-history keeps a full copy of every version (HistoricalPatient, HistoricalFracture,
HistoricalVisit); this module compares consecutive copies and says what changed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from .rules import format_signed

# Fields a person does not need to read about: bookkeeping, or shown through another field.
HIDDEN_FIELDS = {
    "id",
    "updated_at",
    "updated_by",
    "created_at",
    "created_by",
    "version",
    "score_components",
    "odi_sections",
    "vhl_entered_percent",
    "rules_version",
    "archived_by",
    "age_at_assessment",
}
LABELS = {
    "bmd_t_score": "T-score",
    "total_score": "score",
    "risk_group": "group",
    "vhl_percent": "VHL (%)",
    "kyphosis_angle_deg": "kyphosis angle (°)",
    "population_warnings": "warnings",
    "kyphosis_difference_deg": "KA difference (°)",
    "vhl_difference_percent": "VHL difference (%)",
    "archived_at": "archived",
}
KINDS = {"+": "Created", "~": "Changed", "-": "Deleted"}


@dataclass(frozen=True)
class Entry:
    when: datetime.datetime
    who: str
    kind: str
    changes: str


def _label(model, field_name: str) -> str:
    if field_name in LABELS:
        return LABELS[field_name]
    field = model._meta.get_field(field_name)
    return str(field.verbose_name).replace("_", " ")


def _value(model, field_name: str, value) -> str:
    if value is None or value == "":
        return "—"
    field = model._meta.get_field(field_name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format_signed(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if field_name == "population_warnings":
        return ", ".join(item.get("code", "?") for item in value) or "none"
    if field.is_relation:
        return f"#{value}"
    return str(value)


def describe(model, new, old) -> str:
    """'T-score −2.4 → −2.6; score 4 → 6' between two historical records of one row, in the
    model's field order. (simple-history's diff_against skips non-editable fields, and the
    computed score is one of those, so the comparison is made here.)"""
    parts = []
    for field in model._meta.concrete_fields:
        name = field.name
        if name in HIDDEN_FIELDS:
            continue
        before, after = getattr(old, field.attname), getattr(new, field.attname)
        if before == after:
            continue
        if name == "archived_at":
            parts.append("archived" if after else "restored from the archive")
            continue
        parts.append(f"{_label(model, name)} {_value(model, name, before)} → {_value(model, name, after)}")
    return "; ".join(parts)


def entries(model, records) -> list[Entry]:
    """The record's history, newest first; `records` oldest first, with history_user loaded."""
    result = []
    previous = None
    for record in records:
        if record.history_type == "+" or previous is None:
            changes = "recorded"
        elif record.history_type == "-":
            changes = "deleted in the admin"
        else:
            changes = describe(model, record, previous) or "saved again with no change a person would see"
        user = record.history_user
        result.append(
            Entry(record.history_date, user.get_username() if user else "system", KINDS[record.history_type], changes)
        )
        previous = record
    result.reverse()
    return result


def changes_since(instance, seen_version: int) -> tuple[str, str, datetime.datetime] | None:
    """What others saved after `seen_version`: (changes, who, when), for a refused stale save."""
    records = list(instance.history.select_related("history_user").order_by("history_date", "history_id"))
    seen = [record for record in records if record.version == seen_version]
    if not seen or not records:
        return None
    base, latest = seen[-1], records[-1]
    user = latest.history_user
    return (
        describe(type(instance), latest, base) or "no visible change",
        user.get_username() if user else "system",
        latest.history_date,
    )
