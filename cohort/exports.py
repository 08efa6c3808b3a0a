"""Exports for research: one row per fracture, identified (for the clinic) or de-identified (for a
statistician), as CSV or XLSX, with a data dictionary."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

import pandas as pd
from django.conf import settings

from scoring.models import SCHEDULED_KINDS, Visit

from . import data

COMPONENTS = ["fracture_type", "vertebral_height_loss", "kyphosis_angle", "t2_signal", "bmd"]
VISIT_FIELDS = {
    "date": "visit_date",
    "vas": "vas_pain",
    "odi": "odi_percent",
    "ka": "kyphosis_angle_deg",
    "vhl": "vhl_percent",
    "union": "bone_union",
}
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
READER_FILM = "6m"  # the follow-up film whose readers are exported: the 6-month outcome's
GENANT_LABEL = "Genant grade (height-based approximation)"
# Why reader names are in the identified export only (the data dictionary says so).
READER_NAME_NOTE = (
    "staff, not patient data, yet left out of the de-identified export: the analyses need each "
    "reader's values (in both exports), not their names, which would name the clinic and its staff"
)


def _reader_rows(film: str, prefix: str, suffix: str) -> list[tuple[str, str, str, str, bool]]:
    """The dictionary rows of a film's two readers: names (identified only), their own VHL and KA."""
    rows = []
    for ordinal, empty in (("first", "empty if not recorded per reader"), ("second", "empty without a second reader")):
        rows += [
            (
                f"{prefix}{ordinal}_reader_name",
                f"{ordinal.capitalize()} reader of the {film} film, by name ({READER_NAME_NOTE})",
                "",
                f"text, {empty}",
                True,
            ),
            (
                f"{prefix}{ordinal}_reader_vhl{suffix}_percent",
                f"{ordinal.capitalize()} reader's own vertebral height loss, {film} film (one reading)",
                "%",
                f"−50 to 100, to 0.1; {empty}",
                False,
            ),
            (
                f"{prefix}{ordinal}_reader_ka{suffix}_deg",
                f"{ordinal.capitalize()} reader's own kyphosis angle, {film} film (one reading)",
                "°",
                f"−45 to 90, to 0.1; {empty}",
                False,
            ),
        ]
    return rows


SCORED_MEAN = "one reader's value, or the mean of two readers kept as it is, not rounded (14.95)"
SCORED_ALLOWED = "to 0.1, or to 0.05 for a mean of two readers"

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas

# (column, meaning, unit, allowed values, identified only)
DICTIONARY = [
    ("patient", "Patient: the MRN (identified) or a stable keyed pseudonym P-… (de-identified)", "", "text", False),
    ("name", "Patient's name", "", "text", True),
    ("date_of_birth", "Date of birth", "date", "YYYY-MM-DD", True),
    ("sex", "Sex", "", "F, M", False),
    (
        "age_years",
        "Age at the assessment, completed years (de-identified: 90+ for 90 and over)",
        "years",
        "0–130; de-identified 0–89 or 90+",
        False,
    ),
    ("fracture_id", "The fracture's number in this app (links back to the record)", "", "integer", True),
    ("assessment_date", "Pretreatment assessment (day 0)", "date", "YYYY-MM-DD", True),
    ("injury_date", "Date of the injury", "date", "YYYY-MM-DD, empty if unknown", True),
    (
        "injury_day",
        "Injury, in days from the assessment (negative: before)",
        "days",
        "integer, empty if unknown",
        False,
    ),
    ("level", "Fractured vertebra", "", "T1–T12, L1–L5", False),
    ("low_energy_trauma", "Low-energy trauma", "", "1 yes, 0 no", False),
    ("fracture_type", "Fracture type", "", "compression, burst", False),
    (
        "vhl_pre_percent",
        f"Vertebral height loss, pretreatment, as scored (spec §2): {SCORED_MEAN}",
        "%",
        f"−50 to 100, {SCORED_ALLOWED}",
        False,
    ),
    (
        "ka_pre_deg",
        f"Local kyphosis angle, pretreatment, as scored: {SCORED_MEAN}",
        "°",
        f"−45 to 90, {SCORED_ALLOWED}",
        False,
    ),
    *_reader_rows("pretreatment", "", "_pre"),
    (
        "genant_grade",
        f"{GENANT_LABEL}, from the first reader's six heights (spec §8)",
        "",
        "0, 1, 2, 3; empty without the six heights",
        False,
    ),
    (
        "genant_reduction_percent",
        f"{GENANT_LABEL}: the larger of the anterior and posterior height reductions it grades",
        "%",
        "to 0.1 (negative: taller than its neighbours); empty without the six heights",
        False,
    ),
    (
        "of_class",
        "AO Spine-DGOU osteoporotic fracture class (Schnake et al. 2018, spec §8), recorded by the clinician",
        "",
        "OF1, OF2, OF3, OF4, OF5; empty if not recorded",
        False,
    ),
    ("t2_signal", "MRI T2 signal pattern", "", "diffuse_low, confined_low, diffuse_high, confined_high", False),
    ("bmd_t_score", "BMD T-score (DXA, L1–L4 without the fractured vertebra)", "SD", "−7.0 to 4.0", False),
    ("vas_pre", "VAS pain, pretreatment", "0–10", "0 to 10, empty if not recorded", False),
    ("odi_pre_percent", "Oswestry Disability Index, pretreatment", "%", "0 to 100, empty if not recorded", False),
    ("height_cm", "Height", "cm", "100 to 230, empty if not recorded", False),
    ("weight_kg", "Weight", "kg", "20 to 250, empty if not recorded", False),
    *[
        (f"points_{name}", f"NASOVCF points for {name.replace('_', ' ')}", "points", "0, 2 (bmd: 0, 2, 4)", False)
        for name in COMPONENTS
    ],
    ("nasovcf_total", "NASOVCF total score", "points", "0, 2, 4, 6, 8, 10, 12", False),
    ("nasovcf_group", "Risk group", "", "low (0), medium (2–4), high (6–12)", False),
    ("rules_version", "Version of the scoring rules used", "", "NASOVCF-2025", False),
    (
        "treatment",
        "Treatment chosen at the assessment",
        "",
        "conservative, vertebroplasty, kyphoplasty, open_surgery, other",
        False,
    ),
    ("treatment_start_date", "Start of treatment", "date", "YYYY-MM-DD", True),
    ("treatment_start_day", "Start of treatment, in days from the assessment", "days", "integer ≥ 0", False),
    ("treatment_changed_to", "Treatment conservative care was abandoned for", "", "as treatment, empty if none", False),
    ("treatment_changed_on", "Date of that change", "date", "YYYY-MM-DD, empty if none", True),
    ("treatment_change_day", "That change, in days from the assessment", "days", "integer, empty if none", False),
    *[
        (f"visit_{kind}_{item}", f"{label} visit: {meaning}", unit, allowed, identified_only)
        for kind, label in (("1m", "1-month"), ("3m", "3-month"), ("6m", "6-month"))
        for item, meaning, unit, allowed, identified_only in (
            ("date", "date", "date", "YYYY-MM-DD, empty if not recorded", True),
            ("day", "days from the assessment", "days", "integer, empty if not recorded", False),
            ("vas", "VAS pain", "0–10", "0 to 10, empty if not recorded", False),
            ("odi_percent", "ODI", "%", "0 to 100, empty if not recorded", False),
            ("ka_deg", f"kyphosis angle: {SCORED_MEAN}", "°", f"−45 to 90, {SCORED_ALLOWED}; empty if no film", False),
            (
                "vhl_percent",
                f"vertebral height loss: {SCORED_MEAN}",
                "%",
                f"−50 to 100, {SCORED_ALLOWED}; empty if no film",
                False,
            ),
            ("union", "bone union", "", "united, non_union, not_assessed, empty", False),
        )
    ],
    *_reader_rows("6-month", f"visit_{READER_FILM}_", ""),
    ("unscheduled_visits", "Number of unscheduled visits (not in the columns above)", "", "integer ≥ 0", False),
    ("ka_difference_6m_deg", "KA at 6 months − KA pretreatment (spec §3)", "°", "empty if no film at 6 months", False),
    ("vhl_difference_6m_percent", "VHL at 6 months − VHL pretreatment", "%", "empty if no film at 6 months", False),
    ("progressive_kyphosis", "KA difference at 6 months > 10°", "", "1 yes, 0 no, empty if not known", False),
    ("non_union", "Bone non-union at 6 months or later", "", "1 yes, 0 no, empty if not assessed", False),
    (
        "included_in_cohort",
        "Counted in the cohort analyses (conservative care, complete 6-month outcome)",
        "",
        "1, 0",
        False,
    ),
    (
        "exclusion_reason",
        "Why not counted (the first that applies, in this order)",
        "",
        "empty when included; " + ", ".join(label for key, label in data.EXCLUSIONS if key != "archived"),
        False,
    ),
]


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


def build(frame: pd.DataFrame, identified: bool) -> pd.DataFrame:
    """The export table from data.read(): archived records left out."""
    frame = frame[frame["archived_at"].isna() & frame["patient_archived_at"].isna()]
    visits = _visits(frame["id"].tolist())
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
    out["treatment_change_day"] = _days(frame["treatment_changed_on"], frame["assessment_date"])
    for kind in SCHEDULED_KINDS:
        column = _visit_column(frame, visits, kind)
        if identified:
            out[f"visit_{kind}_date"] = column("visit_date")
        out[f"visit_{kind}_day"] = _days(column("visit_date"), frame["assessment_date"])
        out[f"visit_{kind}_vas"] = pd.to_numeric(column("vas_pain"), errors="coerce")
        out[f"visit_{kind}_odi_percent"] = pd.to_numeric(column("odi_percent"), errors="coerce")
        out[f"visit_{kind}_ka_deg"] = pd.to_numeric(column("kyphosis_angle_deg"), errors="coerce")
        out[f"visit_{kind}_vhl_percent"] = pd.to_numeric(column("vhl_percent"), errors="coerce")
        out[f"visit_{kind}_union"] = column("bone_union").replace("", pd.NA)
    film = _visit_column(frame, visits, READER_FILM)
    _add_readers(out, identified, f"visit_{READER_FILM}_", "", lambda part: film(READER_FIELDS[part]))
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


def _visits(fracture_ids: list[int]) -> pd.DataFrame:
    """The scheduled visits (one per kind) and unscheduled ones of these fractures, in one query."""
    fields = ["fracture_id", "kind", *VISIT_FIELDS.values(), *READER_FIELDS.values()]
    rows = Visit.objects.filter(fracture_id__in=fracture_ids).order_by("visit_date").values_list(*fields)
    return pd.DataFrame.from_records(list(rows), columns=fields)


def _defuse_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    for column in table.columns:
        if table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            table[column] = table[column].map(
                lambda value: "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value
            )
    return table


def dictionary(identified: bool = True) -> pd.DataFrame:
    rows = [
        {
            "column": column,
            "meaning": meaning,
            "unit": unit,
            "allowed values": allowed,
            "in": "identified export only" if identified_only else "both exports",
        }
        for column, meaning, unit, allowed, identified_only in DICTIONARY
        if identified or not identified_only
    ]
    return pd.DataFrame(rows)


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
