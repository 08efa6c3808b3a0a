"""Patients and their fractures: each Fracture is one episode with its baseline NASOVCF assessment."""

from __future__ import annotations

import datetime
import functools
import operator
import re
import unicodedata
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import connection, models
from django.db.models import Case, OuterRef, Q, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import followup, measurements, outcomes, presenters, rules
from .wording import Text


def _words(value: object) -> str:
    """A label the presenters keep (a marked English msgid, a lazy string or a Text) in the active language."""
    if isinstance(value, Text):
        return value.render(gettext)
    return gettext(value) if isinstance(value, str) else str(value)


# The risk groups' and visits' labels are the presenters' (one wording for every page),
# translated when shown.
translated_label = lazy(_words, str)


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class Treatment(models.TextChoices):
    CONSERVATIVE = "conservative", _("Conservative")
    VERTEBROPLASTY = "vertebroplasty", _("Vertebroplasty")
    KYPHOPLASTY = "kyphoplasty", _("Kyphoplasty")
    OPEN_SURGERY = "open_surgery", _("Open surgery")
    OTHER = "other", _("Other")


class FractureType(models.TextChoices):
    COMPRESSION = rules.FractureType.COMPRESSION.value, _("Compression fracture")
    BURST = rules.FractureType.BURST.value, _("Burst fracture")


class T2Signal(models.TextChoices):
    DIFFUSE_LOW = rules.T2Signal.DIFFUSE_LOW.value, _("Diffuse low")
    CONFINED_LOW = rules.T2Signal.CONFINED_LOW.value, _("Confined low")
    DIFFUSE_HIGH = rules.T2Signal.DIFFUSE_HIGH.value, _("Diffuse high")
    CONFINED_HIGH = rules.T2Signal.CONFINED_HIGH.value, _("Confined high")


class RiskGroup(models.TextChoices):
    # The words every page shows (the patient list's filter lists these choices).
    LOW = rules.RiskGroup.LOW.value, translated_label(presenters.GROUP_LABELS[rules.RiskGroup.LOW.value])
    MEDIUM = rules.RiskGroup.MEDIUM.value, translated_label(presenters.GROUP_LABELS[rules.RiskGroup.MEDIUM.value])
    HIGH = rules.RiskGroup.HIGH.value, translated_label(presenters.GROUP_LABELS[rules.RiskGroup.HIGH.value])


class VisitKind(models.TextChoices):
    ONE_MONTH = followup.VisitKind.ONE_MONTH.value, translated_label(presenters.VISIT_KIND_LABELS["1m"])
    THREE_MONTHS = followup.VisitKind.THREE_MONTHS.value, translated_label(presenters.VISIT_KIND_LABELS["3m"])
    SIX_MONTHS = followup.VisitKind.SIX_MONTHS.value, translated_label(presenters.VISIT_KIND_LABELS["6m"])
    UNSCHEDULED = followup.VisitKind.UNSCHEDULED.value, translated_label(presenters.VISIT_KIND_LABELS["unscheduled"])


class BoneUnion(models.TextChoices):
    UNITED = outcomes.BoneUnion.UNITED.value, _("United")
    NON_UNION = outcomes.BoneUnion.NON_UNION.value, _("Non-union")
    NOT_ASSESSED = outcomes.BoneUnion.NOT_ASSESSED.value, _("Not assessed")


class OFClass(models.TextChoices):
    """AO Spine-DGOU osteoporotic fracture classification (Schnake et al. 2018; spec §8)."""

    OF1 = "OF1", _("OF 1: no deformation, vertebral body oedema on MRI (STIR) only")
    OF2 = "OF2", _("OF 2: deformation of one endplate, no or minor (< 1/5) posterior-wall involvement")
    OF3 = "OF3", _("OF 3: deformation of one endplate, distinct (> 1/5) posterior-wall involvement")
    OF4 = "OF4", _("OF 4: loss of the vertebral frame, vertebral body collapse, or pincer fracture")
    OF5 = "OF5", _("OF 5: injury with distraction or rotation")


SCHEDULED_KINDS = [VisitKind(visit.kind) for visit in followup.schedule()]

SPINE_LEVEL_CHOICES = [(level, level) for level in rules.SPINE_LEVELS]

mrn_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9./-]*$",
    _("Use letters, digits, '-', '/' or '.', starting with a letter or digit."),
    code="invalid_mrn",
)


class Tracked(models.Model):
    """When a row was made and changed, and by whom; a version number for optimistic locking."""

    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    # Bumped by every save through the app's forms; a save based on an older version is refused
    # (see scoring.locking), so nobody overwrites a change they have not seen.
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1, editable=False)

    class Meta:
        abstract = True


class Archivable(models.Model):
    """Nothing is deleted from the app: a record is archived, hidden from lists, kept in full."""

    archived_at = models.DateTimeField(verbose_name=_("archived at"), null=True, blank=True, editable=False)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("archived by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        editable=False,
    )
    archive_reason = models.CharField(_("reason for archiving"), max_length=500, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def archive(self, user, reason: str = "") -> None:
        self.archived_at, self.archived_by, self.archive_reason = timezone.now(), user, reason

    def restore(self) -> None:
        self.archived_at, self.archived_by, self.archive_reason = None, None, ""

    @property
    def archived_record(self) -> Archivable | None:
        """The archived record that makes this one read-only (itself), or None: it may change."""
        return self if self.is_archived else None


class MeasureField(models.DecimalField):
    """A film's VHL or kyphosis angle: one reader's value to 0.1, or the mean of two readers on
    0.05 steps (spec §2, revised Decision), and differences of those. Stored to 0.01 and read
    back to 0.1 where the second decimal is 0 (16.70 → 16.7), so every page shows the value as
    it was recorded and scored."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 5)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        return rules.as_recorded(value) if value is not None else None


class SixHeights(models.Model):
    """The six vertebral heights of a lateral film, in mm (spec §2: a … f); empty when VHL was typed."""

    fractured_anterior_mm = models.DecimalField(
        verbose_name=_("fractured anterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    fractured_posterior_mm = models.DecimalField(
        verbose_name=_("fractured posterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    cranial_anterior_mm = models.DecimalField(
        verbose_name=_("cranial anterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    cranial_posterior_mm = models.DecimalField(
        verbose_name=_("cranial posterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    caudal_anterior_mm = models.DecimalField(
        verbose_name=_("caudal anterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    caudal_posterior_mm = models.DecimalField(
        verbose_name=_("caudal posterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )

    class Meta:
        abstract = True

    @property
    def heights(self) -> measurements.VertebralHeights | None:
        return self.heights_of("")

    def heights_of(self, prefix: str) -> measurements.VertebralHeights | None:
        """One reader's six heights ("" the first reader's, "second_" the second's), or None."""
        values = [getattr(self, f"{prefix}{name}_mm") for name in measurements.HEIGHT_FIELDS]
        if any(value is None for value in values):
            return None
        return measurements.VertebralHeights(*values)


def name_words(text: str) -> list[str]:
    """The words of a name as they are indexed and searched: lower case, accents dropped."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(character for character in plain if not unicodedata.combining(character))
    # Case folding and NFKD can lengthen a word ("ß" → "ss"): cut to the column's 200.
    return [word[:200] for word in re.split(r"[^\w]+", plain) if word]


def _prefix_lookup(field: str, prefix: str) -> dict:
    """`field` starts with `prefix`, in a form the database's index answers. PostgreSQL: LIKE
    'x%', which Django's varchar_pattern_ops index on the column serves. SQLite's LIKE ignores
    case and so its index: a range on the binary order instead (U+10FFFF sorts after every
    character, so every text starting with the prefix lies in it)."""
    if connection.vendor == "sqlite":
        return {f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"}
    return {f"{field}__startswith": prefix}


class PatientQuerySet(models.QuerySet):
    def active(self) -> PatientQuerySet:
        return self.filter(archived_at__isnull=True)

    def search(self, text: str) -> PatientQuerySet:
        """Patients whose MRN starts with the text, or whose name has a word starting with each
        word of the text: "chen", "mar ch" and "CHEN, Margaret" all find Margaret Chen. Case and
        accents do not matter. A single word with a digit ("DEMO-0001") is an MRN and only that.
        Both are index look-ups (the MRN's unique index, PatientNameWord's), never a scan."""
        text = text.strip()
        if not text:
            return self
        found = Q(**_prefix_lookup("mrn", text.upper()))
        terms = name_words(text)
        # One word with a digit is an MRN: "DEMO-0001" must not look up the word "demo" in every
        # demo patient's name. An MRN has no spaces (mrn_validator), so "patient 12" is a name.
        looks_like_mrn = len(text.split()) == 1 and any(character.isdigit() for character in text)
        if terms and not looks_like_mrn:
            named = Q()
            for term in terms:
                named &= Q(pk__in=PatientNameWord.objects.filter(**_prefix_lookup("word", term)).values("patient_id"))
            found |= named
        return self.filter(found)

    def with_latest_group(self) -> PatientQuerySet:
        """Annotate each patient with the risk group of their latest assessment, to filter on."""
        latest = Fracture.objects.active().filter(patient=OuterRef("pk")).order_by("-assessment_date", "-pk")
        return self.annotate(latest_group=Subquery(latest.values("risk_group")[:1]))


def visit_schedule() -> tuple[followup.ScheduledVisit, ...]:
    return _schedule(tuple(sorted(settings.NASOVCF_VISIT_WINDOW_DAYS.items())))


@functools.lru_cache(maxsize=8)
def _schedule(windows: tuple[tuple[str, int], ...]) -> tuple[followup.ScheduledVisit, ...]:
    """Made once per setting (an import asks for it several times a row; its visits are frozen)."""
    return followup.schedule(dict(windows))


def visit_by_kind(kind: str) -> followup.ScheduledVisit:
    return next(visit for visit in visit_schedule() if visit.kind == kind)


# What the patient list shows of each patient's latest assessment.
LIST_FIELDS = (
    "patient_id",
    "assessment_date",
    "total_score",
    "risk_group",
    "progressive_kyphosis",
    "progressive_kyphosis_on",
    "non_union",
    "non_union_on",
    "treatment_changed_on",
)


class FractureQuerySet(models.QuerySet):
    def active(self) -> FractureQuerySet:
        """Neither the assessment nor its patient archived."""
        return self.filter(archived_at__isnull=True, patient__archived_at__isnull=True)

    def latest_by_patient(self, patient_ids) -> dict[int, Fracture]:
        """Each patient's latest active assessment (by date, then the last entered), in one
        query through the index on (patient, -assessment_date): for a page of patients."""
        latest = {}
        found = (
            self.filter(archived_at__isnull=True, patient_id__in=patient_ids)
            .order_by("patient_id", "-assessment_date", "-pk")
            .only(*LIST_FIELDS)  # a fracture row is wide; the list shows a few columns of it
        )
        for fracture in found:
            latest.setdefault(fracture.patient_id, fracture)
        return latest

    def under_conservative_care(self) -> FractureQuerySet:
        return self.active().filter(treatment=Treatment.CONSERVATIVE, treatment_changed_to="")


class Patient(Tracked, Archivable):
    mrn = models.CharField(
        _("MRN"),
        max_length=32,
        unique=True,
        validators=[mrn_validator],
        help_text=_("Medical record number, unique in the clinic. Stored in capitals."),
    )
    name = models.CharField(verbose_name=_("name"), max_length=200, blank=True)
    sex = models.CharField(verbose_name=_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(verbose_name=_("date of birth"))

    objects = PatientQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["mrn"]
        indexes = [
            # The patient list: the active patients in MRN order, and their count (read from this
            # index alone, about 2 ms at 50,000 patients; bench/report.md).
            models.Index(fields=["mrn"], condition=Q(archived_at__isnull=True), name="patient_active_mrn"),
        ]

    def __str__(self) -> str:
        return f"{self.mrn} {self.name}".strip()

    def save(self, *args, **kwargs):
        """Save, and keep the name's search words in step (PatientNameWord)."""
        update_fields = kwargs.get("update_fields")
        super().save(*args, **kwargs)
        if update_fields is None or "name" in update_fields:
            self.name_words.all().delete()
            PatientNameWord.objects.bulk_create(PatientNameWord.rows_for(self))

    def get_absolute_url(self) -> str:
        return reverse("scoring:patient_detail", args=[self.pk])

    def age_on(self, day: datetime.date) -> int:
        return measurements.age_in_years(self.date_of_birth, day)


class PatientNameWord(models.Model):
    """Each word of a patient's name (name_words), for the list's search by name: kept in step
    with the name by Patient.save()."""

    patient = models.ForeignKey(Patient, verbose_name=_("patient"), on_delete=models.CASCADE, related_name="name_words")
    word = models.CharField(verbose_name=_("word"), max_length=200, db_index=True)

    class Meta:
        verbose_name = _("patient name word")
        verbose_name_plural = _("patient name words")
        constraints = [models.UniqueConstraint(fields=["patient", "word"], name="patient_name_word_unique")]

    def __str__(self) -> str:
        return self.word

    @classmethod
    def rows_for(cls, patient: Patient) -> list[PatientNameWord]:
        return [cls(patient=patient, word=word) for word in dict.fromkeys(name_words(patient.name))]


class TwoReaders(models.Model):
    """Two readers of one lateral film (spec §2): each reader's own VHL and kyphosis angle. The
    film's scored or compared vhl_percent and kyphosis_angle_deg are their mean, not rounded (a
    reading is to 0.1, so the mean falls on 0.05 steps), or the first reader's alone."""

    first_reader_name = models.CharField(_("first reader"), max_length=100, blank=True)
    first_vhl_percent = models.DecimalField(
        verbose_name=_("first vhl percent"), max_digits=4, decimal_places=1, null=True, editable=False
    )
    first_kyphosis_angle_deg = models.DecimalField(
        verbose_name=_("first kyphosis angle deg"), max_digits=4, decimal_places=1, null=True, editable=False
    )
    second_reader_name = models.CharField(_("second reader"), max_length=100, blank=True)
    second_vhl_entered_percent = models.DecimalField(
        verbose_name=_("second vhl entered percent"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    second_fractured_anterior_mm = models.DecimalField(
        verbose_name=_("second fractured anterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    second_fractured_posterior_mm = models.DecimalField(
        verbose_name=_("second fractured posterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    second_cranial_anterior_mm = models.DecimalField(
        verbose_name=_("second cranial anterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    second_cranial_posterior_mm = models.DecimalField(
        verbose_name=_("second cranial posterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    second_caudal_anterior_mm = models.DecimalField(
        verbose_name=_("second caudal anterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    second_caudal_posterior_mm = models.DecimalField(
        verbose_name=_("second caudal posterior mm"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    second_vhl_percent = models.DecimalField(
        verbose_name=_("second vhl percent"), max_digits=4, decimal_places=1, null=True, editable=False
    )
    second_kyphosis_angle_deg = models.DecimalField(
        verbose_name=_("second kyphosis angle deg"), max_digits=4, decimal_places=1, null=True, blank=True
    )

    class Meta:
        abstract = True

    @property
    def second_heights(self) -> measurements.VertebralHeights | None:
        return self.heights_of("second_")  # Fracture and Visit have SixHeights too

    @property
    def readers_disagree(self) -> bool:
        return measurements.readers_disagree(
            self.first_vhl_percent, self.second_vhl_percent, measurements.READER_DISAGREEMENT_VHL_PERCENT
        ) or measurements.readers_disagree(
            self.first_kyphosis_angle_deg, self.second_kyphosis_angle_deg, measurements.READER_DISAGREEMENT_KYPHOSIS_DEG
        )

    @property
    def has_second_reader(self) -> bool:
        return self.second_vhl_percent is not None or self.second_kyphosis_angle_deg is not None


class Fracture(Tracked, Archivable, SixHeights, TwoReaders):
    """One fracture episode and its baseline (pretreatment) NASOVCF assessment."""

    patient = models.ForeignKey(Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="fractures")
    assessment_date = models.DateField(verbose_name=_("assessment date"))
    level = models.CharField(verbose_name=_("level"), max_length=3, choices=SPINE_LEVEL_CHOICES)
    injury_date = models.DateField(verbose_name=_("injury date"), null=True, blank=True)
    low_energy_trauma = models.BooleanField(
        _("low-energy trauma"), help_text=_("A fall from standing height or less, or no trauma.")
    )
    fracture_type = models.CharField(verbose_name=_("fracture type"), max_length=16, choices=FractureType.choices)

    # VHL: entered as a percentage, or computed from the six heights (spec §2); never both.
    vhl_entered_percent = models.DecimalField(
        _("VHL entered (%)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    # Scored: the one reader's value to 0.1, or the mean of two readers on 0.05 steps, not rounded.
    vhl_percent = MeasureField(_("VHL (%)"), editable=False)

    kyphosis_angle_deg = MeasureField(_("kyphosis angle (°)"))
    t2_signal = models.CharField(_("T2 signal"), max_length=16, choices=T2Signal.choices)
    bmd_t_score = models.DecimalField(_("BMD T-score"), max_digits=3, decimal_places=1)

    vas_pain = models.DecimalField(_("VAS pain"), max_digits=3, decimal_places=1, null=True, blank=True)
    odi_percent = models.DecimalField(_("ODI (%)"), max_digits=4, decimal_places=1, null=True, blank=True)
    odi_sections = models.JSONField(_("ODI sections"), null=True, blank=True, editable=False)
    height_cm = models.DecimalField(_("height (cm)"), max_digits=4, decimal_places=1, null=True, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=4, decimal_places=1, null=True, blank=True)
    treatment = models.CharField(verbose_name=_("treatment"), max_length=16, choices=Treatment.choices)
    of_class = models.CharField(_("AO Spine-DGOU class"), max_length=3, choices=OFClass.choices, blank=True)

    # Genant's grade approximated from the six heights (spec §8); empty without heights.
    genant_reduction_percent = models.DecimalField(
        verbose_name=_("genant reduction percent"), max_digits=4, decimal_places=1, null=True, editable=False
    )
    genant_grade = models.PositiveSmallIntegerField(verbose_name=_("genant grade"), null=True, editable=False)
    treatment_start_date = models.DateField(
        verbose_name=_("treatment start date"), help_text=_("The follow-up visits are due 1, 3 and 6 months after it.")
    )
    # When conservative care is abandoned (spec §3): later outcomes are no longer its outcomes.
    treatment_changed_to = models.CharField(
        verbose_name=_("treatment changed to"), max_length=16, choices=Treatment.choices, blank=True, editable=False
    )
    treatment_changed_on = models.DateField(
        verbose_name=_("treatment changed on"), null=True, blank=True, editable=False
    )
    treatment_change_reason = models.CharField(
        verbose_name=_("treatment change reason"), max_length=500, blank=True, editable=False
    )

    # What was computed from the inputs, kept so a saved assessment reads the same if rules change.
    age_at_assessment = models.PositiveSmallIntegerField(verbose_name=_("age at assessment"), editable=False)
    total_score = models.PositiveSmallIntegerField(verbose_name=_("total score"), editable=False)
    risk_group = models.CharField(verbose_name=_("risk group"), max_length=6, choices=RiskGroup.choices, editable=False)
    score_components = models.JSONField(verbose_name=_("score components"), encoder=DjangoJSONEncoder, editable=False)
    population_warnings = models.JSONField(
        verbose_name=_("population warnings"), encoder=DjangoJSONEncoder, default=list, editable=False
    )
    rules_version = models.CharField(verbose_name=_("rules version"), max_length=32, editable=False)

    # The course so far, computed from the visits (outcomes.fracture_outcome); None: not known yet.
    progressive_kyphosis = models.BooleanField(verbose_name=_("progressive kyphosis"), null=True, editable=False)
    progressive_kyphosis_on = models.DateField(verbose_name=_("progressive kyphosis on"), null=True, editable=False)
    non_union = models.BooleanField(verbose_name=_("non union"), null=True, editable=False)
    non_union_on = models.DateField(verbose_name=_("non union on"), null=True, editable=False)
    kyphosis_difference_six_months_deg = MeasureField(
        verbose_name=_("kyphosis difference six months deg"), null=True, editable=False
    )
    vhl_difference_six_months_percent = MeasureField(
        verbose_name=_("vhl difference six months percent"), null=True, editable=False
    )

    objects = FractureQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("fracture")
        verbose_name_plural = _("fractures")
        ordering = ["-assessment_date", "-pk"]
        permissions = [("export_identified", "Can export identified patient data")]
        indexes = [
            models.Index(fields=["patient", "-assessment_date"], name="fracture_patient_latest"),
            models.Index(fields=["risk_group"], name="fracture_risk_group"),
        ]

    def __str__(self) -> str:
        return f"{self.patient.mrn} {self.level} {self.assessment_date:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("scoring:fracture_detail", args=[self.pk])

    @property
    def archived_record(self) -> Patient | Fracture | None:
        """An assessment is read-only while it or its patient is archived."""
        if self.patient.is_archived:
            return self.patient
        return self if self.is_archived else None

    def apply_genant(self) -> None:
        heights = self.heights
        result = measurements.genant_from_heights(heights) if heights else None
        self.genant_reduction_percent = result.reduction_percent if result else None
        self.genant_grade = result.grade if result else None

    @property
    def bmi(self) -> Decimal | None:
        if self.height_cm and self.weight_kg:
            return measurements.body_mass_index(self.height_cm, self.weight_kg)
        return None

    def apply_score(self, result: rules.ScoreResult, age_years: int) -> None:
        """Keep the result of `rules.score` on the row: components, total, group, version."""
        self.vhl_percent = result.vertebral_height_loss.value
        self.age_at_assessment = age_years
        self.total_score = result.total
        self.risk_group = result.group.value
        self.score_components = result.components_record()
        self.population_warnings = result.warnings_record()
        self.rules_version = result.rules_version

    def score_inputs(self) -> rules.ScoreInputs:
        """The saved inputs, as `rules.score` reads them (for a rescore after a patient edit)."""
        return rules.ScoreInputs(
            fracture_type=rules.FractureType(self.fracture_type),
            vhl_percent=self.vhl_percent,
            kyphosis_angle_deg=self.kyphosis_angle_deg,
            t2_signal=rules.T2Signal(self.t2_signal),
            bmd_t_score=self.bmd_t_score,
            age_years=self.patient.age_on(self.assessment_date),
            level=self.level,
            low_energy_trauma=self.low_energy_trauma,
            conservative_treatment=self.treatment == Treatment.CONSERVATIVE,
            vhl_is_mean_of_readers=self.second_vhl_percent is not None,
            kyphosis_is_mean_of_readers=self.second_kyphosis_angle_deg is not None,
        )

    def rescore(self) -> None:
        """Score the inputs (as the form or a save leaves them) under the current rules."""
        inputs = self.score_inputs()
        self.apply_score(rules.score(inputs), inputs.age_years)

    def refresh_age(self) -> None:
        """After the patient's date of birth was corrected: the age at the assessment and the
        population warnings it feeds (spec §4), the score as it was recorded (its points, total,
        group and rules version: it is scored anew only when the assessment is saved again)."""
        inputs = self.score_inputs()
        self.age_at_assessment = inputs.age_years
        self.population_warnings = rules.score(inputs).warnings_record()

    @property
    def current_treatment(self) -> str:
        return self.treatment_changed_to or self.treatment

    def get_current_treatment_display(self) -> str:
        return Treatment(self.current_treatment).label

    @property
    def under_conservative_care(self) -> bool:
        return self.current_treatment == Treatment.CONSERVATIVE

    def is_after_treatment_change(self, day: datetime.date | None) -> bool:
        return bool(day and self.treatment_changed_on and day >= self.treatment_changed_on)

    @property
    def progressive_kyphosis_after_change(self) -> bool:
        return self.is_after_treatment_change(self.progressive_kyphosis_on)

    @property
    def non_union_after_change(self) -> bool:
        return self.is_after_treatment_change(self.non_union_on)

    def six_month_assessment_from(self) -> datetime.date:
        return followup.six_month_assessment_from(self.treatment_start_date, visit_schedule())

    def visit_kind_due(self, today: datetime.date) -> str:
        """The visit a visit today is recorded as: the first scheduled visit not yet recorded whose
        window has opened and whose listing has not lapsed (the one the worklist lists as due or
        overdue), else an unscheduled visit (none due yet, all recorded or missed, or not under
        conservative care: no expected visits are stored then)."""
        for expected in self.expected_visits.all():  # in due order
            if expected.visit_id is None and expected.window_opens <= today <= expected.listed_until:
                return expected.kind
        return VisitKind.UNSCHEDULED

    OUTCOME_FIELDS = [
        "progressive_kyphosis",
        "progressive_kyphosis_on",
        "non_union",
        "non_union_on",
        "kyphosis_difference_six_months_deg",
        "vhl_difference_six_months_percent",
    ]

    def refresh_outcomes(self, visits: list[Visit] | None = None) -> list[Visit]:
        """Recompute every visit's differences and the fracture's course; returns changed visits.

        Call after a visit is saved or the baseline changes; the caller saves what changed.
        """
        visits = list(self.visits.all()) if visits is None else visits
        changed = [visit for visit in visits if visit.compute_outcomes(self)]
        course = outcomes.fracture_outcome(visit.outcome_input(self) for visit in visits)
        self.progressive_kyphosis = course.progressive_kyphosis
        self.progressive_kyphosis_on = course.progressive_kyphosis_on
        self.non_union = course.non_union
        self.non_union_on = course.non_union_on
        self.kyphosis_difference_six_months_deg = course.kyphosis_difference_six_months_deg
        self.vhl_difference_six_months_percent = course.vhl_difference_six_months_percent
        return changed


class Visit(Tracked, SixHeights, TwoReaders):
    """One follow-up visit of a fracture: pain, disability, films where taken, union at 6 months."""

    fracture = models.ForeignKey(Fracture, verbose_name=_("fracture"), on_delete=models.PROTECT, related_name="visits")
    kind = models.CharField(_("visit"), max_length=12, choices=VisitKind.choices)
    visit_date = models.DateField(verbose_name=_("visit date"))
    vas_pain = models.DecimalField(_("VAS pain"), max_digits=3, decimal_places=1, null=True, blank=True)
    odi_percent = models.DecimalField(_("ODI (%)"), max_digits=4, decimal_places=1, null=True, blank=True)
    odi_sections = models.JSONField(_("ODI sections"), null=True, blank=True, editable=False)

    # Where films were taken: the one reader's value, or the mean of two (TwoReaders), not rounded.
    kyphosis_angle_deg = MeasureField(_("kyphosis angle (°)"), null=True, blank=True)
    vhl_entered_percent = models.DecimalField(
        _("VHL entered (%)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    vhl_percent = MeasureField(_("VHL (%)"), null=True, editable=False)

    bone_union = models.CharField(verbose_name=_("bone union"), max_length=12, choices=BoneUnion.choices, blank=True)
    vacuum_cleft_mri = models.BooleanField(_("intravertebral vacuum cleft on MRI"), default=False)
    vacuum_cleft_ct = models.BooleanField(_("intravertebral vacuum cleft on CT"), default=False)
    anterior_height_change = models.BooleanField(
        _("anterior height changes between standing and supine films"), default=False
    )
    notes = models.CharField(verbose_name=_("notes"), max_length=500, blank=True)

    # Computed against the pretreatment assessment (spec §3).
    kyphosis_difference_deg = MeasureField(verbose_name=_("kyphosis difference deg"), null=True, editable=False)
    vhl_difference_percent = MeasureField(verbose_name=_("vhl difference percent"), null=True, editable=False)
    progressive_kyphosis = models.BooleanField(verbose_name=_("progressive kyphosis"), null=True, editable=False)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["visit_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["fracture", "kind"],
                condition=~Q(kind=VisitKind.UNSCHEDULED),
                name="one_scheduled_visit_of_each_kind",
                violation_error_message=_("This fracture already has this scheduled visit."),
            )
        ]
        indexes = [models.Index(fields=["fracture", "kind"], name="visit_fracture_kind")]

    def __str__(self) -> str:
        # In the page's language (the visit's history page, the archive's title), its date ISO.
        return gettext("%(fracture)s · %(kind)s visit %(date)s") % {
            "fracture": self.fracture,
            "kind": self.get_kind_display(),
            "date": f"{self.visit_date:%Y-%m-%d}",
        }

    def get_absolute_url(self) -> str:
        """A visit is read on its fracture's page (editing it is a change, for who may change)."""
        return f"{reverse('scoring:fracture_detail', args=[self.fracture_id])}#visit-{self.pk}"

    @property
    def non_union_evidence(self) -> list[str]:
        return [
            str(self._meta.get_field(name).verbose_name)
            for name in ("vacuum_cleft_mri", "vacuum_cleft_ct", "anterior_height_change")
            if getattr(self, name)
        ]

    def at_or_after_six_months(self, fracture: Fracture) -> bool:
        """From the 6-month visit's window on, by the visit's date whatever its kind."""
        return self.visit_date >= fracture.six_month_assessment_from()

    def compute_outcomes(self, fracture: Fracture) -> bool:
        """Differences against pretreatment and the kyphosis flag; True when any changed."""
        before = (self.kyphosis_difference_deg, self.vhl_difference_percent, self.progressive_kyphosis)
        self.kyphosis_difference_deg = (
            outcomes.kyphosis_difference(self.kyphosis_angle_deg, fracture.kyphosis_angle_deg)
            if self.kyphosis_angle_deg is not None
            else None
        )
        self.vhl_difference_percent = (
            outcomes.height_loss_difference(self.vhl_percent, fracture.vhl_percent)
            if self.vhl_percent is not None
            else None
        )
        self.progressive_kyphosis = (
            outcomes.is_progressive_kyphosis(self.kyphosis_difference_deg)
            if self.kyphosis_difference_deg is not None
            else None
        )
        return before != (self.kyphosis_difference_deg, self.vhl_difference_percent, self.progressive_kyphosis)

    def outcome_input(self, fracture: Fracture) -> outcomes.VisitOutcome:
        return outcomes.VisitOutcome(
            visit_date=self.visit_date,
            kyphosis_difference_deg=self.kyphosis_difference_deg,
            at_or_after_six_months=self.at_or_after_six_months(fracture),
            union=outcomes.BoneUnion(self.bone_union) if self.bone_union else None,
            vhl_difference_percent=self.vhl_difference_percent,
        )

    @property
    def after_treatment_change(self) -> bool:
        return self.fracture.is_after_treatment_change(self.visit_date)


class ExpectedVisitQuerySet(models.QuerySet):
    def open(self) -> ExpectedVisitQuerySet:
        """Not yet recorded. Rows exist only while their fracture is active and under
        conservative care (services.refresh_course keeps them in step)."""
        return self.filter(visit__isnull=True)

    def in_status(
        self, today: datetime.date, until: datetime.date, soon_days: int, statuses: tuple
    ) -> ExpectedVisitQuerySet:
        """Open rows with one of these statuses today (followup.status_due_ranges: for each scheduled
        visit and status, a range of due dates). The outer range of those dates comes first, so the
        database reads the index on (visit, due_date) from one end to the other, in due order."""
        ranges = [
            (kind, due_range)
            for (kind, status), due_range in status_ranges(today, until, soon_days).items()
            if status in statuses
        ]
        in_any = functools.reduce(operator.or_, (Q(kind=kind, due_date__range=due_range) for kind, due_range in ranges))
        earliest, latest = min(lo for _, (lo, _) in ranges), max(hi for _, (_, hi) in ranges)
        return self.open().filter(Q(due_date__gte=earliest, due_date__lte=latest) & in_any)

    def with_status_order(self, today: datetime.date, until: datetime.date, soon_days: int) -> ExpectedVisitQuerySet:
        """Annotate `status_order`, the position of each row's status in followup.DueStatus."""
        order = {status: number for number, status in enumerate(followup.DueStatus)}
        return self.annotate(
            status_order=Case(
                *(
                    When(Q(kind=kind, due_date__range=due_range), then=Value(order[status]))
                    for (kind, status), due_range in status_ranges(today, until, soon_days).items()
                ),
                default=Value(len(order)),
            )
        )

    def status_counts(
        self, today: datetime.date, until: datetime.date, soon_days: int, statuses: tuple = tuple(followup.DueStatus)
    ) -> dict[str, int]:
        """How many open rows have each status (followup.DueStatus): for each scheduled visit and
        status a range of due dates (followup.status_due_ranges), counted from the index on
        (visit, kind, due_date) without reading a row; one query, whatever the number of rows."""
        ranges = status_ranges(today, until, soon_days)
        wanted = [(status, kind, due_range) for (kind, status), due_range in ranges.items() if status in statuses]
        # One COUNT per range, written out once: the ORM spent several milliseconds building the
        # same union from querysets, on every page (the navigation's count).
        table = connection.ops.quote_name(ExpectedVisit._meta.db_table)
        count_one = (
            f"SELECT %s, COUNT(*) FROM {table} WHERE visit_id IS NULL AND kind = %s AND due_date BETWEEN %s AND %s"
        )
        params = [value for status, kind, (lo, hi) in wanted for value in (status.value, kind.value, lo, hi)]
        counts = dict.fromkeys((status.value for status in statuses), 0)
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join([count_one] * len(wanted)), params)
            for status, rows in cursor.fetchall():
                counts[status] += rows
        return counts


def status_ranges(
    today: datetime.date, until: datetime.date, soon_days: int
) -> dict[tuple[followup.VisitKind, followup.DueStatus], tuple[datetime.date, datetime.date]]:
    """followup.status_due_ranges for this clinic's schedule and worklist settings."""
    return followup.status_due_ranges(
        visit_schedule(), today, until, soon_days=soon_days, overdue_days=settings.NASOVCF_WORKLIST_OVERDUE_DAYS
    )


class ExpectedVisit(models.Model):
    """One scheduled visit a fracture under conservative care is expected to have, with its window
    and the visit that fulfilled it (as edc-appointment stores appointments). Derived rows: kept in
    step by services.refresh_course, recomputed by `manage.py refresh_expected_visits` when the
    window settings change; the worklist is a query on them."""

    fracture = models.ForeignKey(
        Fracture, verbose_name=_("fracture"), on_delete=models.CASCADE, related_name="expected_visits"
    )
    kind = models.CharField(
        verbose_name=_("kind"), max_length=12, choices=[(kind.value, kind.label) for kind in SCHEDULED_KINDS]
    )
    due_date = models.DateField(verbose_name=_("due date"))
    window_opens = models.DateField(verbose_name=_("window opens"))
    window_closes = models.DateField(verbose_name=_("window closes"))
    listed_until = models.DateField(
        verbose_name=_("listed until"), help_text=_("The last day the worklist lists it if it is not recorded.")
    )
    # The visit that fulfilled it; indexed by expected_visit_open, whose first column it is.
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    objects = ExpectedVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("expected visit")
        verbose_name_plural = _("expected visits")
        ordering = ["due_date", "pk"]
        constraints = [models.UniqueConstraint(fields=["fracture", "kind"], name="one_expected_visit_of_each_kind")]
        indexes = [
            # The worklist: visits not yet recorded (visit IS NULL) in due order; a page reads one
            # range of it (ExpectedVisitQuerySet.in_status), the dates it tests in the index.
            models.Index(
                fields=["visit", "due_date", "window_opens", "window_closes", "listed_until"],
                name="expected_visit_open",
            ),
            # The worklist's counts: each scheduled visit's open rows by due date (status_counts).
            models.Index(fields=["visit", "kind", "due_date"], name="expected_visit_kind_due"),
        ]

    def __str__(self) -> str:
        return f"{self.fracture} · {self.get_kind_display()} visit due {self.due_date:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return self.fracture.get_absolute_url()


class Submission(models.Model):
    """A form that saved, by its one-time token: a second submission of the same form (a
    double-click, a resent request) finds it and goes where the first went, saving nothing
    (services.claim_submission)."""

    token = models.UUIDField(verbose_name=_("token"), unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    result_url = models.CharField(verbose_name=_("result url"), max_length=2200, blank=True)
    # What was sent (a hash): the same form sent again with other values (restored by the browser's
    # Back button and changed) is refused with a message, not silently dropped.
    data_digest = models.CharField(verbose_name=_("data digest"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")

    def __str__(self) -> str:
        return str(self.token)


class FilmSource(models.TextChoices):
    UPLOAD = "upload", _("Uploaded")
    PACS = "pacs", _("From the PACS")


class FilmQuerySet(models.QuerySet):
    def active(self) -> FilmQuerySet:
        return self.filter(archived_at__isnull=True)


class Film(Tracked, Archivable):
    """A lateral radiograph of a patient's fracture: an assessment's baseline film (visit empty), a
    visit's follow-up film, or, before the assessment is saved, the film a new assessment is
    measured on (fracture empty: the assessment that saves its values takes it). The file and its
    decoded pixels live under settings.FILMS_DIR/<storage_key>/ (0700, files 0600: patient data),
    served only through the signed-in film views (scoring.films)."""

    patient = models.ForeignKey(Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="films")
    fracture = models.ForeignKey(
        Fracture, verbose_name=_("fracture"), on_delete=models.PROTECT, null=True, blank=True, related_name="films"
    )
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, null=True, blank=True, related_name="films"
    )
    storage_key = models.UUIDField(verbose_name=_("storage key"), unique=True, editable=False)
    source = models.CharField(verbose_name=_("source"), max_length=8, choices=FilmSource.choices)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_format = models.CharField(verbose_name=_("file format"), max_length=8)  # "dicom", "png", "jpeg" (films.sniff)
    size_bytes = models.PositiveBigIntegerField(verbose_name=_("size bytes"))
    sha256 = models.CharField(verbose_name=_("sha256"), max_length=64)
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    # Spec §9: PixelSpacing (0028,0030), else ImagerPixelSpacing (0018,1164); empty: heights in px.
    pixel_spacing_row_mm = models.DecimalField(
        verbose_name=_("pixel spacing row mm"), max_digits=12, decimal_places=8, null=True, blank=True
    )
    pixel_spacing_column_mm = models.DecimalField(
        verbose_name=_("pixel spacing column mm"), max_digits=12, decimal_places=8, null=True, blank=True
    )
    spacing_tag = models.CharField(verbose_name=_("spacing tag"), max_length=24, blank=True)
    window_center = models.FloatField(verbose_name=_("window center"))
    window_width = models.FloatField(verbose_name=_("window width"))
    value_min = models.FloatField(verbose_name=_("value min"))
    value_max = models.FloatField(verbose_name=_("value max"))
    transfer_syntax = models.CharField(verbose_name=_("transfer syntax"), max_length=100, blank=True)
    study_instance_uid = models.CharField(_("Study Instance UID"), max_length=64, blank=True)
    series_instance_uid = models.CharField(_("Series Instance UID"), max_length=64, blank=True)
    sop_instance_uid = models.CharField(_("SOP Instance UID"), max_length=64, blank=True)
    # As the DICOM names its patient; compared with the record's MRN and name at upload.
    file_patient_id = models.CharField(_("PatientID in the file"), max_length=64, blank=True)
    file_patient_name = models.CharField(_("PatientName in the file"), max_length=200, blank=True)
    # What differed from the record, which the user confirmed to keep the film anyway ("" if nothing).
    identity_mismatch_confirmed = models.CharField(
        verbose_name=_("identity mismatch confirmed"), max_length=500, blank=True, editable=False
    )

    objects = FilmQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("film")
        verbose_name_plural = _("films")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["fracture", "visit"], name="film_fracture_visit")]

    def __str__(self) -> str:
        if self.fracture_id is None:
            return f"{self.patient.mrn} · film for a new assessment"
        film = f"{self.visit.get_kind_display()} visit film" if self.visit_id else "baseline film"
        return f"{self.fracture} · {film}"

    def get_absolute_url(self) -> str:
        return reverse("scoring:film_detail", args=[self.pk])

    @property
    def directory(self):
        return settings.FILMS_DIR / str(self.storage_key)

    @property
    def pixel_spacing_mm(self) -> tuple[Decimal, Decimal] | None:
        if self.pixel_spacing_row_mm is None or self.pixel_spacing_column_mm is None:
            return None
        return (self.pixel_spacing_row_mm, self.pixel_spacing_column_mm)

    @property
    def record(self) -> Fracture | Visit | None:
        """The assessment or visit whose measurement fields this film's readings fill (None: a new
        assessment's, not saved yet)."""
        return self.visit if self.visit_id else self.fracture

    @property
    def owner(self) -> Patient | Fracture:
        """What the film belongs to: its assessment, or its patient before the assessment exists."""
        return self.fracture if self.fracture_id else self.patient

    @property
    def archived_record(self) -> Patient | Fracture | None:
        """A film is read-only while its assessment or patient is archived (a removed film, itself
        archived, is shown nowhere: its views answer 404)."""
        return self.owner.archived_record


class FilmReading(Tracked):
    """One reader's twelve corners on a film (spec §9) and what `radiograph.measure` computed from
    them, kept with the reader: anyone can see where the film was measured."""

    class Reader(models.IntegerChoices):
        FIRST = 1, _("First reader")
        SECOND = 2, _("Second reader")

    film = models.ForeignKey(Film, verbose_name=_("film"), on_delete=models.PROTECT, related_name="readings")
    reader = models.PositiveSmallIntegerField(verbose_name=_("reader"), choices=Reader.choices)
    reader_name = models.CharField(verbose_name=_("reader name"), max_length=100)
    points = models.JSONField(
        verbose_name=_("points"), help_text=_("Spec §9: vertebra → corner → [x, y] in the film's pixels.")
    )
    unit = models.CharField(verbose_name=_("unit"), max_length=2)  # "mm" with a pixel spacing, else "px"
    fractured_anterior = models.DecimalField(verbose_name=_("fractured anterior"), max_digits=12, decimal_places=2)
    fractured_posterior = models.DecimalField(verbose_name=_("fractured posterior"), max_digits=12, decimal_places=2)
    cranial_anterior = models.DecimalField(verbose_name=_("cranial anterior"), max_digits=12, decimal_places=2)
    cranial_posterior = models.DecimalField(verbose_name=_("cranial posterior"), max_digits=12, decimal_places=2)
    caudal_anterior = models.DecimalField(verbose_name=_("caudal anterior"), max_digits=12, decimal_places=2)
    caudal_posterior = models.DecimalField(verbose_name=_("caudal posterior"), max_digits=12, decimal_places=2)
    vhl_percent = models.DecimalField(_("VHL (%)"), max_digits=8, decimal_places=1)
    kyphosis_angle_deg = models.DecimalField(_("kyphosis angle (°)"), max_digits=5, decimal_places=1)
    genant_grade = models.PositiveSmallIntegerField(verbose_name=_("genant grade"))
    anterior_reduction_percent = models.DecimalField(
        verbose_name=_("anterior reduction percent"), max_digits=8, decimal_places=1
    )
    posterior_reduction_percent = models.DecimalField(
        verbose_name=_("posterior reduction percent"), max_digits=8, decimal_places=1
    )

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("film reading")
        verbose_name_plural = _("film readings")
        ordering = ["film", "reader"]
        constraints = [models.UniqueConstraint(fields=["film", "reader"], name="one_reading_per_reader")]

    def __str__(self) -> str:
        return f"{self.film} · {self.get_reader_display().lower()}"

    @property
    def heights(self) -> measurements.VertebralHeights:
        return measurements.VertebralHeights(*(getattr(self, name) for name in measurements.HEIGHT_FIELDS))


class UserLanguage(models.Model):
    """The language a user chose with the navigation bar's switch (issue 16): English or 简体中文,
    theirs at every sign-in on any computer. A user who never chose sees their browser's language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    language = models.CharField(verbose_name=_("language"), max_length=10, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("user language")
        verbose_name_plural = _("user languages")

    def __str__(self) -> str:
        return f"{self.user} → {self.language}"
