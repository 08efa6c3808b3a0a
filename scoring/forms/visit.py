"""A follow-up visit: its fields and clinical rules (spec §3)."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import followup, measurements
from ..locking import VersionedForm
from ..models import (
    SCHEDULED_KINDS,
    BoneUnion,
    Fracture,
    Visit,
    VisitKind,
    visit_by_kind,
    visit_schedule,
)
from . import layouts
from .confirm import ConfirmingForm
from .fields import (
    HEIGHT_FORM_FIELDS,
    DateInput,
    TenthDecimalField,
    not_before_1900,
    not_in_future,
    shown_date,
    visible_notes,
)
from .readings import OdiFields, TwoReaderFields


def scheduled_date_range(start: datetime.date, kind: str) -> tuple[datetime.date, datetime.date | None]:
    """The dates a scheduled visit may carry: from its window's opening until the day before the
    next scheduled visit's window opens (the 6-month visit: from its opening on)."""
    schedule = visit_schedule()
    kinds = [visit.kind for visit in schedule]
    order = kinds.index(kind)
    following = schedule[order + 1] if order + 1 < len(schedule) else None
    last = following.window_opens(start) - datetime.timedelta(days=1) if following else None
    return schedule[order].window_opens(start), last


def scheduled_kind_on(start: datetime.date, day: datetime.date) -> str | None:
    """The scheduled visit a visit on `day` may be recorded as, or None before the first window."""
    for kind in SCHEDULED_KINDS:
        first, last = scheduled_date_range(start, kind)
        if first <= day and (last is None or day <= last):
            return kind
    return None


BONE_UNION_CHOICES = [("", _("not recorded at this visit"))] + BoneUnion.choices


class VisitForm(TwoReaderFields, OdiFields, ConfirmingForm, VersionedForm, forms.ModelForm):
    """A follow-up visit: VAS, ODI, films where taken, bone union from 6 months on (spec §3)."""

    vhl_required = False  # films are not taken at every visit

    kind = forms.ChoiceField(label=_("Visit"), choices=VisitKind.choices)
    visit_date = forms.DateField(widget=DateInput(), validators=[not_in_future, not_before_1900], label=_("Visit date"))
    vas_pain = TenthDecimalField(
        label=_("VAS pain (0–10)"), required=False, min_value=measurements.VAS_MIN, max_value=measurements.VAS_MAX
    )
    kyphosis_angle_deg = TenthDecimalField(
        label=_("Local kyphosis angle (°)"),
        unit="°",
        required=False,
        min_value=measurements.KYPHOSIS_MIN_DEG,
        max_value=measurements.KYPHOSIS_MAX_DEG,
        help_text=_("Where films were taken. Progressive kyphosis: more than 10° above pretreatment."),
    )
    bone_union = forms.ChoiceField(
        label=_("Bone union"),
        choices=BONE_UNION_CHOICES,
        required=False,
        help_text=_("Assessed at the 6-month visit or later."),
    )

    class Meta:
        model = Visit
        fields = [
            "kind",
            "visit_date",
            "vas_pain",
            "odi_percent",
            "kyphosis_angle_deg",
            *HEIGHT_FORM_FIELDS,
            "bone_union",
            "vacuum_cleft_mri",
            "vacuum_cleft_ct",
            "anterior_height_change",
            "notes",
            *TwoReaderFields.READER_MODEL_FIELDS,
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}
        labels = {"notes": _("Notes")}

    def __init__(self, *args, fracture: Fracture, **kwargs):
        self.fracture = fracture
        super().__init__(*args, **kwargs)
        self._init_version()
        self._init_submission()
        self.fields["notes"].validators.append(visible_notes)
        if self.instance.pk:
            self.initial["vhl_percent"] = self.instance.vhl_entered_percent
            self._initial_readers(self.instance)
            self._initial_odi_sections(self.instance.odi_sections)
            if self.instance.odi_sections:
                self.initial["odi_percent"] = None
        else:
            kind = self.initial.get("kind")
            self.initial.setdefault("visit_date", self.default_date(kind))

    @cached_property
    def helper(self):
        """The crispy layout, built when the form is rendered (not for a form only validated)."""
        return layouts.visit(self)

    def default_date(self, kind: str | None) -> datetime.date:
        """Today, for a visit recorded as it happens; for a scheduled visit whose dates have all
        passed (recorded late, from notes), the last day that visit may be dated."""
        today = timezone.localdate()
        if kind and kind != VisitKind.UNSCHEDULED:
            try:
                _, last = scheduled_date_range(self.fracture.treatment_start_date, kind)
            except followup.ScheduleOutOfRange:
                return today
            if last is not None and last < today:
                return last
        return today

    EVIDENCE_FIELDS = ("vacuum_cleft_mri", "vacuum_cleft_ct", "anterior_height_change")

    def clean(self):
        cleaned = super().clean()
        self._resolve_vhl(cleaned)
        self.combine_readers(cleaned)
        self._resolve_odi(cleaned)
        fracture = self.fracture
        try:
            followup.check_schedulable(fracture.treatment_start_date, visit_schedule())
        except followup.ScheduleOutOfRange:
            # Only a row written behind the app's back holds such a date (AssessmentForm refuses it).
            raise ValidationError(
                _(
                    "This assessment's treatment start date, %(date)s, is too far ahead for its visit schedule "
                    "to be computed: correct the date on the assessment first."
                ),
                code=followup.ScheduleOutOfRange.code,
                params={"date": shown_date(fracture.treatment_start_date)},
            ) from None
        kind, visit_date = cleaned.get("kind"), cleaned.get("visit_date")
        if visit_date and visit_date < fracture.assessment_date:
            self.add_error(
                "visit_date",
                ValidationError(
                    _("The visit cannot come before the pretreatment assessment (%(date)s)."),
                    code="before_assessment",
                    params={"date": shown_date(fracture.assessment_date)},
                ),
            )
        if visit_date and visit_date < fracture.treatment_start_date:
            self.add_error(
                "visit_date",
                ValidationError(
                    _("Follow-up visits come after treatment starts (%(date)s)."),
                    code="before_treatment",
                    params={"date": shown_date(fracture.treatment_start_date)},
                ),
            )
        if kind and kind != VisitKind.UNSCHEDULED and visit_date:
            self._check_scheduled_date(kind, visit_date)
        if kind and kind != VisitKind.UNSCHEDULED:
            twin = self._other_visit(kind=kind)
            if twin:
                self.add_error(
                    "kind",
                    ValidationError(
                        _(
                            "This fracture already has its %(kind)s visit (%(date)s): edit that one, or "
                            "record this as an unscheduled visit."
                        ),
                        code="duplicate_visit",
                        params={"kind": VisitKind(kind).label, "date": shown_date(twin.visit_date)},
                    ),
                )
        union = cleaned.get("bone_union")
        evidence = [name for name in self.EVIDENCE_FIELDS if cleaned.get(name)]
        if union and kind and visit_date:
            probe = Visit(kind=kind, visit_date=visit_date)
            if not probe.at_or_after_six_months(fracture):
                self.add_error(
                    "bone_union",
                    ValidationError(
                        _("Bone union is assessed at the 6-month visit or later (from %(date)s for this fracture)."),
                        code="union_too_early",
                        params={"date": shown_date(fracture.six_month_assessment_from())},
                    ),
                )
        if union == BoneUnion.NON_UNION and not evidence:
            self.add_error(
                "bone_union",
                ValidationError(
                    _(
                        "A non-union needs its evidence: a vacuum cleft on MRI or CT, or a change of anterior "
                        "height between standing and supine films."
                    ),
                    code="non_union_without_evidence",
                ),
            )
        if evidence and union != BoneUnion.NON_UNION:
            for name in evidence:
                self.add_error(
                    name,
                    ValidationError(
                        _("Evidence of non-union goes with a non-union only."), code="evidence_without_non_union"
                    ),
                )
        if kind == VisitKind.UNSCHEDULED and visit_date and not self.errors:
            twin = self._other_visit(kind=VisitKind.UNSCHEDULED, visit_date=visit_date)
            key = self.confirmation_key("duplicate", str(twin.pk)) if twin else ""
            if twin and not self.is_confirmed(key):
                self.ask_to_confirm(
                    key,
                    gettext(
                        "Not saved yet: this fracture already has an unscheduled visit on %(date)s. If this is "
                        "that visit, leave this page and edit it instead; if it is another visit the same day, "
                        "save again to record it."
                    )
                    % {"date": formats.date_format(visit_date, "SHORT_DATE_FORMAT")},
                )
        if (
            not any(
                cleaned.get(name) is not None
                for name in ("vas_pain", "odi_percent", "kyphosis_angle_deg", "vhl_percent")
            )
            and not union
            and not self.errors
        ):
            raise ValidationError(
                _("Record at least one finding: VAS, ODI, a film measurement or bone union."), code="empty_visit"
            )
        return cleaned

    def _other_visit(self, **lookup) -> Visit | None:
        """Another recorded visit of the fracture like this (none for a fracture not yet saved:
        a new one being imported)."""
        if self.fracture.pk is None:
            return None
        return self.fracture.visits.filter(**lookup).exclude(pk=self.instance.pk).first()

    def _check_scheduled_date(self, kind: str, visit_date: datetime.date) -> None:
        """A scheduled visit is dated from its window's opening until the next one's opens; a date
        outside that is refused with the visit that date would fit."""
        start = self.fracture.treatment_start_date
        fits = scheduled_kind_on(start, visit_date)
        if fits == kind:
            return
        first, last = scheduled_date_range(start, kind)
        visit = visit_by_kind(kind)
        # One whole message for each case (a window with or without an end; a date another visit
        # fits, or none): a translation reorders whole sentences, never pieces.
        if last is not None and fits:
            message = _(
                "A %(label)s visit is dated from %(opens)s to %(last)s (due %(due)s, ±%(window)s days from the "
                "treatment start). %(date)s fits the %(fits)s visit: choose that visit, or record this one as "
                "unscheduled."
            )
        elif last is not None:
            message = _(
                "A %(label)s visit is dated from %(opens)s to %(last)s (due %(due)s, ±%(window)s days from the "
                "treatment start). %(date)s is before the 1-month visit's window opens: record it as unscheduled."
            )
        elif fits:
            message = _(
                "A %(label)s visit is dated from %(opens)s on (due %(due)s, ±%(window)s days from the treatment "
                "start). %(date)s fits the %(fits)s visit: choose that visit, or record this one as unscheduled."
            )
        else:
            message = _(
                "A %(label)s visit is dated from %(opens)s on (due %(due)s, ±%(window)s days from the treatment "
                "start). %(date)s is before the 1-month visit's window opens: record it as unscheduled."
            )
        self.add_error(
            "visit_date",
            ValidationError(
                message,
                code="outside_window",
                params={
                    "label": VisitKind(kind).label,
                    "opens": shown_date(first),
                    "last": shown_date(last) if last is not None else "",
                    "due": shown_date(visit.due(start)),
                    "window": visit.window_days,
                    "date": shown_date(visit_date),
                    "fits": VisitKind(fits).label if fits else "",
                },
            ),
        )

    def save(self, commit: bool = False) -> Visit:
        """The visit with the inputs as validated, not yet saved: services.save_visit saves it."""
        if commit:
            raise ValueError("Save a visit through services.save_visit.")
        visit = super().save(commit=False)
        visit.fracture = self.fracture
        self.apply_readers(visit)
        visit.odi_sections = self.odi_sections
        return visit
