"""The clinic's cohort, read from the database in one query, as a pandas DataFrame.

Which fractures enter the analyses (spec §5: conservative treatment, a complete 6-month outcome)
and why the others do not.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import FloatField
from django.db.models.functions import Cast

from scoring import measurements
from scoring.models import Fracture, Treatment

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
# What the cohort page needs: fewer columns, the decimals read as floats by the database, so a
# page over 20,000 fractures does not build 100,000 Decimal objects it would turn into floats.
ANALYSIS_COLUMNS = [
    "id",
    "sex",
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
    "odi_pre",
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
    "vhl_points",
    "ka_points",
]

EXCLUSIONS = [
    ("archived", "archived"),
    ("not_conservative", "not conservative care"),
    ("changed", "treatment changed"),
    ("no_union", "no union assessment at 6 months yet"),
    ("no_film", "no film at 6 months yet"),
]


@dataclass(frozen=True)
class CohortFilter:
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    level: str = ""
    sex: str = ""

    def as_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if value}


def read(cohort_filter: CohortFilter, columns: list[str] | None = None) -> pd.DataFrame:
    """Every fracture the filter selects, one row each, in one query (all columns, or `columns`)."""
    fractures = Fracture.objects.all()
    if cohort_filter.date_from:
        fractures = fractures.filter(assessment_date__gte=cohort_filter.date_from)
    if cohort_filter.date_to:
        fractures = fractures.filter(assessment_date__lte=cohort_filter.date_to)
    if cohort_filter.level:
        fractures = fractures.filter(level=cohort_filter.level)
    if cohort_filter.sex:
        fractures = fractures.filter(patient__sex=cohort_filter.sex)
    names = columns or list(COLUMNS)
    # Annotations are prefixed so they cannot clash with a model field of the same name.
    as_float = {f"float_{name}": Cast(COLUMNS[name], FloatField()) for name in names if name in NUMERIC and columns}
    fields = [f"float_{name}" if f"float_{name}" in as_float else COLUMNS[name] for name in names]
    rows = fractures.annotate(**as_float).order_by("assessment_date", "pk").values_list(*fields)
    frame = pd.DataFrame.from_records(list(rows), columns=names)
    for column in NUMERIC:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["female"] = (frame["sex"] == "F").astype(float)
    frame["exclusion"] = exclusion_reasons(frame)
    return frame


def exclusion_reasons(frame: pd.DataFrame) -> pd.Series:
    """Why a fracture is not analysed (the first reason that applies), or "" when it is."""
    conditions = [
        frame["archived_at"].notna() | frame["patient_archived_at"].notna(),
        frame["treatment"] != Treatment.CONSERVATIVE,
        changed_before_outcome(frame),
        frame["non_union"].isna(),
        frame["progressive_kyphosis"].isna(),
    ]
    return pd.Series(np.select(conditions, [key for key, _ in EXCLUSIONS], default=""), index=frame.index)


def changed_before_outcome(frame: pd.DataFrame) -> pd.Series:
    """Conservative care abandoned before its 6-month outcome was complete: checked before the
    missing-outcome reasons, as a changed treatment is why that outcome is missing (or is not
    conservative care's). A change after both outcomes were seen (e.g. augmentation for a
    non-union) leaves them outcomes of conservative care. An outcome not seen yet counts as seen
    after the change (a comparison with a missing date is False, never unknown, in pandas)."""
    changed_on = pd.to_datetime(frame["treatment_changed_on"])
    changed = (frame["treatment_changed_to"].fillna("") != "") | changed_on.notna()

    def not_before(column: str) -> pd.Series:
        seen_on = pd.to_datetime(frame[column])
        return seen_on.isna() | (changed_on <= seen_on)

    return changed & (changed_on.isna() | not_before("non_union_on") | not_before("progressive_kyphosis_on"))


def included(frame: pd.DataFrame) -> pd.DataFrame:
    analysed = frame[frame["exclusion"] == ""].copy()
    analysed["non_union"] = analysed["non_union"].astype(bool)
    analysed["progressive_kyphosis"] = analysed["progressive_kyphosis"].astype(bool)
    return analysed


def exclusion_counts(frame: pd.DataFrame) -> list[tuple[str, int]]:
    counts = frame["exclusion"].value_counts()
    return [(label, int(counts.get(key, 0))) for key, label in EXCLUSIONS if counts.get(key, 0)]
