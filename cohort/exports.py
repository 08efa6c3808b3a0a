"""Exports for research: one row per fracture, identified (for the clinic) or de-identified (for a
statistician), as CSV or XLSX, with a data dictionary."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import secrets
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.utils.translation import gettext_noop

from scoring import measurements
from scoring.models import SCHEDULED_KINDS, Fracture, Patient, Treatment, Visit, visit_by_kind

from . import data
from .tables import Message, words

COMPONENTS = ["fracture_type", "vertebral_height_loss", "kyphosis_angle", "t2_signal", "bmd"]
VISIT_FIELDS = {
    "date": "visit_date",
    "vas": "vas_pain",
    "odi": "odi_percent",
    "ka": "kyphosis_angle_deg",
    "vhl": "vhl_percent",
    "union": "bone_union",
    # The evidence the visit form asks for with a non-union (spec §3).
    "vacuum_cleft_mri": "vacuum_cleft_mri",
    "vacuum_cleft_ct": "vacuum_cleft_ct",
    "anterior_height_change": "anterior_height_change",
}
EVIDENCE = ("vacuum_cleft_mri", "vacuum_cleft_ct", "anterior_height_change")
VISITS = (("1m", gettext_noop("1-month")), ("3m", gettext_noop("3-month")), ("6m", gettext_noop("6-month")))
# Each reader of a film: export column part → model field (the fracture's and the visit's alike).
READER_FIELDS = {
    "first_reader_name": "first_reader_name",
    "first_reader_vhl": "first_vhl_percent",
    "first_reader_ka": "first_kyphosis_angle_deg",
    "second_reader_name": "second_reader_name",
    "second_reader_vhl": "second_vhl_percent",
    "second_reader_ka": "second_kyphosis_angle_deg",
}
# The same, read from the cohort's frame (cohort/data.py) for the pretreatment film.
BASELINE_READERS = {
    "first_reader_name": "first_reader",
    "first_reader_vhl": "first_vhl",
    "first_reader_ka": "first_ka",
    "second_reader_name": "second_reader",
    "second_reader_vhl": "second_vhl",
    "second_reader_ka": "second_ka",
}
# Words of the dictionary: kept as their parts (tables.Message, each an English str), put into the
# language of the request that downloads the dictionary (`dictionary()`).
GENANT_LABEL = Message(gettext_noop("Genant grade (height-based approximation)"))
# Why reader names are in the identified export only (the data dictionary says so).
READER_NAME_NOTE = Message(
    gettext_noop(
        "staff, not patient data, yet left out of the de-identified export: the analyses need each "
        "reader's values (in both exports), not their names, which would name the clinic and its staff"
    )
)
# Each reader's words, whole sentences per reader (the first, the second).
READER_WORDS = {
    "first": {
        "name": gettext_noop("First reader of the %(film)s film, by name (%(note)s)"),
        "vhl": gettext_noop("First reader's own vertebral height loss, %(film)s film (one reading)"),
        "ka": gettext_noop("First reader's own kyphosis angle, %(film)s film (one reading)"),
        "height": gettext_noop("First reader's height %(height)s, pretreatment film (spec §2)"),
        "empty": gettext_noop("empty if not recorded per reader"),
    },
    "second": {
        "name": gettext_noop("Second reader of the %(film)s film, by name (%(note)s)"),
        "vhl": gettext_noop("Second reader's own vertebral height loss, %(film)s film (one reading)"),
        "ka": gettext_noop("Second reader's own kyphosis angle, %(film)s film (one reading)"),
        "height": gettext_noop("Second reader's height %(height)s, pretreatment film (spec §2)"),
        "empty": gettext_noop("empty without a second reader"),
    },
}


def _said(msgid: str, **params) -> Message:
    """Dictionary words (a gettext_noop message id and its values), translated when downloaded."""
    return Message(msgid, params)


def _listed(parts: list) -> Message | str:
    """Values as one list, "a, b, c" (each part translated when shown)."""
    if not parts:
        return ""
    listed = _said(parts[0])
    for part in parts[1:]:
        listed = _said(gettext_noop("%(first)s, %(then)s"), first=listed, then=_said(part))
    return listed


def _reader_rows(film: Message, prefix: str, suffix: str) -> list[tuple[str, str, str, str, bool]]:
    """The dictionary rows of a film's two readers: names (identified only), their own VHL and KA."""
    rows = []
    for ordinal in ("first", "second"):
        said = READER_WORDS[ordinal]
        empty = _said(said["empty"])
        rows += [
            (
                f"{prefix}{ordinal}_reader_name",
                _said(said["name"], film=film, note=READER_NAME_NOTE),
                "",
                _said(gettext_noop("text, %(empty)s"), empty=empty),
                True,
            ),
            (
                f"{prefix}{ordinal}_reader_vhl{suffix}_percent",
                _said(said["vhl"], film=film),
                "%",
                _said(gettext_noop("−50 to 100, to 0.1; %(empty)s"), empty=empty),
                False,
            ),
            (
                f"{prefix}{ordinal}_reader_ka{suffix}_deg",
                _said(said["ka"], film=film),
                "°",
                _said(gettext_noop("−45 to 90, to 0.1; %(empty)s"), empty=empty),
                False,
            ),
        ]
    return rows


# The six heights of a film (spec §2 a–f), as the dictionary describes them.
HEIGHT_MEANINGS = {
    "fractured_anterior": _said(gettext_noop("a, the fractured vertebra's anterior height")),
    "fractured_posterior": _said(gettext_noop("b, the fractured vertebra's posterior height")),
    "cranial_anterior": _said(gettext_noop("c, the vertebra above: anterior height")),
    "cranial_posterior": _said(gettext_noop("d, the vertebra above: posterior height")),
    "caudal_anterior": _said(gettext_noop("e, the vertebra below: anterior height")),
    "caudal_posterior": _said(gettext_noop("f, the vertebra below: posterior height")),
}
HEIGHTS_ALLOWED = {
    "first": _said(gettext_noop("over 0 to 100, to 0.01; empty when the VHL was typed")),
    "second": _said(gettext_noop("over 0 to 100, to 0.01; empty when the VHL was typed or without a second reader")),
}


def _height_rows() -> list[tuple[str, str, str, str, bool]]:
    """The dictionary rows of each reader's six heights of the pretreatment film."""
    return [
        (
            f"{ordinal}_reader_{name}_pre_mm",
            _said(READER_WORDS[ordinal]["height"], height=HEIGHT_MEANINGS[name]),
            "mm",
            HEIGHTS_ALLOWED[ordinal],
            False,
        )
        for ordinal in ("first", "second")
        for name in measurements.HEIGHT_FIELDS
    ]


SCORED_MEAN = _said(gettext_noop("one reader's value, or the mean of two readers kept as it is, not rounded (14.95)"))
SCORED_ALLOWED = _said(gettext_noop("to 0.1, or to 0.05 for a mean of two readers"))

NO_SUCH_VISIT = _said(gettext_noop("1 yes, 0 no; empty if there is no such visit"))
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas

# Units and values in words (the symbols, codes and formats stay as they are).
DATE = _said(gettext_noop("date"))
DAYS = _said(gettext_noop("days"))
POINTS = _said(gettext_noop("points"))
TEXT = _said(gettext_noop("text"))
YES_NO = _said(gettext_noop("1 yes, 0 no"))
PRETREATMENT = _said(gettext_noop("pretreatment"))
COMPONENT_WORDS = {
    "fracture_type": _said(gettext_noop("fracture type")),
    "vertebral_height_loss": _said(gettext_noop("vertebral height loss")),
    "kyphosis_angle": _said(gettext_noop("kyphosis angle")),
    "t2_signal": _said(gettext_noop("t2 signal")),
    "bmd": _said(gettext_noop("bmd")),
}
OUTCOME_WORDS = {
    "non_union": _said(gettext_noop("non-union")),
    "progressive_kyphosis": _said(gettext_noop("progressive kyphosis")),
}


def _range(low: int, high: int) -> Message:
    """Values from `low` to `high`, "empty if not recorded"."""
    return _said(gettext_noop("%(low)s to %(high)s, empty if not recorded"), low=low, high=high)


# (column, meaning, unit, allowed values, identified only)
DICTIONARY = [
    (
        "patient",
        _said(gettext_noop("Patient: the MRN (identified) or a stable keyed pseudonym P-… (de-identified)")),
        "",
        TEXT,
        False,
    ),
    ("name", _said(gettext_noop("Patient's name")), "", TEXT, True),
    ("date_of_birth", _said(gettext_noop("Date of birth")), DATE, "YYYY-MM-DD", True),
    ("sex", _said(gettext_noop("Sex")), "", "F, M", False),
    (
        "age_years",
        _said(gettext_noop("Age at the assessment, completed years (de-identified: 90+ for 90 and over)")),
        _said(gettext_noop("years")),
        _said(gettext_noop("0–130; de-identified 0–89 or 90+")),
        False,
    ),
    (
        "fracture_id",
        _said(gettext_noop("The fracture's number in this app (links back to the record)")),
        "",
        _said(gettext_noop("integer")),
        True,
    ),
    ("assessment_date", _said(gettext_noop("Pretreatment assessment (day 0)")), DATE, "YYYY-MM-DD", True),
    (
        "injury_date",
        _said(gettext_noop("Date of the injury")),
        DATE,
        _said(gettext_noop("YYYY-MM-DD, empty if unknown")),
        True,
    ),
    (
        "injury_day",
        _said(gettext_noop("Injury, in days from the assessment (negative: before)")),
        DAYS,
        _said(gettext_noop("integer, empty if unknown")),
        False,
    ),
    ("level", _said(gettext_noop("Fractured vertebra")), "", "T1–T12, L1–L5", False),
    ("low_energy_trauma", _said(gettext_noop("Low-energy trauma")), "", YES_NO, False),
    ("fracture_type", _said(gettext_noop("Fracture type")), "", "compression, burst", False),
    (
        "vhl_pre_percent",
        _said(gettext_noop("Vertebral height loss, pretreatment, as scored (spec §2): %(scored)s"), scored=SCORED_MEAN),
        "%",
        _said(gettext_noop("−50 to 100, %(precision)s"), precision=SCORED_ALLOWED),
        False,
    ),
    (
        "ka_pre_deg",
        _said(gettext_noop("Local kyphosis angle, pretreatment, as scored: %(scored)s"), scored=SCORED_MEAN),
        "°",
        _said(gettext_noop("−45 to 90, %(precision)s"), precision=SCORED_ALLOWED),
        False,
    ),
    *_reader_rows(PRETREATMENT, "", "_pre"),
    *_height_rows(),
    (
        "genant_grade",
        _said(gettext_noop("%(genant)s, from the first reader's six heights (spec §8)"), genant=GENANT_LABEL),
        "",
        _said(gettext_noop("0, 1, 2, 3; empty without the six heights")),
        False,
    ),
    (
        "genant_reduction_percent",
        _said(
            gettext_noop("%(genant)s: the larger of the anterior and posterior height reductions it grades"),
            genant=GENANT_LABEL,
        ),
        "%",
        _said(gettext_noop("to 0.1 (negative: taller than its neighbours); empty without the six heights")),
        False,
    ),
    (
        "of_class",
        _said(
            gettext_noop(
                "AO Spine-DGOU osteoporotic fracture class (Schnake et al. 2018, spec §8), recorded by the clinician"
            )
        ),
        "",
        _said(gettext_noop("OF1, OF2, OF3, OF4, OF5; empty if not recorded")),
        False,
    ),
    (
        "t2_signal",
        _said(gettext_noop("MRI T2 signal pattern")),
        "",
        "diffuse_low, confined_low, diffuse_high, confined_high",
        False,
    ),
    (
        "bmd_t_score",
        _said(gettext_noop("BMD T-score (DXA, L1–L4 without the fractured vertebra)")),
        "SD",
        "−7.0 to 4.0",
        False,
    ),
    ("vas_pre", _said(gettext_noop("VAS pain, pretreatment")), "0–10", _range(0, 10), False),
    ("odi_pre_percent", _said(gettext_noop("Oswestry Disability Index, pretreatment")), "%", _range(0, 100), False),
    ("height_cm", _said(gettext_noop("Height")), "cm", _range(100, 230), False),
    ("weight_kg", _said(gettext_noop("Weight")), "kg", _range(20, 250), False),
    *[
        (
            f"points_{name}",
            _said(gettext_noop("NASOVCF points for %(component)s"), component=COMPONENT_WORDS[name]),
            POINTS,
            "0, 2 (bmd: 0, 2, 4)",
            False,
        )
        for name in COMPONENTS
    ],
    ("nasovcf_total", _said(gettext_noop("NASOVCF total score")), POINTS, "0, 2, 4, 6, 8, 10, 12", False),
    ("nasovcf_group", _said(gettext_noop("Risk group")), "", "low (0), medium (2–4), high (6–12)", False),
    ("rules_version", _said(gettext_noop("Version of the scoring rules used")), "", "NASOVCF-2025", False),
    (
        "treatment",
        _said(gettext_noop("Treatment chosen at the assessment")),
        "",
        "conservative, vertebroplasty, kyphoplasty, open_surgery, other",
        False,
    ),
    (
        "treatment_start_date",
        _said(gettext_noop("Start of treatment")),
        DATE,
        _said(gettext_noop("YYYY-MM-DD; empty on import: the assessment date")),
        True,
    ),
    (
        "treatment_start_day",
        _said(gettext_noop("Start of treatment, in days from the assessment")),
        DAYS,
        _said(gettext_noop("integer ≥ 0")),
        False,
    ),
    (
        "treatment_changed_to",
        _said(gettext_noop("Treatment conservative care was abandoned for")),
        "",
        _said(gettext_noop("as treatment, empty if none")),
        False,
    ),
    (
        "treatment_changed_on",
        _said(gettext_noop("Date of that change")),
        DATE,
        _said(gettext_noop("YYYY-MM-DD, empty if none")),
        True,
    ),
    (
        "treatment_change_reason",
        _said(gettext_noop("Why conservative care was abandoned, as recorded")),
        "",
        _said(gettext_noop("text, empty if none")),
        True,
    ),
    (
        "treatment_change_day",
        _said(gettext_noop("That change, in days from the assessment")),
        DAYS,
        _said(gettext_noop("integer, empty if none")),
        False,
    ),
    *[
        (
            f"visit_{kind}_{item}",
            _said(gettext_noop("%(visit)s visit: %(meaning)s"), visit=_said(label), meaning=meaning),
            unit,
            allowed,
            identified_only,
        )
        for kind, label in VISITS
        for item, meaning, unit, allowed, identified_only in (
            (
                "date",
                DATE,
                DATE,
                _said(
                    gettext_noop(
                        "YYYY-MM-DD, empty if not recorded (the import reads a visit only when its date is filled)"
                    )
                ),
                True,
            ),
            (
                "day",
                _said(gettext_noop("days from the assessment")),
                DAYS,
                _said(gettext_noop("integer, empty if not recorded")),
                False,
            ),
            ("vas", _said(gettext_noop("VAS pain")), "0–10", _range(0, 10), False),
            ("odi_percent", _said(gettext_noop("ODI")), "%", _range(0, 100), False),
            (
                "ka_deg",
                _said(gettext_noop("kyphosis angle: %(scored)s"), scored=SCORED_MEAN),
                "°",
                _said(gettext_noop("−45 to 90, %(precision)s; empty if no film"), precision=SCORED_ALLOWED),
                False,
            ),
            (
                "vhl_percent",
                _said(gettext_noop("vertebral height loss: %(scored)s"), scored=SCORED_MEAN),
                "%",
                _said(gettext_noop("−50 to 100, %(precision)s; empty if no film"), precision=SCORED_ALLOWED),
                False,
            ),
            ("union", _said(gettext_noop("bone union")), "", "united, non_union, not_assessed, empty", False),
            *(
                (
                    evidence,
                    _said(
                        gettext_noop("non-union evidence: %(evidence)s"),
                        evidence=Message.of(Visit._meta.get_field(evidence).verbose_name),
                    ),
                    "",
                    NO_SUCH_VISIT,
                    False,
                )
                for evidence in EVIDENCE
            ),
        )
    ],
    *[row for kind, label in VISITS for row in _reader_rows(_said(label), f"visit_{kind}_", "")],
    (
        "unscheduled_visits",
        _said(gettext_noop("Number of unscheduled visits (not in the columns above)")),
        "",
        _said(gettext_noop("integer ≥ 0")),
        False,
    ),
    (
        "ka_difference_6m_deg",
        _said(gettext_noop("KA at 6 months − KA pretreatment (spec §3)")),
        "°",
        _said(gettext_noop("empty if no film at 6 months")),
        False,
    ),
    (
        "vhl_difference_6m_percent",
        _said(gettext_noop("VHL at 6 months − VHL pretreatment")),
        "%",
        _said(gettext_noop("empty if no film at 6 months")),
        False,
    ),
    (
        "progressive_kyphosis",
        _said(gettext_noop("KA difference at 6 months > 10°")),
        "",
        _said(gettext_noop("1 yes, 0 no, empty if not known")),
        False,
    ),
    (
        "non_union",
        _said(gettext_noop("Bone non-union at 6 months or later")),
        "",
        _said(gettext_noop("1 yes, 0 no, empty if not assessed")),
        False,
    ),
    (
        "included_in_cohort",
        _said(
            gettext_noop(
                "Counted in the cohort analyses: conservative care and at least one 6-month outcome known under it "
                "(seen before any treatment change); with the export's eligibility filter, also inside the paper's "
                "criteria (spec §4). Each outcome then has its own denominator: see the two columns at the end"
            )
        ),
        "",
        "1, 0",
        False,
    ),
    (
        "exclusion_reason",
        _said(gettext_noop("Why not counted (the first that applies, in this order)")),
        "",
        _said(
            gettext_noop("empty when included; %(reasons)s"),
            reasons=_listed([label for key, label in data.EXCLUSIONS if key != "archived"]),
        ),
        False,
    ),
    *[
        (
            f"{outcome}_in_analysis",
            _said(
                gettext_noop(
                    "Counted in the %(outcome)s analysis: included, and the outcome known for conservative care (an "
                    "outcome not assessed yet, or first seen on or after the treatment change, leaves that outcome's "
                    "analysis only)"
                ),
                outcome=OUTCOME_WORDS[outcome],
            ),
            "",
            "1, 0",
            False,
        )
        for outcome in ("non_union", "progressive_kyphosis")
    ],
]


def identified_columns() -> list[str]:
    """The identified export's columns, in its order (the dictionary's), without building it."""
    return [column for column, *_ in DICTIONARY]


def _visit_columns(*items: str) -> list[str]:
    return [f"visit_{kind}_{item}" for kind, _ in VISITS for item in items]


# What the import (cohort/importing.py) does with each column: the words the dictionary shows.
IMPORT_ROLE_WORDS = {
    "required": _said(gettext_noop("required")),
    "optional": _said(gettext_noop("optional")),
    "film": _said(
        gettext_noop("required unless the readers' own columns give it (then it is their mean, computed and compared)")
    ),
    "film_optional": _said(
        gettext_noop("optional; with the readers' own columns filled, it is their mean (computed and compared)")
    ),
    "checked": _said(
        gettext_noop(
            "computed by the app: not read; where filled, compared with the app's value "
            "(the preview lists every difference)"
        )
    ),
    "ignored": _said(gettext_noop("computed by the app: not read")),
}
WHERE_WORDS = {
    True: _said(gettext_noop("identified export only")),
    False: _said(gettext_noop("both exports")),
}
# Each column of the identified export under its one role (tests check: every column, once).
IMPORT_ROLE_COLUMNS = {
    "required": [
        "patient",
        "date_of_birth",
        "sex",
        "assessment_date",
        "level",
        "low_energy_trauma",
        "fracture_type",
        "t2_signal",
        "bmd_t_score",
        "treatment",
    ],
    "film": ["vhl_pre_percent", "ka_pre_deg"],
    "film_optional": _visit_columns("ka_deg", "vhl_percent"),
    "optional": [
        "name",
        "injury_date",
        # Every reader's name, own VHL and KA, and six heights, of every film.
        *(column for column in identified_columns() if "_reader_" in column),
        "of_class",
        "vas_pre",
        "odi_pre_percent",
        "height_cm",
        "weight_kg",
        "treatment_start_date",
        "treatment_changed_to",
        "treatment_changed_on",
        "treatment_change_reason",
        *_visit_columns("date", "vas", "odi_percent", "union", *EVIDENCE),
    ],
    "checked": [
        "age_years",
        "genant_grade",
        "genant_reduction_percent",
        *(f"points_{name}" for name in COMPONENTS),
        "nasovcf_total",
        "nasovcf_group",
        "unscheduled_visits",
        "ka_difference_6m_deg",
        "vhl_difference_6m_percent",
        "progressive_kyphosis",
        "non_union",
    ],
    "ignored": [
        "fracture_id",
        "injury_day",
        "rules_version",
        "treatment_start_day",
        "treatment_change_day",
        *_visit_columns("day"),
        "included_in_cohort",
        "exclusion_reason",
        *(f"{outcome}_in_analysis" for outcome in data.OUTCOMES),
    ],
}
IMPORT_ROLES = {column: role for role, columns in IMPORT_ROLE_COLUMNS.items() for column in columns}


def pseudonym_key() -> str:
    """NASOVCF_PSEUDONYM_KEY, else a key of its own kept in var/pseudonym_key (made once, mode 600):
    not the secret key, so rotating that does not change every pseudonym, and holding it does not
    reveal them."""
    from_env = os.environ.get("NASOVCF_PSEUDONYM_KEY")
    if from_env:
        return from_env
    path = settings.VAR_DIR / "pseudonym_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


def pseudonym(mrn: str, key: str | None = None) -> str:
    """A stable keyed pseudonym of an MRN (HMAC-SHA256): the same patient gets the same P-… in every
    export made with the same key, and it cannot be turned back into the MRN without the key."""
    key = key or pseudonym_key()
    return "P-" + hmac.new(key.encode(), mrn.strip().upper().encode(), hashlib.sha256).hexdigest()[:16]


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    delta = pd.to_datetime(later) - pd.to_datetime(earlier)
    return delta.dt.days.astype("Int64")


def _flag(series: pd.Series) -> pd.Series:
    return series.map({True: 1, False: 0}).astype("Int64")


def build(frame: pd.DataFrame, identified: bool, visits: pd.DataFrame | None = None) -> pd.DataFrame:
    """The export table from data.read(): archived records left out. The fractures' visits are
    read from the database unless given (`_visit_frame`)."""
    frame = frame[frame["archived_at"].isna() & frame["patient_archived_at"].isna()]
    visits = _visits(frame["id"].tolist()) if visits is None else visits
    out = pd.DataFrame(index=frame.index)
    key = None if identified else pseudonym_key()
    out["patient"] = frame["mrn"] if identified else frame["mrn"].map(lambda mrn: pseudonym(mrn, key))
    if identified:
        out["name"] = frame["name"]
        out["date_of_birth"] = frame["date_of_birth"]
    out["sex"] = frame["sex"]
    # De-identified: ages of 90 and over are one group (HIPAA Safe Harbor), few enough to identify.
    out["age_years"] = frame["age"] if identified else frame["age"].map(lambda age: "90+" if age >= 90 else age)
    if identified:
        out["fracture_id"] = frame["id"]
    if identified:
        out["assessment_date"] = frame["assessment_date"]
        out["injury_date"] = frame["injury_date"]
    out["injury_day"] = _days(frame["injury_date"], frame["assessment_date"])
    out["level"] = frame["level"]
    out["low_energy_trauma"] = _flag(frame["low_energy_trauma"])
    out["fracture_type"] = frame["fracture_type"]
    out["vhl_pre_percent"] = frame["vhl_pre"]
    out["ka_pre_deg"] = frame["ka_pre"]
    _add_readers(out, identified, "", "_pre", lambda part: frame[BASELINE_READERS[part]])
    for ordinal in ("first", "second"):
        for name in measurements.HEIGHT_FIELDS:
            out[f"{ordinal}_reader_{name}_pre_mm"] = frame[f"{ordinal}_{name}_mm"]
    out["genant_grade"] = frame["genant_grade"].astype("Int64")
    out["genant_reduction_percent"] = frame["genant_reduction"]
    out["of_class"] = frame["of_class"].replace("", pd.NA)
    out["t2_signal"] = frame["t2_signal"]
    out["bmd_t_score"] = frame["bmd_t_score"]
    out["vas_pre"] = frame["vas_pre"]
    out["odi_pre_percent"] = frame["odi_pre"]
    out["height_cm"] = frame["height_cm"]
    out["weight_kg"] = frame["weight_kg"]
    for name in COMPONENTS:
        out[f"points_{name}"] = frame["score_components"].map(lambda c, n=name: (c or {}).get(n, {}).get("points"))
    out["nasovcf_total"] = frame["score"]
    out["nasovcf_group"] = frame["group"]
    out["rules_version"] = frame["rules_version"]
    out["treatment"] = frame["treatment"]
    if identified:
        out["treatment_start_date"] = frame["treatment_start_date"]
    out["treatment_start_day"] = _days(frame["treatment_start_date"], frame["assessment_date"])
    out["treatment_changed_to"] = frame["treatment_changed_to"]
    if identified:
        out["treatment_changed_on"] = frame["treatment_changed_on"]
        out["treatment_change_reason"] = frame["treatment_change_reason"].replace("", pd.NA)
    out["treatment_change_day"] = _days(frame["treatment_changed_on"], frame["assessment_date"])
    scheduled = {kind: _visit_column(frame, visits, kind) for kind in SCHEDULED_KINDS}
    for kind, column in scheduled.items():
        if identified:
            out[f"visit_{kind}_date"] = column("visit_date")
        out[f"visit_{kind}_day"] = _days(column("visit_date"), frame["assessment_date"])
        out[f"visit_{kind}_vas"] = pd.to_numeric(column("vas_pain"), errors="coerce")
        out[f"visit_{kind}_odi_percent"] = pd.to_numeric(column("odi_percent"), errors="coerce")
        out[f"visit_{kind}_ka_deg"] = pd.to_numeric(column("kyphosis_angle_deg"), errors="coerce")
        out[f"visit_{kind}_vhl_percent"] = pd.to_numeric(column("vhl_percent"), errors="coerce")
        out[f"visit_{kind}_union"] = column("bone_union").replace("", pd.NA)
        for evidence in EVIDENCE:  # 1 or 0 where the visit was recorded
            out[f"visit_{kind}_{evidence}"] = _flag(column(evidence))
    for kind, film in scheduled.items():  # each follow-up film's readers, after all the visits' columns
        _add_readers(out, identified, f"visit_{kind}_", "", lambda part, film=film: film(READER_FIELDS[part]))
    unscheduled = (
        visits[visits["kind"] == "unscheduled"].groupby("fracture_id").size()
        if not visits.empty
        else pd.Series(dtype=int)
    )
    out["unscheduled_visits"] = frame["id"].map(unscheduled).fillna(0).astype(int)
    out["ka_difference_6m_deg"] = frame["ka_diff"]
    out["vhl_difference_6m_percent"] = frame["vhl_diff"]
    out["progressive_kyphosis"] = _flag(frame["progressive_kyphosis"])
    out["non_union"] = _flag(frame["non_union"])
    out["included_in_cohort"] = (frame["exclusion"] == "").astype(int)
    labels = dict(data.EXCLUSIONS)
    out["exclusion_reason"] = frame["exclusion"].map(lambda reason: labels.get(reason, ""))
    for outcome in data.OUTCOMES:
        out[f"{outcome}_in_analysis"] = ((frame["exclusion"] == "") & (frame[f"{outcome}_missing"] == "")).astype(int)
    if not identified:
        out = out.sort_values(["patient", "injury_day"], kind="stable")  # no order that follows the dates
    return _defuse_formulas(out.reset_index(drop=True))


def _visit_column(frame: pd.DataFrame, visits: pd.DataFrame, kind: str):
    """A function giving a field of each fracture's scheduled visit of this kind, in the frame's
    rows (empty where the fracture has none)."""
    scheduled = visits[visits["kind"] == kind].set_index("fracture_id") if not visits.empty else pd.DataFrame()

    def column(field: str) -> pd.Series:
        if scheduled.empty:
            return pd.Series(pd.NA, index=frame.index)
        return frame["id"].map(scheduled[field])

    return column


def _add_readers(out: pd.DataFrame, identified: bool, prefix: str, suffix: str, value) -> None:
    """A film's two readers as columns (named as in the dictionary, _reader_rows): names in the
    identified export only; each reader's own VHL and KA as recorded, to 0.1. `value(part)` gives
    the column of a READER_FIELDS part."""
    for ordinal in ("first", "second"):
        if identified:
            out[f"{prefix}{ordinal}_reader_name"] = value(f"{ordinal}_reader_name").replace("", pd.NA)
        for measure, unit in (("vhl", "percent"), ("ka", "deg")):
            readings = value(f"{ordinal}_reader_{measure}")
            out[f"{prefix}{ordinal}_reader_{measure}{suffix}_{unit}"] = pd.to_numeric(readings, errors="coerce")


VISIT_FRAME_FIELDS = ["fracture_id", "kind", *VISIT_FIELDS.values(), *READER_FIELDS.values()]


def _visits(fracture_ids: list[int]) -> pd.DataFrame:
    """The scheduled visits (one per kind) and unscheduled ones of these fractures, in one query."""
    rows = Visit.objects.filter(fracture_id__in=fracture_ids).order_by("visit_date").values_list(*VISIT_FRAME_FIELDS)
    return pd.DataFrame.from_records(list(rows), columns=VISIT_FRAME_FIELDS)


def _defuse_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    for column in table.columns:
        if table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            table[column] = table[column].map(
                lambda value: "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value
            )
    return table


def dictionary(identified: bool = True) -> pd.DataFrame:
    """What each column means, in the active language (the request's: the column names, codes
    and formats stay as they are). The identified dictionary also says what the import does with
    each column: the import takes the identified export back, never the de-identified one (it
    has no MRN nor dates)."""
    rows = [
        {
            "column": column,
            "meaning": words(meaning),
            "unit": words(unit),
            "allowed values": words(allowed),
            "in": words(WHERE_WORDS[identified_only]),
            **({"on import": words(IMPORT_ROLE_WORDS[IMPORT_ROLES[column]])} if identified else {}),
        }
        for column, meaning, unit, allowed, identified_only in DICTIONARY
        if identified or not identified_only
    ]
    return pd.DataFrame(rows)


# -- the import template -----------------------------------------------------------------------------

EXAMPLE_READER = "Dr Example"
# Spec §6's two worked cases as a clinician would enter them, treated conservatively from the
# assessment and seen at 6 months: the import template's example rows. Only what is typed is
# here; every computed column comes from the app's own code (template_table).
EXAMPLE_CASES = (
    {
        "patient": {
            "mrn": "EXAMPLE-1",
            "name": "Example Patient One",
            "sex": "F",
            "date_of_birth": datetime.date(1945, 6, 20),  # 79 at the assessment
        },
        "fracture": {
            "assessment_date": datetime.date(2025, 1, 15),
            "injury_date": datetime.date(2025, 1, 12),
            "level": "L2",
            "low_energy_trauma": True,  # a fall
            "fracture_type": "compression",
            "vhl_percent": Decimal("0.5"),
            "kyphosis_angle_deg": Decimal("4.6"),
            "t2_signal": "diffuse_high",
            "bmd_t_score": Decimal("-1.5"),
            "vas_pain": Decimal("6.0"),
            "odi_percent": Decimal("40.0"),
            "height_cm": Decimal("158.0"),
            "weight_kg": Decimal("55.0"),
        },
        "six_months": {
            "vas_pain": Decimal("1.0"),
            "odi_percent": Decimal("8.0"),
            "vhl_percent": Decimal("5.3"),
            "kyphosis_angle_deg": Decimal("6.3"),
            "bone_union": "united",
        },
    },
    {
        "patient": {
            "mrn": "EXAMPLE-2",
            "name": "Example Patient Two",
            "sex": "F",
            "date_of_birth": datetime.date(1953, 6, 1),  # 71 at the assessment
        },
        "fracture": {
            "assessment_date": datetime.date(2025, 3, 10),
            "injury_date": datetime.date(2025, 3, 2),
            "level": "T11",
            "low_energy_trauma": True,
            "fracture_type": "compression",
            "vhl_percent": Decimal("17.8"),
            "kyphosis_angle_deg": Decimal("19.6"),
            "t2_signal": "diffuse_low",
            "bmd_t_score": Decimal("-3.6"),
            "vas_pain": Decimal("8.0"),
            "odi_percent": Decimal("62.0"),
            "height_cm": Decimal("152.0"),
            "weight_kg": Decimal("50.0"),
        },
        "six_months": {
            "vas_pain": Decimal("5.0"),
            "odi_percent": Decimal("44.0"),
            "vhl_percent": Decimal("38.1"),
            "kyphosis_angle_deg": Decimal("26.0"),
            "bone_union": "non_union",
            "vacuum_cleft_mri": True,  # the evidence the visit form asks for with a non-union
        },
    },
)


def example_records() -> tuple[list[Fracture], list[Visit]]:
    """The worked cases as the assessment and visit forms would save them, scored and followed
    by the models' own methods, in memory: the template touches no database."""
    fractures, visits = [], []
    for number, case in enumerate(EXAMPLE_CASES, start=1):
        values = case["fracture"]
        fracture = Fracture(
            pk=number,  # links the visit in the frames; the template leaves fracture_id empty
            patient=Patient(**case["patient"]),
            treatment=Treatment.CONSERVATIVE,
            treatment_start_date=values["assessment_date"],
            first_reader_name=EXAMPLE_READER,
            **values,
        )
        _one_reader(fracture)
        fracture.apply_genant()
        fracture.rescore()
        start = fracture.treatment_start_date
        visit = Visit(
            fracture=fracture,
            kind="6m",
            visit_date=visit_by_kind("6m").due(start),  # inside the 6-month visit's window
            first_reader_name=EXAMPLE_READER,
            **case["six_months"],
        )
        _one_reader(visit)
        fracture.refresh_outcomes([visit])
        fractures.append(fracture)
        visits.append(visit)
    return fractures, visits


def _one_reader(record: Fracture | Visit) -> None:
    """A film one reader measured with a typed VHL, kept as TwoReaderFields.apply_readers keeps it."""
    record.vhl_entered_percent = record.first_vhl_percent = record.vhl_percent
    record.first_kyphosis_angle_deg = record.kyphosis_angle_deg


def _field(record, lookup: str):
    """A data.COLUMNS lookup ("patient__mrn", "score_components__bmd__points") on a record in memory."""
    value = record
    for part in lookup.split("__"):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part)
        if value is None:
            return None
    return value


def _record_frame(fractures: list[Fracture]) -> pd.DataFrame:
    """The frame data.read() reads from the database, from fractures in memory."""
    rows = [[_field(fracture, lookup) for lookup in data.COLUMNS.values()] for fracture in fractures]
    frame = pd.DataFrame.from_records(rows, columns=list(data.COLUMNS))
    for column in data.NUMERIC:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame[data.OTHER_FRACTURES] = False  # the worked cases are two patients' one fracture each
    return data.classify(frame)


def _visit_frame(visits: list[Visit]) -> pd.DataFrame:
    """The frame _visits() reads from the database, from visits in memory."""
    rows = [[getattr(visit, field) for field in VISIT_FRAME_FIELDS] for visit in visits]
    return pd.DataFrame.from_records(rows, columns=VISIT_FRAME_FIELDS)


def template_table() -> pd.DataFrame:
    """The import template: the identified export's columns, with the two worked cases as the
    export would give them had they been saved through the forms."""
    fractures, visits = example_records()
    table = build(_record_frame(fractures), identified=True, visits=_visit_frame(visits))
    table["fracture_id"] = pd.NA  # in no database: no record to link back to
    return table


def template_csv() -> bytes:
    return to_csv(template_table())


def template_xlsx() -> bytes:
    """The template and the identified dictionary, with what the import does with each column."""
    return to_xlsx(template_table(), identified=True)


def to_csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode("utf-8-sig")  # the BOM lets Excel read the UTF-8


def to_xlsx(table: pd.DataFrame, identified: bool) -> bytes:
    """Two sheets, fractures and dictionary, written row by row (openpyxl's write-only mode: a
    fraction of the time and memory of a full workbook). Each is a table: its header row stays
    in view as one scrolls (frozen) and carries a filter over every column."""
    import tempfile

    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    for title, sheet_table in (("fractures", table), ("dictionary", dictionary(identified))):
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"  # set before the first row is written (write-only mode)
        sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(sheet_table.columns), 1))}{len(sheet_table) + 1}"
        sheet.append(list(sheet_table.columns))
        for row in sheet_table.itertuples(index=False, name=None):
            sheet.append([_cell(value) for value in row])
    with tempfile.TemporaryFile() as handle:
        book.save(handle)
        handle.seek(0)
        return handle.read()


def _cell(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
