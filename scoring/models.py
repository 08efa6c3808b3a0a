"""Patients and their fractures: each Fracture is one episode with its baseline NASOVCF assessment."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse

from . import measurements, rules


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"


class Treatment(models.TextChoices):
    CONSERVATIVE = "conservative", "Conservative"
    VERTEBROPLASTY = "vertebroplasty", "Vertebroplasty"
    KYPHOPLASTY = "kyphoplasty", "Kyphoplasty"
    OPEN_SURGERY = "open_surgery", "Open surgery"
    OTHER = "other", "Other"


class FractureType(models.TextChoices):
    COMPRESSION = rules.FractureType.COMPRESSION.value, "Compression fracture"
    BURST = rules.FractureType.BURST.value, "Burst fracture"


class T2Signal(models.TextChoices):
    DIFFUSE_LOW = rules.T2Signal.DIFFUSE_LOW.value, "Diffuse low"
    CONFINED_LOW = rules.T2Signal.CONFINED_LOW.value, "Confined low"
    DIFFUSE_HIGH = rules.T2Signal.DIFFUSE_HIGH.value, "Diffuse high"
    CONFINED_HIGH = rules.T2Signal.CONFINED_HIGH.value, "Confined high"


class RiskGroup(models.TextChoices):
    LOW = rules.RiskGroup.LOW.value, "Low"
    MEDIUM = rules.RiskGroup.MEDIUM.value, "Medium"
    HIGH = rules.RiskGroup.HIGH.value, "High"


SPINE_LEVEL_CHOICES = [(level, level) for level in rules.SPINE_LEVELS]

mrn_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9./-]*$",
    "Use letters, digits, '-', '/' or '.', starting with a letter or digit.",
    code="invalid_mrn",
)


class Tracked(models.Model):
    """When a row was made and changed, and by whom."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        abstract = True


class PatientQuerySet(models.QuerySet):
    def search(self, text: str) -> PatientQuerySet:
        """Patients whose MRN or name contains the text (case-insensitive)."""
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(mrn__icontains=text) | Q(name__icontains=text))

    def with_latest_assessment(self) -> PatientQuerySet:
        """Annotate each patient with the score and group of their latest assessment (one query)."""
        latest = Fracture.objects.filter(patient=OuterRef("pk")).order_by("-assessment_date", "-pk")
        return self.annotate(
            latest_fracture_id=Subquery(latest.values("pk")[:1]),
            latest_total=Subquery(latest.values("total_score")[:1]),
            latest_group=Subquery(latest.values("risk_group")[:1]),
            latest_assessment_date=Subquery(latest.values("assessment_date")[:1]),
        )


class Patient(Tracked):
    mrn = models.CharField(
        "MRN",
        max_length=32,
        unique=True,
        validators=[mrn_validator],
        help_text="Medical record number, unique in the clinic. Stored in capitals.",
    )
    name = models.CharField(max_length=200, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField()

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["mrn"]

    def __str__(self) -> str:
        return f"{self.mrn} {self.name}".strip()

    def get_absolute_url(self) -> str:
        return reverse("scoring:patient_detail", args=[self.pk])

    def age_on(self, day: datetime.date) -> int:
        return measurements.age_in_years(self.date_of_birth, day)


class Fracture(Tracked):
    """One fracture episode and its baseline (pretreatment) NASOVCF assessment."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="fractures")
    assessment_date = models.DateField()
    level = models.CharField(max_length=3, choices=SPINE_LEVEL_CHOICES)
    injury_date = models.DateField(null=True, blank=True)
    low_energy_trauma = models.BooleanField(
        "low-energy trauma", help_text="A fall from standing height or less, or no trauma."
    )
    fracture_type = models.CharField(max_length=16, choices=FractureType.choices)

    # VHL: entered as a percentage, or computed from the six heights (spec §2); never both.
    vhl_entered_percent = models.DecimalField(
        "VHL entered (%)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    fractured_anterior_mm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    fractured_posterior_mm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    cranial_anterior_mm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    cranial_posterior_mm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    caudal_anterior_mm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    caudal_posterior_mm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    vhl_percent = models.DecimalField("VHL (%)", max_digits=4, decimal_places=1, editable=False)

    kyphosis_angle_deg = models.DecimalField("kyphosis angle (°)", max_digits=4, decimal_places=1)
    t2_signal = models.CharField("T2 signal", max_length=16, choices=T2Signal.choices)
    bmd_t_score = models.DecimalField("BMD T-score", max_digits=3, decimal_places=1)

    vas_pain = models.DecimalField("VAS pain", max_digits=3, decimal_places=1, null=True, blank=True)
    odi_percent = models.DecimalField("ODI (%)", max_digits=4, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField("height (cm)", max_digits=4, decimal_places=1, null=True, blank=True)
    weight_kg = models.DecimalField("weight (kg)", max_digits=4, decimal_places=1, null=True, blank=True)
    treatment = models.CharField(max_length=16, choices=Treatment.choices)

    # What was computed from the inputs, kept so a saved assessment reads the same if rules change.
    age_at_assessment = models.PositiveSmallIntegerField(editable=False)
    total_score = models.PositiveSmallIntegerField(editable=False)
    risk_group = models.CharField(max_length=6, choices=RiskGroup.choices, editable=False)
    score_components = models.JSONField(encoder=DjangoJSONEncoder, editable=False)
    population_warnings = models.JSONField(encoder=DjangoJSONEncoder, default=list, editable=False)
    rules_version = models.CharField(max_length=32, editable=False)

    class Meta:
        ordering = ["-assessment_date", "-pk"]
        indexes = [
            models.Index(fields=["patient", "-assessment_date"], name="fracture_patient_latest"),
            models.Index(fields=["risk_group"], name="fracture_risk_group"),
        ]

    def __str__(self) -> str:
        return f"{self.patient.mrn} {self.level} {self.assessment_date:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("scoring:fracture_detail", args=[self.pk])

    @property
    def heights(self) -> measurements.VertebralHeights | None:
        values = [getattr(self, f"{name}_mm") for name in measurements.HEIGHT_FIELDS]
        if any(value is None for value in values):
            return None
        return measurements.VertebralHeights(*values)

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
        )

    def rescore(self) -> None:
        """Score the saved inputs again, e.g. after the patient's date of birth was corrected."""
        inputs = self.score_inputs()
        self.apply_score(rules.score(inputs), inputs.age_years)
