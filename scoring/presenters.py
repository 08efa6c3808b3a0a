"""Turn a score (fresh or saved) into what the pages show: labels, units, percentages.

Templates do no arithmetic; everything they print is prepared here.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy

from nasovcf_site.i18n import words

from . import charts, followup, measurements, outcomes, paper, radiograph, rules
from .wording import Text

COMPONENT_LABELS = {
    "fracture_type": gettext_lazy("Fracture type"),
    "vertebral_height_loss": gettext_lazy("Vertebral height loss (pretreatment)"),
    "kyphosis_angle": gettext_lazy("Local kyphosis angle (pretreatment)"),
    "t2_signal": gettext_lazy("MRI T2-weighted signal"),
    "bmd": gettext_lazy("Bone mineral density, T-score"),
}
# The risk groups' names in words, the one source: the badge, the score card, the live score (which
# clones the badge) and the model's choices (the admin, the patient list's filter) all show these.
GROUP_LABELS = {
    rules.RiskGroup.LOW.value: gettext_lazy("Low risk"),
    rules.RiskGroup.MEDIUM.value: gettext_lazy("Medium risk"),
    rules.RiskGroup.HIGH.value: gettext_lazy("High risk"),
}
GROUP_RANGES = {
    "low": gettext_lazy("score 0"),
    "medium": gettext_lazy("score 2–4"),
    "high": gettext_lazy("score 6–12"),
}
# The recorded fracture type and T2 signal as the score card's "Recorded" column writes them.
VALUE_WORDS = {
    "compression": pgettext_lazy("fracture type", "Compression"),
    "burst": pgettext_lazy("fracture type", "Burst"),
    "diffuse_low": pgettext_lazy("T2 signal", "Diffuse low"),
    "confined_low": pgettext_lazy("T2 signal", "Confined low"),
    "diffuse_high": pgettext_lazy("T2 signal", "Diffuse high"),
    "confined_high": pgettext_lazy("T2 signal", "Confined high"),
}


def short_date(value: datetime.date) -> str:
    """A date as the pages show it in the active language (English: 2026-06-24)."""
    return date_format(value, "SHORT_DATE_FORMAT")


def display_value(name: str, value: object) -> str:
    """A component's recorded value with its unit, as the clinician wrote it."""
    if name == "vertebral_height_loss":
        return f"{rules.format_signed(Decimal(str(value)))} %"
    if name == "kyphosis_angle":
        return f"{rules.format_signed(Decimal(str(value)))}°"
    if name == "bmd":
        return rules.format_signed(Decimal(str(value)))
    if str(value) in VALUE_WORDS:
        return str(VALUE_WORDS[str(value)])
    return str(value).replace("_", " ").capitalize()


def _message_pattern(msgid: str) -> re.Pattern[str]:
    """A regular expression reading the values back out of an English sentence made from `msgid`."""
    parts = re.split(r"%\((\w+)\)s", msgid)
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(pattern)


WARNING_PATTERNS = {code: _message_pattern(msgid) for code, msgid in rules.POPULATION_WARNING_MESSAGES.items()}


def warning_text(record: dict) -> str:
    """A stored population warning (rules.ScoreResult.warnings_record) in the active language, from its
    code and values. A row saved before the values were kept has them read back from its English
    message; a code this version does not know keeps its stored message."""
    code = record.get("code")
    msgid = rules.POPULATION_WARNING_MESSAGES.get(code)
    if msgid is None:
        return str(record.get("message", ""))
    params = record.get("params")
    if not isinstance(params, dict):
        match = WARNING_PATTERNS[code].fullmatch(str(record.get("message", "")))
        if match is None:
            return str(record.get("message", ""))
        params = match.groupdict()
    return words(Text(msgid, params))


def problem_text(problem) -> str:
    """A radiograph's plausibility problem (radiograph.MeasurementProblem) in the active language."""
    return words(getattr(problem, "text", None) or problem.message)


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


def auc_text(estimate: paper.Estimate) -> str:
    """A published AUC with its interval: "0.872 (95 % CI 0.816–0.928)"."""
    return _("%(auc)s (95 %% CI %(low)s–%(high)s)") % {
        "auc": f"{estimate.value:.3f}",
        "low": f"{estimate.ci_low:.3f}",
        "high": f"{estimate.ci_high:.3f}",
    }


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
                "category": words(item["category"]),
                "points": item["points"],
            }
            # In the spec's order: PostgreSQL's jsonb does not keep the saved key order.
            for name, item in ((name, components[name]) for name in COMPONENT_LABELS)
        ],
        "warnings": [{"code": warning.get("code"), "message": warning_text(warning)} for warning in warnings],
        "cohort_rows": rows,
        "cohort_own": next(row for row in rows if row.is_patients_group),
        "cohort_size": paper.PAPER_COHORT_SIZE,
        "decision_support": words(paper.DECISION_SUPPORT_TEXT[rules.RiskGroup(group)]),
        "decision_caveat": words(paper.DECISION_SUPPORT_CAVEAT),
        "citation": paper.PAPER_CITATION,
        "auc": auc_text(paper.SCORE_AUC["non_union"]),
        "extrapolation_note": str(EXTRAPOLATION_NOTE) if total > HIGHEST_TOTAL_OBSERVED else "",
    }


# The derivation cohort's totals ran 0–10 (spec §1): a 12 lies beyond what the paper observed.
HIGHEST_TOTAL_OBSERVED = 10
EXTRAPOLATION_NOTE = gettext_lazy(
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
    values = {"answered": answered, "total": len(measurements.ODI_SECTIONS)}
    if not missing:
        return _("from %(answered)s of %(total)s sections") % values
    return _("from %(answered)s of %(total)s sections; not answered: %(missing)s") % {
        **values,
        "missing": pgettext("enumeration", ", ").join(words(name) for name in missing),
    }


# The cohort's reference band on the course charts, by the patient's group.
REFERENCE_LABELS = {
    "low": gettext_lazy("Cohort median (IQR), low group: pretreatment and 6 months"),
    "medium": gettext_lazy("Cohort median (IQR), medium group: pretreatment and 6 months"),
    "high": gettext_lazy("Cohort median (IQR), high group: pretreatment and 6 months"),
}


def _reference(measure: str, group: str) -> charts.Reference:
    before, six_months = paper.RADIOGRAPHIC_COURSE[measure][rules.RiskGroup(group)]
    return charts.Reference(
        str(REFERENCE_LABELS[group]),
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
            points.append(charts.Point((fracture.assessment_date - start).days, float(baseline), _("Pretreatment")))
        for visit in visits:
            value = getattr(visit, attribute)
            if value is not None:
                day = (visit.visit_date - start).days
                label = _("%(visit)s (%(date)s)") % {
                    "visit": visit.get_kind_display(),
                    "date": short_date(visit.visit_date),
                }
                points.append(charts.Point(day, float(value), label))
        return points

    built = [
        charts.build(_("VAS pain"), "", series("vas_pain"), floor=0, ceiling=10, translate=_),
        charts.build("ODI", " %", series("odi_percent"), floor=0, translate=_),
        charts.build(
            _("Kyphosis angle"),
            "°",
            series("kyphosis_angle_deg"),
            reference=_reference("kyphosis_angle_deg", fracture.risk_group),
            translate=_,
        ),
        charts.build(
            _("Vertebral height loss"),
            " %",
            series("vhl_percent"),
            floor=0,
            reference=_reference("vhl_percent", fracture.risk_group),
            translate=_,
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
        return self._draw(
            "scoring/_risk_badge.html", {"group": group, "label": str(GROUP_LABELS[group]) if group else ""}
        )

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
                date_of_birth=short_date(patient.date_of_birth),
                latest_url=fracture_url.format(fracture.pk) if fracture else None,
                latest_date=short_date(fracture.assessment_date) if fracture else "",
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
    status_label: str  # "Overdue · 8 days" for a visit past its window (days_overdue)
    mrn: str
    name: str
    patient_url: str
    fracture_url: str
    fracture_label: str
    total_score: int
    risk_group: str
    record_url: str
    badge: str  # the risk badge's HTML (PartialsOnce.badge)
    days_overdue: int | None = None  # overdue and missed rows: days since the window closed
    # A visit is recorded once its window has opened (VisitForm refuses an earlier date): until
    # then the row says when it opens instead of offering Record.
    recordable: bool = True


def days_overdue(window_closes: datetime.date, today: datetime.date) -> int | None:
    """Days since a visit's window closed (1 on the first day it is overdue); None while it is open.

    Counted from the window's close, not the due date: a visit inside its window is on time, so
    the figure starts when the worklist first calls it overdue."""
    days = (today - window_closes).days
    return days if days > 0 else None


def status_label(status: followup.DueStatus, overdue_days: int | None) -> str:
    """The worklist row's status in words, with the days overdue where it is late."""
    if overdue_days is None:
        return str(STATUS_LABELS[status])
    return ngettext("%(status)s · %(n)s day", "%(status)s · %(n)s days", overdue_days) % {
        "status": STATUS_LABELS[status],
        "n": overdue_days,
    }


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
        late = days_overdue(expected.window_closes, today)
        rows.append(
            WorklistRow(
                kind=expected.kind,
                kind_label=VISIT_KIND_LABELS[expected.kind],
                due=expected.due_date,
                window_opens=expected.window_opens,
                window_closes=expected.window_closes,
                status=status.value,
                status_label=status_label(status, late),
                days_overdue=late,
                recordable=expected.window_opens <= today,
                mrn=patient.mrn,
                name=patient.name,
                patient_url=patient_url.format(patient.pk),
                fracture_url=fracture_url.format(fracture.pk),
                fracture_label=f"{fracture.level} · {short_date(fracture.assessment_date)}",
                total_score=fracture.total_score,
                risk_group=fracture.risk_group,
                record_url=f"{record_url.format(fracture.pk)}?kind={expected.kind}",
                badge=partials.badge(fracture.risk_group),
            )
        )
    return rows


@dataclass(frozen=True)
class OutcomePart:
    text: str
    adverse: bool  # progressive kyphosis or non-union: shown as a flag


@dataclass(frozen=True)
class FractureSummary:
    """One fracture on its patient's page: where its care stands, in words."""

    fracture: object  # the Fracture, for its links and details
    course: str
    course_kind: str  # "conservative", "changed" or "not_conservative"
    outcome: tuple[OutcomePart, ...]
    next_visit: str


# The treatments as a sentence names them ("changed to kyphoplasty"): in English the choices'
# labels in lower case; in Chinese the labels as they are (lower-casing would spoil "PKP").
TREATMENT_IN_SENTENCE = {
    "conservative": pgettext_lazy("treatment, in a sentence", "conservative"),
    "vertebroplasty": pgettext_lazy("treatment, in a sentence", "vertebroplasty"),
    "kyphoplasty": pgettext_lazy("treatment, in a sentence", "kyphoplasty"),
    "open_surgery": pgettext_lazy("treatment, in a sentence", "open surgery"),
    "other": pgettext_lazy("treatment, in a sentence", "other"),
}


def treatment_in_sentence(code: str) -> str:
    """A treatment's name inside a sentence, in the user's language; "" for none (an unknown
    code, written behind the app's back, as it is)."""
    return str(TREATMENT_IN_SENTENCE.get(code, code)) if code else ""


def fracture_course(fracture) -> tuple[str, str]:
    """Under conservative care, treatment changed, or not conservative from the start (spec §3)."""
    if fracture.treatment_changed_to:
        changed_to = treatment_in_sentence(fracture.treatment_changed_to)
        return "changed", _("Treatment changed to %(treatment)s on %(date)s") % {
            "treatment": changed_to,
            "date": short_date(fracture.treatment_changed_on),
        }
    if fracture.under_conservative_care:
        return "conservative", _("Under conservative care since %(date)s") % {
            "date": short_date(fracture.treatment_start_date)
        }
    return "not_conservative", _("Not conservative: %(treatment)s from %(date)s") % {
        "treatment": treatment_in_sentence(fracture.treatment),
        "date": short_date(fracture.treatment_start_date),
    }


def fracture_outcome_parts(fracture) -> tuple[OutcomePart, ...]:
    """The outcome so far (spec §3): progressive kyphosis and bone union, each with its date, or
    "Not known yet" while neither has been assessed at 6 months or later."""
    parts = []
    if fracture.progressive_kyphosis is not None:
        seen = fracture.progressive_kyphosis
        if fracture.progressive_kyphosis_after_change:
            text = (
                _("Progressive kyphosis (film of %(date)s) (after the treatment change)")
                if seen
                else _("No progressive kyphosis (film of %(date)s) (after the treatment change)")
            )
        else:
            text = (
                _("Progressive kyphosis (film of %(date)s)")
                if seen
                else _("No progressive kyphosis (film of %(date)s)")
            )
        parts.append(OutcomePart(text % {"date": short_date(fracture.progressive_kyphosis_on)}, seen))
    if fracture.non_union is not None:
        if fracture.non_union_after_change:
            text = (
                _("Non-union (%(date)s) (after the treatment change)")
                if fracture.non_union
                else _("United (%(date)s) (after the treatment change)")
            )
        else:
            text = _("Non-union (%(date)s)") if fracture.non_union else _("United (%(date)s)")
        parts.append(OutcomePart(text % {"date": short_date(fracture.non_union_on)}, fracture.non_union))
    if not parts:
        return (OutcomePart(_("Not known yet"), False),)
    if fracture.progressive_kyphosis is None:
        parts.append(OutcomePart(_("kyphosis not known yet"), False))
    if fracture.non_union is None:
        parts.append(OutcomePart(_("union not known yet"), False))
    return tuple(parts)


def next_visit_text(fracture, expected, today: datetime.date, soon_days: int, missed: bool = False) -> str:
    """The visit the fracture expects next (an ExpectedVisit or None), with its due date; with none
    left, whether a scheduled visit was missed on the way."""
    if expected is None:
        if not fracture.under_conservative_care:
            return _("None due (not under conservative care)")
        return _("None due (a scheduled visit was missed: see the fracture's schedule)") if missed else _("None due")
    values = {"visit": VISIT_KIND_LABELS[expected.kind], "date": short_date(expected.due_date)}
    late = days_overdue(expected.window_closes, today)
    if late is not None:
        return ngettext(
            "%(visit)s visit, due %(date)s: overdue by %(n)s day",
            "%(visit)s visit, due %(date)s: overdue by %(n)s days",
            late,
        ) % {**values, "n": late}
    if followup.window_status(expected.window_opens, expected.window_closes, today, soon_days) is (
        followup.DueStatus.DUE_SOON
    ):
        return _("%(visit)s visit, due %(date)s: due now or this week") % values
    return _("%(visit)s visit, due %(date)s") % values


def fracture_summaries(
    fractures, next_visits: dict, today: datetime.date, soon_days: int, missed: set | frozenset = frozenset()
) -> list[FractureSummary]:
    """A summary of each fracture (newest first, as given); next_visits: fracture pk → ExpectedVisit;
    missed: the pks of fractures with a scheduled visit missed."""
    summaries = []
    for fracture in fractures:
        kind, course = fracture_course(fracture)
        summaries.append(
            FractureSummary(
                fracture=fracture,
                course=course,
                course_kind=kind,
                outcome=fracture_outcome_parts(fracture),
                next_visit=next_visit_text(
                    fracture, next_visits.get(fracture.pk), today, soon_days, missed=fracture.pk in missed
                ),
            )
        )
    return summaries


@dataclass(frozen=True)
class TimelineEntry:
    fracture: object
    interval: str  # "first fracture", "13 months after the previous one (T12)"


def interval_in_words(days: int) -> str:
    """A gap between two fractures as a clinician says it: days under two months, else months."""
    if days < 60:
        return _("the same day") if days == 0 else ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    months = round(days / 30.44)
    if months < 24:
        return ngettext("%(n)s month", "%(n)s months", months) % {"n": months}
    return _("%(n)s years") % {"n": f"{days / 365.25:.1f}"}


def fracture_timeline_entries(fractures) -> list[TimelineEntry]:
    """The patient's fractures in the order they were assessed, each with the time since the one
    before: a second fracture a year after the first stands out."""
    entries = []
    previous = None
    for fracture in sorted(fractures, key=lambda f: (f.assessment_date, f.pk)):
        if previous is None:
            interval = _("First fracture assessed")
        else:
            days = (fracture.assessment_date - previous.assessment_date).days
            if days == 0:
                interval = _("Same day as the %(level)s fracture") % {"level": previous.level}
            else:
                interval = _("%(gap)s after the %(level)s fracture") % {
                    "gap": interval_in_words(days),
                    "level": previous.level,
                }
        entries.append(TimelineEntry(fracture, interval))
        previous = fracture
    return entries


def path_with_pk(name: str) -> str:
    """A detail page's path with {} where the primary key goes: reversed once per page, not per row."""
    head, _, tail = reverse(name, args=[0]).rpartition("/0/")
    return f"{head}/{{}}/{tail}"


# The visits' names as the pages show them (the source of the models' VisitKind labels).
VISIT_KIND_LABELS = {
    "1m": gettext_lazy("1 month"),
    "3m": gettext_lazy("3 months"),
    "6m": gettext_lazy("6 months"),
    "unscheduled": gettext_lazy("Unscheduled"),
}


STATUS_LABELS = {
    followup.DueStatus.OVERDUE: gettext_lazy("Overdue"),
    followup.DueStatus.DUE_SOON: gettext_lazy("Due now or this week"),
    followup.DueStatus.UPCOMING: gettext_lazy("Upcoming"),
    followup.DueStatus.MISSED: gettext_lazy("Missed"),
}
# The same inside a sentence (a fracture's schedule: "6 months: due 2026-06-24 — overdue").
STATUS_WORDS = {
    followup.DueStatus.OVERDUE: gettext_lazy("overdue"),
    followup.DueStatus.DUE_SOON: gettext_lazy("due now or this week"),
    followup.DueStatus.UPCOMING: gettext_lazy("upcoming"),
    followup.DueStatus.MISSED: gettext_lazy("missed"),
}


def other_classifications(fracture) -> dict:
    """Genant's grade (height-based approximation) and the AO Spine-DGOU class, for beside the score."""
    return {
        "genant_label": words(measurements.GENANT_LABEL),
        "genant": (
            _("grade %(grade)s (largest height reduction %(reduction)s %%)")
            % {"grade": fracture.genant_grade, "reduction": fracture.genant_reduction_percent}
            if fracture.genant_grade is not None
            else _("needs the six heights")
        ),
        "of_class": fracture.get_of_class_display() if fracture.of_class else _("not recorded"),
    }


def reader_summary(vhl_1, vhl_2, vhl_mean, ka_1, ka_2, ka_mean) -> str:
    """'VHL 14.0 % and 16.2 % → 15.1 % scored; KA …' with a flag when the readers differ a lot."""
    parts = []
    if vhl_2 is not None:
        parts.append(
            _("VHL %(first)s %% and %(second)s %% → %(mean)s %% scored")
            % {"first": vhl_1, "second": vhl_2, "mean": vhl_mean}
        )
    if ka_2 is not None:
        parts.append(
            _("kyphosis angle %(first)s° and %(second)s° → %(mean)s° scored")
            % {"first": ka_1, "second": ka_2, "mean": ka_mean}
        )
    values = {"readers": pgettext("list separator", "; ").join(parts)}
    if measurements.readers_disagree(
        vhl_1, vhl_2, measurements.READER_DISAGREEMENT_VHL_PERCENT
    ) or measurements.readers_disagree(ka_1, ka_2, measurements.READER_DISAGREEMENT_KYPHOSIS_DEG):
        return (
            _("Readers: %(readers)s. The readers differ by more than 5 %% or 5°: take a second look at the film.")
            % values
        )
    return _("Readers: %(readers)s.") % values


# -- a fracture's page and its print report (issue 11) ---------------------------------------------

# A visit's name on a button: "Record 6-month visit".
RECORD_VISIT_LABELS = {
    "1m": gettext_lazy("Record 1-month visit"),
    "3m": gettext_lazy("Record 3-month visit"),
    "6m": gettext_lazy("Record 6-month visit"),
    "unscheduled": gettext_lazy("Record unscheduled visit"),
}
UNSCHEDULED = "unscheduled"
# models.Treatment.CONSERVATIVE (the models import this module, so it cannot import them).
CONSERVATIVE = "conservative"


@dataclass(frozen=True)
class NextVisit:
    """The visit the fracture page's "Record visit" button opens."""

    kind: str
    label: str  # "Record 6-month visit"


def next_visit(kind: str) -> NextVisit:
    """The fracture page's button for the visit to record today (Fracture.visit_kind_due)."""
    return NextVisit(kind, str(RECORD_VISIT_LABELS[kind]))


@dataclass(frozen=True)
class ScheduleRow:
    """One scheduled visit of a fracture's course and what became of it."""

    kind: str
    label: str
    due: datetime.date
    status: str  # recorded, missed, not_expected, or a followup.DueStatus of a visit still listed
    text: str  # "recorded 2026-06-24", "missed", "due now or this week", "not expected (treatment changed)"


def schedule_rows(
    fracture, visits, schedule, today: datetime.date, *, soon_days: int, overdue_days: int
) -> list[ScheduleRow]:
    """The scheduled visits of a fracture whose treatment started as conservative care, each with
    its fate: recorded; missed once the worklist no longer lists it (the next visit's window
    opened, or it lapsed, before any treatment change); not expected when conservative care was
    abandoned while it was still to come; else its worklist status. Empty when the treatment
    chosen was not conservative care: no schedule ever applied (schedule_note says so).
    ScheduleOutOfRange for an impossible start."""
    if fracture.treatment != CONSERVATIVE:
        return []
    recorded = {visit.kind: visit for visit in visits}
    changed_on = fracture.treatment_changed_on
    rows = []
    for dates in followup.expected_visits(fracture.treatment_start_date, schedule, overdue_days=overdue_days):
        kind = dates.kind.value
        if kind in recorded:
            status, text = "recorded", _("recorded %(date)s") % {"date": short_date(recorded[kind].visit_date)}
        elif changed_on and dates.listed_until >= changed_on:
            status, text = "not_expected", _("not expected (treatment changed)")
        elif dates.listed_until < today:
            status, text = followup.DueStatus.MISSED.value, str(STATUS_WORDS[followup.DueStatus.MISSED])
        else:
            due_status = followup.window_status(dates.window_opens, dates.window_closes, today, soon_days)
            status, text = due_status.value, str(STATUS_WORDS[due_status])
        rows.append(ScheduleRow(kind, VISIT_KIND_LABELS[kind], dates.due, status, text))
    return rows


def timeline_rows(visits, schedule: list[ScheduleRow]) -> list[dict]:
    """The visits table's rows after pretreatment: each visit ({"visit": …}) and each missed
    scheduled visit ({"missed": ScheduleRow}), in date order (a missed one at its due date)."""
    rows = [(visit.visit_date, 0, {"visit": visit}) for visit in visits]
    rows += [(row.due, 1, {"missed": row}) for row in schedule if row.status == followup.DueStatus.MISSED]
    return [row for _, _, row in sorted(rows, key=lambda row: row[:2])]


def schedule_note(fracture) -> str:
    """Why a fracture has no visit schedule: the treatment chosen at the assessment was not
    conservative care. (A later change keeps the schedule, its visits marked not expected.)"""
    if fracture.treatment == CONSERVATIVE:
        return ""
    return _(
        "No follow-up schedule applies: the treatment chosen at the assessment, %(treatment)s, is not "
        "conservative care, and the 1-, 3- and 6-month visits and the worklist follow conservative care "
        "only. Record its visits as unscheduled."
    ) % {"treatment": treatment_in_sentence(fracture.treatment)}


# What changed from one rules version to the next, for a page showing a score saved under an older one.
EARLIER_RULES = {
    "NASOVCF-2025": gettext_lazy("the mean of two readers was rounded to 0.1 before it was scored"),
}


def rules_note(fracture) -> str:
    """A note for an assessment scored under rules older than rules.RULES_VERSION whose score the
    change could move (NASOVCF-2025 differs only for a film read twice); "" otherwise."""
    rules_version = fracture.rules_version
    if rules_version == rules.RULES_VERSION or (rules_version in EARLIER_RULES and not fracture.has_second_reader):
        return ""
    change = EARLIER_RULES.get(rules_version)
    values = {"version": rules_version, "change": change, "current": rules.RULES_VERSION}
    if change:
        return (
            _(
                "Scored under the earlier rules %(version)s (%(change)s); the score shown is the one recorded "
                "then. Saving the assessment again scores it anew under %(current)s."
            )
            % values
        )
    return (
        _(
            "Scored under the earlier rules %(version)s; the score shown is the one recorded then. Saving the "
            "assessment again scores it anew under %(current)s."
        )
        % values
    )


@dataclass(frozen=True)
class Reading:
    """One reader's values of one film, with how each came about."""

    reader: str  # "Reader 1: Dr A" or "Reader 1"
    vhl: str  # "14.0 % from six heights", "15.9 % typed", or "" when this reader gave none
    kyphosis: str  # "19.0°" or ""


@dataclass(frozen=True)
class FilmReading:
    """A film's VHL and kyphosis angle as scored or compared, and how they came about: one
    reader's values, or (`readers` holds two) the mean of two readers, not rounded."""

    vhl: str  # "14.95 %" or "" (no VHL on this film)
    vhl_how: str  # "from six heights", "typed", "the mean of two readers, not rounded: reader 1 …"
    kyphosis: str  # "19.65°" or ""
    kyphosis_how: str
    readers: tuple[Reading, ...]  # both readers' own values when a second reader read the film
    disagree: bool  # the readers differ by more than 5 % or 5°
    vhl_mean: str = ""  # the VHL when it is the two readers' mean, else ""
    kyphosis_mean: str = ""  # the same for the kyphosis angle
    # "not rounded", or for a film saved under the earlier rules, "rounded to 0.1 under NASOVCF-2025"
    mean_rounding: str = gettext_lazy("not rounded")


# How a reader's VHL came about: from the six heights, or typed.
FROM_HEIGHTS, TYPED = "heights", "typed"


def _vhl_source(heights, entered) -> str:
    if heights is not None:
        return FROM_HEIGHTS
    return TYPED if entered is not None else ""


def _source_words(source: str) -> str:
    return _("from six heights") if source == FROM_HEIGHTS else pgettext("VHL", "typed")


def _reader_vhl(value, source: str) -> str:
    """One reader's VHL with how it came about: "14.0 % from six heights", "15.9 % typed"."""
    if source == FROM_HEIGHTS:
        return _("%(value)s from six heights") % {"value": _signed_unit(value, " %")}
    return pgettext("VHL", "%(value)s typed") % {"value": _signed_unit(value, " %")}


def _reader_name(number: int, name: str) -> str:
    if number == 1:
        return _("Reader 1: %(name)s") % {"name": name} if name else _("Reader 1")
    return _("Reader 2: %(name)s") % {"name": name} if name else _("Reader 2")


def _signed_unit(value, unit: str) -> str:
    return "" if value is None else f"{rules.format_signed(Decimal(str(value)))}{unit}"


def film_reading(film) -> FilmReading:
    """How a film's (a Fracture's or a Visit's) VHL and kyphosis angle came about, per reader."""
    first_source = _vhl_source(film.heights, film.vhl_entered_percent) or TYPED
    second_source = _vhl_source(film.second_heights, film.second_vhl_entered_percent) or TYPED
    two_vhl = film.second_vhl_percent is not None
    two_ka = film.second_kyphosis_angle_deg is not None
    if not (two_vhl or two_ka):
        vhl_how = _source_words(first_source) if film.vhl_percent is not None else ""
        return FilmReading(
            _signed_unit(film.vhl_percent, " %"), vhl_how, _signed_unit(film.kyphosis_angle_deg, "°"), "", (), False
        )
    first_vhl = film.first_vhl_percent
    if first_vhl is None and not two_vhl:
        first_vhl = film.vhl_percent
    first_ka = film.first_kyphosis_angle_deg
    if first_ka is None and not two_ka:
        first_ka = film.kyphosis_angle_deg
    first_name, second_name = film.first_reader_name.strip(), film.second_reader_name.strip()
    readers = (
        Reading(
            _reader_name(1, first_name),
            _reader_vhl(first_vhl, first_source) if first_vhl is not None else "",
            _signed_unit(first_ka, "°"),
        ),
        Reading(
            _reader_name(2, second_name),
            _reader_vhl(film.second_vhl_percent, second_source) if two_vhl else "",
            _signed_unit(film.second_kyphosis_angle_deg, "°"),
        ),
    )
    not_rounded = _("not rounded")
    vhl_rounding = _mean_rounding(film.vhl_percent, first_vhl, film.second_vhl_percent, " %") if two_vhl else ""
    ka_rounding = (
        _mean_rounding(film.kyphosis_angle_deg, first_ka, film.second_kyphosis_angle_deg, "°") if two_ka else ""
    )
    if two_vhl:
        vhl_how = _("the mean of two readers, %(rounding)s: reader 1 %(first)s, reader 2 %(second)s") % {
            "rounding": vhl_rounding,
            "first": _source_words(first_source),
            "second": _source_words(second_source),
        }
    else:
        vhl_how = (
            _("reader 1 alone, %(source)s") % {"source": _source_words(first_source)}
            if film.vhl_percent is not None
            else ""
        )
    kyphosis_how = _("reader 1 alone") if film.kyphosis_angle_deg is not None else ""
    return FilmReading(
        vhl=_signed_unit(film.vhl_percent, " %"),
        vhl_how=vhl_how,
        kyphosis=_signed_unit(film.kyphosis_angle_deg, "°"),
        kyphosis_how=_("the mean of two readers, %(rounding)s") % {"rounding": ka_rounding} if two_ka else kyphosis_how,
        readers=readers,
        disagree=film.readers_disagree,
        vhl_mean=_signed_unit(film.vhl_percent, " %") if two_vhl else "",
        kyphosis_mean=_signed_unit(film.kyphosis_angle_deg, "°") if two_ka else "",
        mean_rounding=vhl_rounding if vhl_rounding != not_rounded else (ka_rounding or vhl_rounding),
    )


def _mean_rounding(stored, first, second, unit: str) -> str:
    """'not rounded' (spec §2, revised Decision); for a film saved under the earlier rules, whose
    stored mean was rounded to 0.1, say so and give the mean as it is."""
    if stored is None or first is None or second is None:
        return _("not rounded")
    exact = measurements.mean_of_readers(first, second)
    if exact == stored:
        return _("not rounded")
    return _("rounded to 0.1 under the earlier rules (%(mean)s unrounded)") % {
        "mean": f"{rules.format_signed(exact)}{unit}"
    }


def _outcome_words(value: bool | None, difference) -> str:
    answer = _("not known yet") if value is None else (_("yes") if value else _("no"))
    if difference is None:
        return answer
    sign = "+" if difference > 0 else ""
    return _("%(answer)s (%(difference)s)") % {
        "answer": answer,
        "difference": f"{sign}{rules.format_signed(difference)}°",
    }


COURSE_OUTCOME_LABELS = {
    outcomes.CourseOutcome.PROGRESSIVE_KYPHOSIS: gettext_lazy("progressive kyphosis at 6 months"),
    outcomes.CourseOutcome.NON_UNION: gettext_lazy("non-union at 6 months"),
}


def course_change_text(changes) -> str:
    """'This changes the fracture's course: progressive kyphosis at 6 months yes (+12.0°) → no (+8.5°).'"""
    parts = [
        _("%(outcome)s %(before)s → %(after)s")
        % {
            "outcome": COURSE_OUTCOME_LABELS[change.outcome],
            "before": _outcome_words(change.before, change.difference_before_deg),
            "after": _outcome_words(change.after, change.difference_after_deg),
        }
        for change in changes
    ]
    return _("This changes the fracture's course: %(changes)s.") % {
        "changes": pgettext("list separator", "; ").join(parts)
    }


# -- films (spec §9) -----------------------------------------------------------------------------------

VERTEBRA_LABELS = {
    "cranial": gettext_lazy("Cranial vertebra (above)"),
    "fractured": gettext_lazy("Fractured vertebra"),
    "caudal": gettext_lazy("Caudal vertebra (below)"),
}
# The corners in the order they are placed, in the radiograph's own words (one msgid each).
CORNER_LABELS = {
    name: gettext_lazy(radiograph.CORNER_WORDS[name])
    for name in ("anterior_superior", "anterior_inferior", "posterior_inferior", "posterior_superior")
}
# Spec §2's letters, in the order the pages list the six heights.
HEIGHT_LETTERS = {
    "fractured_anterior": gettext_lazy("a · fractured, anterior"),
    "fractured_posterior": gettext_lazy("b · fractured, posterior"),
    "cranial_anterior": gettext_lazy("c · above, anterior"),
    "cranial_posterior": gettext_lazy("d · above, posterior"),
    "caudal_anterior": gettext_lazy("e · below, anterior"),
    "caudal_posterior": gettext_lazy("f · below, posterior"),
}


def corner_label(vertebra: str, corner: str) -> str:
    return f"{VERTEBRA_LABELS[vertebra]} · {CORNER_LABELS[corner]}"


def _length(value: Decimal, unit: str) -> str:
    return f"{value:.2f} {unit}"


def film_reading_summary(reading, reader: int) -> dict:
    """A film page's account of one reader: who, when, and what their corners gave."""
    label = _("First reader") if reader == 1 else _("Second reader")
    if reading is None:
        return {"reader": reader, "label": label, "done": False}
    return {
        "reader": reader,
        "label": label,
        "done": True,
        "name": reading.reader_name,
        "by": person(reading.updated_by),
        "at": reading.updated_at,
        "heights": [(HEIGHT_LETTERS[name], _length(getattr(reading, name), reading.unit)) for name in HEIGHT_LETTERS],
        "vhl": f"{rules.format_signed(reading.vhl_percent)} %",
        "kyphosis": f"{rules.format_signed(reading.kyphosis_angle_deg)}°",
        "genant": _("grade %(grade)s (anterior reduction %(anterior)s %%, posterior %(posterior)s %%)")
        % {
            "grade": reading.genant_grade,
            "anterior": reading.anterior_reduction_percent,
            "posterior": reading.posterior_reduction_percent,
        },
        "in_px": reading.unit == "px",
    }


def reading_comparison(first, second) -> list[dict]:
    """The two readers' values row by row, with their difference, flagged where they disagree as
    the fracture page flags two readers (measurements.readers_disagree)."""
    rows = []
    for name, label in HEIGHT_LETTERS.items():
        a, b = getattr(first, name), getattr(second, name)
        rows.append(
            {
                "label": label,
                "first": _length(a, first.unit),
                "second": _length(b, second.unit),
                "difference": _length(b - a, first.unit) if first.unit == second.unit else "—",
                "disagree": False,
            }
        )
    for label, a, b, unit, limit in (
        ("VHL", first.vhl_percent, second.vhl_percent, " %", measurements.READER_DISAGREEMENT_VHL_PERCENT),
        (
            _("Kyphosis angle"),
            first.kyphosis_angle_deg,
            second.kyphosis_angle_deg,
            "°",
            measurements.READER_DISAGREEMENT_KYPHOSIS_DEG,
        ),
    ):
        rows.append(
            {
                "label": label,
                "first": f"{rules.format_signed(a)}{unit}",
                "second": f"{rules.format_signed(b)}{unit}",
                "difference": f"{rules.format_signed(b - a)}{unit}",
                "disagree": measurements.readers_disagree(a, b, limit),
            }
        )
    rows.append(
        {
            "label": _("Genant grade"),
            "first": str(first.genant_grade),
            "second": str(second.genant_grade),
            "difference": _("same") if first.genant_grade == second.genant_grade else _("different"),
            "disagree": first.genant_grade != second.genant_grade,
        }
    )
    return rows


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))
