"""The clinic's cohort, read from the database as a pandas DataFrame: one row per fracture.

Which fractures the analyses count and why the others are not counted (spec §5: conservative care
with a 6-month outcome; spec §4: the paper's eligibility criteria, when the filter asks), each
outcome's own denominator, one fracture per patient, and the data's version that keys the page's
cache. The frame the statistics receive is `analysed(frame)` (its columns: the analysed-frame
contract of issue 14, in `analysed`'s docstring).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Exists, FloatField, IntegerField, Max, OuterRef
from django.db.models.functions import Cast

from scoring import measurements, rules
from scoring.models import SCHEDULED_KINDS, Fracture, Patient, Treatment, Visit
from scoring.wording import Text, gettext_noop

COLUMNS = {
    "id": "id",
    "patient_id": "patient_id",
    "mrn": "patient__mrn",
    "name": "patient__name",
    "sex": "patient__sex",
    "date_of_birth": "patient__date_of_birth",
    "patient_archived_at": "patient__archived_at",
    "archived_at": "archived_at",
    "assessment_date": "assessment_date",
    "injury_date": "injury_date",
    "level": "level",
    "low_energy_trauma": "low_energy_trauma",
    "age": "age_at_assessment",
    "fracture_type": "fracture_type",
    "vhl_pre": "vhl_percent",
    "ka_pre": "kyphosis_angle_deg",
    "t2_signal": "t2_signal",
    "bmd_t_score": "bmd_t_score",
    "vas_pre": "vas_pain",
    "odi_pre": "odi_percent",
    "height_cm": "height_cm",
    "weight_kg": "weight_kg",
    "score": "total_score",
    "group": "risk_group",
    "score_components": "score_components",
    "rules_version": "rules_version",
    "treatment": "treatment",
    "treatment_start_date": "treatment_start_date",
    "treatment_changed_to": "treatment_changed_to",
    "treatment_changed_on": "treatment_changed_on",
    "treatment_change_reason": "treatment_change_reason",
    "progressive_kyphosis": "progressive_kyphosis",
    "progressive_kyphosis_on": "progressive_kyphosis_on",
    "non_union": "non_union",
    "non_union_on": "non_union_on",
    "ka_diff": "kyphosis_difference_six_months_deg",
    "vhl_diff": "vhl_difference_six_months_percent",
    "first_vhl": "first_vhl_percent",
    "second_vhl": "second_vhl_percent",
    "first_ka": "first_kyphosis_angle_deg",
    "second_ka": "second_kyphosis_angle_deg",
    "genant_grade": "genant_grade",
    "genant_reduction": "genant_reduction_percent",
    "of_class": "of_class",
    "first_reader": "first_reader_name",
    "second_reader": "second_reader_name",
    # Each reader's six heights of the pretreatment film (spec §2 a–f), empty where the VHL was typed.
    **{f"first_{name}_mm": f"{name}_mm" for name in measurements.HEIGHT_FIELDS},
    **{f"second_{name}_mm": f"second_{name}_mm" for name in measurements.HEIGHT_FIELDS},
    # The points the saved score gave the film's VHL and angle (the readers' mean where two read):
    # a reader's own group is the saved total with these two items scored on that reader's values.
    "vhl_points": "score_components__vertebral_height_loss__points",
    "ka_points": "score_components__kyphosis_angle__points",
    # The other items' points, for the univariable odds ratio of each item (the paper's Table 1).
    "type_points": "score_components__fracture_type__points",
    "t2_points": "score_components__t2_signal__points",
    "bmd_points": "score_components__bmd__points",
}
NUMERIC = [
    "vhl_pre",
    "ka_pre",
    "bmd_t_score",
    "vas_pre",
    "odi_pre",
    "height_cm",
    "weight_kg",
    "ka_diff",
    "vhl_diff",
    "first_vhl",
    "second_vhl",
    "first_ka",
    "second_ka",
    "genant_reduction",
    *(f"{reader}_{name}_mm" for reader in ("first", "second") for name in measurements.HEIGHT_FIELDS),
]
# The scheduled visits' pain and disability (spec §3), one column per visit: vas_1m ... odi_6m.
VISIT_MEASURES = {"vas": "vas_pain", "odi": "odi_percent"}
VISIT_COLUMNS = {
    f"{measure}_{kind.value}": (kind.value, field)
    for measure, field in VISIT_MEASURES.items()
    for kind in SCHEDULED_KINDS
}
POINTS = ["type_points", "vhl_points", "ka_points", "t2_points", "bmd_points"]  # each item's, as saved
# What the cohort page needs: fewer columns, the decimals read as floats by the database, so a
# page over 20,000 fractures does not build 100,000 Decimal objects it would turn into floats.
ANALYSIS_COLUMNS = [
    "id",
    "patient_id",
    "assessment_date",
    "sex",
    "age",
    "level",
    "low_energy_trauma",
    "patient_archived_at",
    "archived_at",
    "score",
    "group",
    "treatment",
    "treatment_changed_to",
    "treatment_changed_on",
    "progressive_kyphosis",
    "progressive_kyphosis_on",
    "non_union",
    "non_union_on",
    "vas_pre",
    "odi_pre",
    "height_cm",
    "weight_kg",
    "vhl_pre",
    "ka_pre",
    "ka_diff",
    "vhl_diff",
    "fracture_type",
    "t2_signal",
    "bmd_t_score",
    "first_vhl",
    "second_vhl",
    "first_ka",
    "second_ka",
    "genant_grade",
    "of_class",
    "type_points",
    "vhl_points",
    "ka_points",
    "t2_points",
    "bmd_points",
    *VISIT_COLUMNS,
]
# What `classify` reads: read() adds them to any columns asked for.
NEEDED = [
    "id",
    "patient_id",
    "sex",
    "age",
    "level",
    "low_energy_trauma",
    "bmd_t_score",
    "archived_at",
    "patient_archived_at",
    "treatment",
    "treatment_changed_to",
    "treatment_changed_on",
    "non_union",
    "non_union_on",
    "progressive_kyphosis",
    "progressive_kyphosis_on",
]
# Whether the fracture's patient has another fracture not archived (a database annotation).
OTHER_FRACTURES = "has_other_fractures"

OUTCOMES = ("non_union", "progressive_kyphosis")  # analysis.OUTCOMES' keys

# Why a fracture is not counted: the first that applies, in this order.
# The labels are English msgids (gettext_noop): the export writes them as they are (a data
# contract), the pages translate them (nasovcf_site.i18n.words).
EXCLUSIONS = [
    ("archived", gettext_noop("archived")),
    ("not_conservative", gettext_noop("not conservative care")),
    ("changed", gettext_noop("treatment changed")),
    ("no_outcome", gettext_noop("no 6-month outcome yet")),
    ("ineligible", gettext_noop("outside the paper's eligibility criteria")),
]
# Why one outcome of a counted fracture is not known: it leaves that outcome's analysis only.
MISSING = [
    ("not_assessed", gettext_noop("not assessed yet")),
    ("changed", gettext_noop("treatment changed before it")),
]


# The paper's inclusion criteria (spec §4) the eligibility filter checks, with the pure core's
# thresholds. A fracture can fail several.
class Criterion(Text):
    """A criterion's words with the pure core's thresholds: a scoring.wording.Text (the pages
    translate it), equal to its English (what the code and its tests compare)."""

    def __eq__(self, other: object) -> bool:
        return str(self) == other if isinstance(other, str) else super().__eq__(other)

    def __hash__(self) -> int:
        return hash(str(self))


ELIGIBILITY = [
    ("age", Criterion(gettext_noop("age ≥ %(age)s"), {"age": rules.MINIMUM_VALIDATED_AGE_YEARS})),
    (
        "level",
        Criterion(
            gettext_noop("level %(first)s–%(last)s"),
            {"first": rules.VALIDATED_LEVELS[0], "last": rules.VALIDATED_LEVELS[-1]},
        ),
    ),
    ("low_energy", gettext_noop("low-energy trauma")),
    (
        "bmd",
        Criterion(
            gettext_noop("BMD T-score ≤ %(t_score)s"), {"t_score": rules.format_signed(rules.T_SCORE_OSTEOPENIA_UPPER)}
        ),
    ),
    ("single_level", gettext_noop("a single-level fracture (no other fracture of the patient recorded)")),
]
# The other two inclusion criteria are the counting rule itself: every counted fracture meets them.
COUNTED_CRITERIA = (
    gettext_noop("conservative treatment"),
    gettext_noop("follow-up to 6 months (a 6-month outcome known)"),
)
# The exclusion criteria (spec §4) the app does not record: to be checked by hand.
NOT_RECORDED_CRITERIA = (
    gettext_noop("secondary osteoporosis (endocrine disease, corticosteroid use)"),
    gettext_noop("spinal infection"),
    gettext_noop("pathological fracture (primary or metastatic tumour)"),
    gettext_noop("severe cardiopulmonary dysfunction"),
    gettext_noop("life expectancy under 1 year"),
)


@dataclass(frozen=True)
class CohortFilter:
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    level: str = ""
    sex: str = ""
    eligible: bool = False  # only the paper's eligible population (spec §4)

    def as_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if value}


def _selected(cohort_filter: CohortFilter):
    fractures = Fracture.objects.all()
    if cohort_filter.date_from:
        fractures = fractures.filter(assessment_date__gte=cohort_filter.date_from)
    if cohort_filter.date_to:
        fractures = fractures.filter(assessment_date__lte=cohort_filter.date_to)
    if cohort_filter.level:
        fractures = fractures.filter(level=cohort_filter.level)
    if cohort_filter.sex:
        fractures = fractures.filter(patient__sex=cohort_filter.sex)
    return fractures


def read(cohort_filter: CohortFilter, columns: list[str] | None = None) -> pd.DataFrame:
    """Every fracture the filter's dates, level and sex select, one row each (all columns, or
    `columns` and what `classify` needs), classified: one query for the fractures, one for their
    scheduled visits' VAS and ODI. The eligibility filter selects no rows: it gives the fractures
    outside the paper's criteria their reason (so the page can count them by criterion)."""
    fractures = _selected(cohort_filter)
    asked = list(COLUMNS) + list(VISIT_COLUMNS) if columns is None else list(columns)
    names = [name for name in dict.fromkeys([*asked, *NEEDED]) if name in COLUMNS]
    # Annotations are prefixed so they cannot clash with a model field of the same name. The points
    # are cast by the database too: otherwise each is a JSON document Python decodes, 100,000 of them.
    as_float = {f"float_{name}": Cast(COLUMNS[name], FloatField()) for name in names if name in NUMERIC and columns}
    as_int = {f"int_{name}": Cast(COLUMNS[name], IntegerField()) for name in names if name in POINTS and columns}
    cast = {**as_float, **as_int}
    fields = [next((key for key in (f"float_{name}", f"int_{name}") if key in cast), COLUMNS[name]) for name in names]
    others = Fracture.objects.filter(patient_id=OuterRef("patient_id"), archived_at__isnull=True).exclude(
        pk=OuterRef("pk")
    )
    rows = (
        fractures.annotate(**cast, **{OTHER_FRACTURES: Exists(others)})
        .order_by("assessment_date", "pk")
        .values_list(*fields, OTHER_FRACTURES)
    )
    frame = pd.DataFrame.from_records(fetch(rows) if columns else list(rows), columns=[*names, OTHER_FRACTURES])
    if columns:  # the driver's values are the ORM's but for these (SQLite: Exists is 0/1, a datetime text)
        frame[OTHER_FRACTURES] = frame[OTHER_FRACTURES].map(bool)
        for column in ("archived_at", "patient_archived_at"):  # stored in UTC (USE_TZ)
            frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in NUMERIC:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    wanted = [name for name in asked if name in VISIT_COLUMNS]
    if wanted:
        add_visits(frame, _visit_rows(fractures), wanted)
    return classify(frame, eligible=cohort_filter.eligible)


def fetch(rows) -> list[tuple]:
    """The rows of a `values_list` queryset as the database driver gives them: the SQL Django built,
    with its parameters, without Django's converters, which cost a Python call per row and column
    (about 0.2 s of 0.9 s at 20,000 fractures and 46,000 visits on SQLite, measured). What it gives up: the
    driver's values are the ORM's (dates and booleans: SQLite's declared-type converters, which
    Django registers, and psycopg's; the decimals and points: cast by the database) except
    for Exists and datetimes on SQLite, which `read` converts."""
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _visit_rows(fractures) -> pd.DataFrame:
    """The scheduled visits' VAS and ODI, as floats, of the selected fractures: one query (the
    selection is a subquery, not a list of 20,000 ids)."""
    kinds = sorted({kind for kind, _ in VISIT_COLUMNS.values()})
    fields = {f"float_{field}": Cast(field, FloatField()) for field in VISIT_MEASURES.values()}
    rows = (
        Visit.objects.filter(fracture__in=fractures.values("pk"), kind__in=kinds)
        .annotate(**fields)
        .values_list("fracture_id", "kind", *fields)
    )
    return pd.DataFrame.from_records(fetch(rows), columns=["fracture_id", "kind", *VISIT_MEASURES.values()])


def add_visits(frame: pd.DataFrame, visits: pd.DataFrame, columns: list[str] | None = None) -> None:
    """vas_1m ... odi_6m from the visits' rows (fracture_id, kind, vas_pain, odi_percent): NaN where
    the fracture has no such visit or it was not recorded (one scheduled visit per kind)."""
    for name in columns or list(VISIT_COLUMNS):
        kind, field = VISIT_COLUMNS[name]
        of_kind = visits[visits["kind"] == kind]
        values = pd.Series(pd.to_numeric(of_kind[field], errors="coerce").to_numpy(float), index=of_kind["fracture_id"])
        frame[name] = frame["id"].map(values).astype(float)


def classify(frame: pd.DataFrame, eligible: bool = False) -> pd.DataFrame:
    """Add female, each outcome's reason for being unknown (`<outcome>_missing`, "" when known
    for conservative care) and the fracture's reason for not being counted (`exclusion`, "" when
    counted). `eligible`: the paper's eligibility criteria are asked for."""
    frame["female"] = (frame["sex"] == "F").astype(float)
    for outcome in OUTCOMES:
        frame[f"{outcome}_missing"] = missing_reasons(frame, outcome)
    frame["exclusion"] = exclusion_reasons(frame, eligible=eligible)
    return frame


def treatment_changed(frame: pd.DataFrame) -> pd.Series:
    return (frame["treatment_changed_to"].fillna("") != "") | pd.to_datetime(frame["treatment_changed_on"]).notna()


def changed_before(frame: pd.DataFrame, outcome: str) -> pd.Series:
    """Conservative care abandoned before this outcome was seen: the outcome is not conservative
    care's (a change on the day it was seen counts as before). An outcome not seen yet counts as
    seen after the change: it will never be conservative care's. A change after the outcome was
    seen (an augmentation for a non-union) leaves it conservative care's outcome."""
    changed_on = pd.to_datetime(frame["treatment_changed_on"])
    seen_on = pd.to_datetime(frame[f"{outcome}_on"])
    return treatment_changed(frame) & (changed_on.isna() | seen_on.isna() | (changed_on <= seen_on))


def missing_reasons(frame: pd.DataFrame, outcome: str) -> pd.Series:
    """Why this outcome is not known for conservative care (a MISSING key), or "" when it is."""
    conditions = [changed_before(frame, outcome), frame[outcome].isna()]
    return pd.Series(np.select(conditions, ["changed", "not_assessed"], default=""), index=frame.index)


def exclusion_reasons(frame: pd.DataFrame, eligible: bool = False) -> pd.Series:
    """Why a fracture is not counted (the first EXCLUSIONS reason that applies), or "" when it is:
    counted when neither it nor its patient is archived, under conservative care, with at least
    one 6-month outcome known for conservative care (each outcome then has its own denominator:
    `outcome_counts`) and, when `eligible`, inside the paper's criteria (`eligibility_failures`).
    Reads the `<outcome>_missing` columns `classify` adds."""
    known_any = np.logical_or.reduce([frame[f"{outcome}_missing"] == "" for outcome in OUTCOMES])
    outside = eligibility_failures(frame).any(axis=1) if eligible else pd.Series(False, index=frame.index)
    conditions = [
        frame["archived_at"].notna() | frame["patient_archived_at"].notna(),
        frame["treatment"] != Treatment.CONSERVATIVE,
        ~known_any & treatment_changed(frame),
        ~known_any,
        outside,
    ]
    return pd.Series(np.select(conditions, [key for key, _ in EXCLUSIONS], default=""), index=frame.index)


def eligibility_failures(frame: pd.DataFrame) -> pd.DataFrame:
    """One column per ELIGIBILITY criterion: True where the fracture falls outside it. An age or
    T-score not recorded is outside (the criterion cannot be shown to hold)."""
    age = pd.to_numeric(frame["age"], errors="coerce")
    t_score = pd.to_numeric(frame["bmd_t_score"], errors="coerce")
    failures = {
        "age": ~(age >= rules.MINIMUM_VALIDATED_AGE_YEARS),
        "level": ~frame["level"].isin(rules.VALIDATED_LEVELS),
        "low_energy": frame["low_energy_trauma"] != True,  # noqa: E712 (None is not low-energy either)
        "bmd": ~(t_score <= float(rules.T_SCORE_OSTEOPENIA_UPPER)),
        "single_level": frame[OTHER_FRACTURES].astype(bool),
    }
    return pd.DataFrame({key: failures[key].astype(bool) for key, _ in ELIGIBILITY}, index=frame.index)


def eligibility_counts(frame: pd.DataFrame) -> list[tuple[str, int]]:
    """Per criterion, how many fractures counted but for the eligibility filter fall outside it
    (whether the filter is on or not; a fracture can fail several)."""
    counted = frame[frame["exclusion"].isin(["", "ineligible"])]
    failures = eligibility_failures(counted)
    return [(label, int(failures[key].sum())) for key, label in ELIGIBILITY]


def analysed(frame: pd.DataFrame) -> pd.DataFrame:
    """The counted fractures of `read`'s frame (ANALYSIS_COLUMNS, or all), one row each, as the
    statistics read them (issue 14's contract):

    id, patient_id (int); assessment_date (date); score (int); group ("low"/"medium"/"high");
    non_union, progressive_kyphosis (1.0/0.0, NaN where not known for conservative care: not
    assessed yet or seen after the treatment changed; an analysis of one outcome drops its own
    NaN rows only); female (1.0/0.0); age (float, years); level (str); low_energy_trauma (bool);
    bmi (kg/m², not rounded; NaN without height and weight); bmd_t_score; vas_pre, odi_pre and
    vas_1m ... odi_6m (NaN where not recorded); fracture_type; t2_signal; type_points, vhl_points,
    ka_points, t2_points, bmd_points (int, as the saved score gave them); vhl_pre, ka_pre,
    vhl_diff, ka_diff, vhl_6m, ka_6m (6 months = pretreatment + difference); genant_grade (float);
    of_class ("" or OF1..OF5); first_vhl, second_vhl, first_ka, second_ka."""
    rows = frame[frame["exclusion"] == ""].copy()
    for outcome in OUTCOMES:
        value = rows[outcome].map({True: 1.0, False: 0.0}).astype(float)
        rows[outcome] = value.where(rows[f"{outcome}_missing"] == "")
    rows["age"] = pd.to_numeric(rows["age"], errors="coerce").astype(float)
    rows["low_energy_trauma"] = rows["low_energy_trauma"].astype(bool)
    rows["bmi"] = rows["weight_kg"] / (rows["height_cm"] / 100) ** 2
    rows["vhl_6m"] = rows["vhl_pre"] + rows["vhl_diff"]
    rows["ka_6m"] = rows["ka_pre"] + rows["ka_diff"]
    rows["genant_grade"] = pd.to_numeric(rows["genant_grade"], errors="coerce").astype(float)
    rows["of_class"] = rows["of_class"].fillna("")
    for points in POINTS:
        values = pd.to_numeric(rows[points], errors="coerce")
        rows[points] = values.astype(int) if values.notna().all() else values  # every saved score has them
    return rows


def outcome_counts(frame: pd.DataFrame) -> dict[str, dict]:
    """Each outcome's own denominator: {outcome: {"known": n, "missing": [(reason label, n), ...]}}
    over the counted fractures (of `read`'s frame, or all rows of `analysed`'s). Reasons with no
    fracture are left out; "known" is the outcome's analysis n."""
    rows = frame[frame["exclusion"] == ""] if "exclusion" in frame else frame
    counts = {}
    for outcome in OUTCOMES:
        column = f"{outcome}_missing"
        if column in rows:
            missing = rows[column]
        else:  # a frame built without the reasons: unknown is not assessed
            missing = pd.Series(np.where(rows[outcome].isna(), "not_assessed", ""), index=rows.index)
        tally = missing.value_counts()
        counts[outcome] = {
            "known": int((missing == "").sum()),
            "missing": [(label, int(tally[key])) for key, label in MISSING if tally.get(key, 0)],
        }
    return counts


def exclusion_counts(frame: pd.DataFrame) -> list[tuple[str, int]]:
    counts = frame["exclusion"].value_counts()
    return [(label, int(counts.get(key, 0))) for key, label in EXCLUSIONS if counts.get(key, 0)]


def one_per_patient(frame: pd.DataFrame) -> pd.DataFrame:
    """Each patient's first assessed fracture of the frame (earliest assessment, then lowest id),
    in the frame's order: the sensitivity analysis on independent rows."""
    first = frame.sort_values(["assessment_date", "id"], kind="stable").drop_duplicates("patient_id", keep="first")
    return frame[frame.index.isin(first.index)].copy()


def patients_with_several(frame: pd.DataFrame) -> tuple[int, int]:
    """(patients with more than one fracture in the frame, how many fractures those patients have):
    those fractures are not independent observations."""
    per_patient = frame["patient_id"].value_counts()
    several = per_patient[per_patient > 1]
    return len(several), int(several.sum())


def data_version() -> str:
    """Changes whenever a patient, fracture or visit is created, changed, archived or deleted:
    every write keeps history (django-simple-history, the import's bulk writes included), so the
    largest history id of each table, with the scoring rules' version, names the data. Three
    queries, each the maximum of a primary key."""
    latest = [model.history.aggregate(latest=Max("history_id"))["latest"] or 0 for model in (Patient, Fracture, Visit)]
    return ":".join([rules.RULES_VERSION, *(str(history_id) for history_id in latest)])
