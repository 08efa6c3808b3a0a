"""Turn a score (fresh or saved) into what the pages show: labels, units, percentages.

Templates do no arithmetic; everything they print is prepared here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string
from django.urls import reverse

from . import charts, followup, measurements, paper, rules

COMPONENT_LABELS = {
    "fracture_type": "Fracture type",
    "vertebral_height_loss": "Vertebral height loss (pretreatment)",
    "kyphosis_angle": "Local kyphosis angle (pretreatment)",
    "t2_signal": "MRI T2-weighted signal",
    "bmd": "Bone mineral density, T-score",
}
# The risk groups' names in words, the one source: the badge, the score card, the live score (which
# clones the badge) and the model's choices (the admin, the patient list's filter) all show these.
GROUP_LABELS = {
    rules.RiskGroup.LOW.value: "Low risk",
    rules.RiskGroup.MEDIUM.value: "Medium risk",
    rules.RiskGroup.HIGH.value: "High risk",
}
GROUP_RANGES = {"low": "score 0", "medium": "score 2–4", "high": "score 6–12"}


def display_value(name: str, value: object) -> str:
    """A component's recorded value with its unit, as the clinician wrote it."""
    if name == "vertebral_height_loss":
        return f"{rules.format_signed(Decimal(str(value)))} %"
    if name == "kyphosis_angle":
        return f"{rules.format_signed(Decimal(str(value)))}°"
    if name == "bmd":
        return rules.format_signed(Decimal(str(value)))
    return str(value).replace("_", " ").capitalize()


def percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}"


@dataclass(frozen=True)
class OutcomeFigure:
    events: int
    n: int
    rate_percent: str
    ci_low_percent: str
    ci_high_percent: str

    @classmethod
    def of(cls, proportion: paper.Proportion) -> OutcomeFigure:
        low, high = proportion.wilson_95
        return cls(proportion.events, proportion.n, percent(proportion.rate), percent(low), percent(high))


@dataclass(frozen=True)
class CohortRow:
    group: str
    label: str
    n: int
    non_union: OutcomeFigure
    progressive_kyphosis: OutcomeFigure
    is_patients_group: bool


def cohort_rows(patients_group: str) -> list[CohortRow]:
    """The derivation cohort's outcomes for every group, the patient's own marked (spec §5)."""
    return [
        CohortRow(
            group=group.value,
            label=GROUP_LABELS[group.value],
            n=outcomes.n,
            non_union=OutcomeFigure.of(outcomes.non_union),
            progressive_kyphosis=OutcomeFigure.of(outcomes.progressive_kyphosis),
            is_patients_group=group.value == patients_group,
        )
        for group, outcomes in paper.DERIVATION_COHORT.items()
    ]


def score_card(total: int, group: str, components: dict, warnings: list[dict]) -> dict:
    """Everything the score card partial shows, from a saved assessment or a fresh result."""
    rows = cohort_rows(group)
    return {
        "total": total,
        "max_total": rules.MAX_TOTAL,
        "group": group,
        "group_label": GROUP_LABELS[group],
        "group_range": GROUP_RANGES[group],
        "components": [
            {
                "name": name,
                "label": COMPONENT_LABELS[name],
                "value": display_value(name, item["value"]),
                "category": item["category"],
                "points": item["points"],
            }
            # In the spec's order: PostgreSQL's jsonb does not keep the saved key order.
            for name, item in ((name, components[name]) for name in COMPONENT_LABELS)
        ],
        "warnings": warnings,
        "cohort_rows": rows,
        "cohort_own": next(row for row in rows if row.is_patients_group),
        "cohort_size": paper.PAPER_COHORT_SIZE,
        "decision_support": paper.DECISION_SUPPORT_TEXT[rules.RiskGroup(group)],
        "decision_caveat": paper.DECISION_SUPPORT_CAVEAT,
        "citation": paper.PAPER_CITATION,
        "auc": paper.PAPER_AUC_NON_UNION,
        "extrapolation_note": EXTRAPOLATION_NOTE if total > HIGHEST_TOTAL_OBSERVED else "",
    }


# The derivation cohort's totals ran 0–10 (spec §1): a 12 lies beyond what the paper observed.
HIGHEST_TOTAL_OBSERVED = 10
EXTRAPOLATION_NOTE = (
    "A total of 12 lies beyond the paper's data: its 208 patients scored 0 to 10. The figures shown "
    "are the high group's (totals 6–10); how a 12 fares is an extrapolation from them."
)


def person(user) -> str:
    """A user as the pages name them: the full name where one is recorded, else the username."""
    if user is None:
        return ""
    return user.get_full_name().strip() or user.get_username()


def score_card_from_result(result: rules.ScoreResult) -> dict:
    return score_card(result.total, result.group.value, result.components_record(), result.warnings_record())


def score_card_from_fracture(fracture) -> dict:
    return score_card(
        fracture.total_score, fracture.risk_group, fracture.score_components, fracture.population_warnings
    )


def odi_answered(sections: list | None) -> str | None:
    """Which questionnaire sections were answered, for an ODI computed from them."""
    if not sections:
        return None
    missing = [name for name, score in zip(measurements.ODI_SECTIONS, sections, strict=False) if score is None]
    answered = len(sections) - len(missing)
    text = f"from {answered} of {len(measurements.ODI_SECTIONS)} sections"
    return f"{text}; not answered: {', '.join(missing)}" if missing else text


def _reference(measure: str, group: str, label: str) -> charts.Reference:
    before, six_months = paper.RADIOGRAPHIC_COURSE[measure][rules.RiskGroup(group)]
    return charts.Reference(
        f"Cohort median (IQR), {group} group: {label}",
        (
            (0, before.median, before.q1, before.q3),
            (followup.OFFSET_DAYS[followup.VisitKind.SIX_MONTHS], six_months.median, six_months.q1, six_months.q3),
        ),
    )


def timeline_charts(fracture, visits) -> list[charts.Chart]:
    """VAS, ODI, kyphosis angle and VHL from pretreatment through every visit, days on x."""

    def series(attribute: str) -> list[charts.Point]:
        points = []
        # Days from the start of treatment, the clock the visits and the cohort's 6 months run on.
        start = fracture.treatment_start_date
        baseline = getattr(fracture, attribute)
        if baseline is not None:
            points.append(charts.Point((fracture.assessment_date - start).days, float(baseline), "Pretreatment"))
        for visit in visits:
            value = getattr(visit, attribute)
            if value is not None:
                day = (visit.visit_date - start).days
                points.append(
                    charts.Point(day, float(value), f"{visit.get_kind_display()} ({visit.visit_date:%Y-%m-%d})")
                )
        return points

    built = [
        charts.build("VAS pain", "", series("vas_pain"), floor=0, ceiling=10),
        charts.build("ODI", " %", series("odi_percent"), floor=0),
        charts.build(
            "Kyphosis angle",
            "°",
            series("kyphosis_angle_deg"),
            reference=_reference("kyphosis_angle_deg", fracture.risk_group, "pretreatment and 6 months"),
        ),
        charts.build(
            "Vertebral height loss",
            " %",
            series("vhl_percent"),
            floor=0,
            reference=_reference("vhl_percent", fracture.risk_group, "pretreatment and 6 months"),
        ),
    ]
    return [chart for chart in built if chart is not None]


@dataclass(frozen=True)
class PatientRow:
    """One row of the patient list, its text ready to print: the list shows 25 at a time, and
    formatting in Python is several times quicker than filters and look-ups in the template."""

    url: str
    mrn: str
    name: str
    sex: str
    date_of_birth: str
    latest_url: str | None
    latest_date: str
    latest_total: int | None
    latest_group: str
    progressive: bool
    non_union: bool
    progressive_after_change: bool
    non_union_after_change: bool
    badge: str  # the risk badge's HTML (PartialsOnce.badge)
    flags: str  # the outcome flags' HTML (PartialsOnce.flags)


class PartialsOnce:
    """The risk badge and the outcome flags of a long list's rows, each drawn from its partial
    (templates/scoring/_risk_badge.html, _outcome_flags.html) once per distinct value on the page
    instead of once a row: a list has three groups and a few flag combinations, not 25."""

    def __init__(self) -> None:
        self.drawn: dict[tuple, str] = {}

    def _draw(self, template: str, context: dict) -> str:
        key = (template, *context.values())
        if key not in self.drawn:
            self.drawn[key] = render_to_string(template, context)
        return self.drawn[key]

    def badge(self, group: str) -> str:
        return self._draw("scoring/_risk_badge.html", {"group": group, "label": GROUP_LABELS[group] if group else ""})

    def flags(
        self, progressive: bool, non_union: bool, progressive_after_change: bool, non_union_after_change: bool
    ) -> str:
        return self._draw(
            "scoring/_outcome_flags.html",
            {
                "progressive": progressive,
                "non_union": non_union,
                "progressive_after_change": progressive_after_change,
                "non_union_after_change": non_union_after_change,
            },
        )


def patient_rows(
    patients, latest: dict, sex_labels: dict[str, str], patient_url: str, fracture_url: str
) -> list[PatientRow]:
    """Rows for a page of patients and each one's latest assessment (patient pk → Fracture); the
    URLs are the detail pages' paths with {} where the primary key goes."""
    rows = []
    partials = PartialsOnce()
    for patient in patients:
        fracture = latest.get(patient.pk)
        flags = (
            bool(fracture and fracture.progressive_kyphosis),
            bool(fracture and fracture.non_union),
            bool(fracture and fracture.progressive_kyphosis_after_change),
            bool(fracture and fracture.non_union_after_change),
        )
        rows.append(
            PatientRow(
                url=patient_url.format(patient.pk),
                mrn=patient.mrn,
                name=patient.name,
                sex=sex_labels.get(patient.sex, ""),
                date_of_birth=patient.date_of_birth.isoformat(),
                latest_url=fracture_url.format(fracture.pk) if fracture else None,
                latest_date=fracture.assessment_date.isoformat() if fracture else "",
                latest_total=fracture.total_score if fracture else None,
                latest_group=fracture.risk_group if fracture else "",
                progressive=flags[0],
                non_union=flags[1],
                progressive_after_change=flags[2],
                non_union_after_change=flags[3],
                badge=partials.badge(fracture.risk_group if fracture else ""),
                flags=partials.flags(*flags),
            )
        )
    return rows


@dataclass(frozen=True)
class WorklistRow:
    """One expected visit on the worklist, ready to print."""

    kind: str
    kind_label: str
    due: datetime.date
    window_opens: datetime.date
    window_closes: datetime.date
    status: str
    status_label: str
    mrn: str
    name: str
    patient_url: str
    fracture_url: str
    fracture_label: str
    total_score: int
    risk_group: str
    record_url: str
    badge: str  # the risk badge's HTML (PartialsOnce.badge)


def worklist_rows(page: list, today: datetime.date, soon_days: int) -> list[WorklistRow]:
    """A page of worklist rows from expected visits (with their fracture and patient). The URLs
    are reversed once a page, not once a row."""
    patient_url, fracture_url, record_url = (
        path_with_pk(name) for name in ("scoring:patient_detail", "scoring:fracture_detail", "scoring:visit_create")
    )
    rows = []
    partials = PartialsOnce()
    for expected in page:
        fracture = expected.fracture
        patient = fracture.patient
        if expected.listed_until < today:
            status = followup.DueStatus.MISSED
        else:
            status = followup.window_status(expected.window_opens, expected.window_closes, today, soon_days)
        rows.append(
            WorklistRow(
                kind=expected.kind,
                kind_label=VISIT_KIND_LABELS[expected.kind],
                due=expected.due_date,
                window_opens=expected.window_opens,
                window_closes=expected.window_closes,
                status=status.value,
                status_label=STATUS_LABELS[status],
                mrn=patient.mrn,
                name=patient.name,
                patient_url=patient_url.format(patient.pk),
                fracture_url=fracture_url.format(fracture.pk),
                fracture_label=f"{fracture.level} · {fracture.assessment_date.isoformat()}",
                total_score=fracture.total_score,
                risk_group=fracture.risk_group,
                record_url=f"{record_url.format(fracture.pk)}?kind={expected.kind}",
                badge=partials.badge(fracture.risk_group),
            )
        )
    return rows


def path_with_pk(name: str) -> str:
    """A detail page's path with {} where the primary key goes: reversed once per page, not per row."""
    head, _, tail = reverse(name, args=[0]).rpartition("/0/")
    return f"{head}/{{}}/{tail}"


# The visits' names as the pages show them (the source of the models' VisitKind labels).
VISIT_KIND_LABELS = {"1m": "1 month", "3m": "3 months", "6m": "6 months", "unscheduled": "Unscheduled"}


STATUS_LABELS = {
    followup.DueStatus.OVERDUE: "Overdue",
    followup.DueStatus.DUE_SOON: "Due now or this week",
    followup.DueStatus.UPCOMING: "Upcoming",
    followup.DueStatus.MISSED: "Missed",
}


def other_classifications(fracture) -> dict:
    """Genant's grade (height-based approximation) and the AO Spine-DGOU class, for beside the score."""
    return {
        "genant_label": measurements.GENANT_LABEL,
        "genant": (
            f"grade {fracture.genant_grade} (largest height reduction {fracture.genant_reduction_percent} %)"
            if fracture.genant_grade is not None
            else "needs the six heights"
        ),
        "of_class": fracture.get_of_class_display() if fracture.of_class else "not recorded",
    }


def reader_summary(vhl_1, vhl_2, vhl_mean, ka_1, ka_2, ka_mean) -> str:
    """'VHL 14.0 % and 16.2 % → 15.1 % scored; KA …' with a flag when the readers differ a lot."""
    parts = []
    if vhl_2 is not None:
        parts.append(f"VHL {vhl_1} % and {vhl_2} % → {vhl_mean} % scored")
    if ka_2 is not None:
        parts.append(f"kyphosis angle {ka_1}° and {ka_2}° → {ka_mean}° scored")
    text = "Readers: " + "; ".join(parts) + "."
    if measurements.readers_disagree(
        vhl_1, vhl_2, measurements.READER_DISAGREEMENT_VHL_PERCENT
    ) or measurements.readers_disagree(ka_1, ka_2, measurements.READER_DISAGREEMENT_KYPHOSIS_DEG):
        text += " The readers differ by more than 5 % or 5°: take a second look at the film."
    return text
