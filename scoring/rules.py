"""The NASOVCF score (Han et al., Sci Rep 2025), as restated in shared/nasovcf-spec.md §1 and §4.

Pure Python: no Django import. Every threshold is a named constant and every rule one function,
so this module reads like the spec's table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from .wording import Text, gettext_noop, text

# Bumped when a rule changes how a saved assessment would score; a saved assessment keeps the
# version it was scored under until it is saved again. 2025.2: the mean of two readers is no
# longer rounded to 0.1 (spec §2, revised Decision).
RULES_VERSION = "NASOVCF-2025.2"

# spec §1, Decision (precision): measured values are recorded, and compared, to 0.1.
TENTH = Decimal("0.1")

VHL_THRESHOLD_PERCENT = Decimal("15.0")
KYPHOSIS_THRESHOLD_DEG = Decimal("15.0")
T_SCORE_OSTEOPENIA_UPPER = Decimal("-1.0")  # T ≤ −1.0: inside the validated population
T_SCORE_OSTEOPOROSIS_UPPER = Decimal("-2.5")  # −3.5 < T ≤ −2.5 scores 2
T_SCORE_SEVERE_UPPER = Decimal("-3.5")  # T ≤ −3.5 scores 4

BURST_POINTS = 2
VHL_POINTS = 2
KYPHOSIS_POINTS = 2
DIFFUSE_LOW_T2_POINTS = 2
OSTEOPOROSIS_POINTS = 2
SEVERE_OSTEOPOROSIS_POINTS = 4

LOW_GROUP_BELOW = 2  # low: total < 2
HIGH_GROUP_ABOVE = 4  # high: total > 4; medium: 2 ≤ total ≤ 4

MAX_TOTAL = BURST_POINTS + VHL_POINTS + KYPHOSIS_POINTS + DIFFUSE_LOW_T2_POINTS + SEVERE_OSTEOPOROSIS_POINTS

# spec §4: the population the score was validated in.
MINIMUM_VALIDATED_AGE_YEARS = 60
VALIDATED_LEVELS = ("T11", "T12", "L1", "L2")
SPINE_LEVELS = tuple(f"T{n}" for n in range(1, 13)) + tuple(f"L{n}" for n in range(1, 6))


class FractureType(StrEnum):
    COMPRESSION = "compression"
    BURST = "burst"

    @property
    def label(self) -> str:
        """The type in words: a msgid (gettext_noop), which the pages translate."""
        return FRACTURE_TYPE_LABELS[self.value]


class T2Signal(StrEnum):
    DIFFUSE_LOW = "diffuse_low"
    CONFINED_LOW = "confined_low"
    DIFFUSE_HIGH = "diffuse_high"
    CONFINED_HIGH = "confined_high"

    @property
    def label(self) -> str:
        """The signal in words: a msgid (gettext_noop), which the pages translate."""
        return T2_SIGNAL_LABELS[self.value]


# The items' words are msgids (gettext_noop): the pages translate them (nasovcf_site.i18n.words),
# a saved assessment keeps the English, which is the msgid.
FRACTURE_TYPE_LABELS = {
    "compression": gettext_noop("compression fracture"),
    "burst": gettext_noop("burst fracture"),
}
T2_SIGNAL_LABELS = {
    "diffuse_low": gettext_noop("diffuse low signal"),
    "confined_low": gettext_noop("confined low signal"),
    "diffuse_high": gettext_noop("diffuse high signal"),
    "confined_high": gettext_noop("confined high signal"),
}
DIFFUSE_LOW_CATEGORY = gettext_noop("diffuse low signal")
NOT_DIFFUSE_LOW_CATEGORY = gettext_noop("not diffuse low")
BMD_OUTSIDE_CATEGORY = gettext_noop("T > −1.0 (outside the validated range)")


class RiskGroup(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def round_to_tenth(value: Decimal) -> Decimal:
    """Round half-up to 0.1, so the value shown is the value scored (spec §1, Decision). A value
    that rounds to zero is 0.0, never −0.0."""
    return value.quantize(TENTH, rounding=ROUND_HALF_UP) + 0


HUNDREDTH = Decimal("0.01")


def as_recorded(value: Decimal) -> Decimal:
    """A mean of two readers as it is, not rounded (spec §2, revised Decision): each reading is to
    0.1, so the mean falls on 0.05 steps. Written to 0.1 when its second decimal is 0 (16.70 →
    16.7), else to 0.01 (14.95)."""
    hundredths = value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP) + 0  # never −0.00
    tenths = hundredths.quantize(TENTH)
    return tenths if tenths == hundredths else hundredths


def film_value(value: Decimal, mean_of_two_readers: bool) -> Decimal:
    """A film's VHL or kyphosis angle as scored: one reader's value rounded half-up to 0.1 (spec
    §1), the mean of two readers kept as it is (spec §2): 14.95 % scores 0 as a mean, 2 as one
    reader's typed 14.95."""
    return as_recorded(value) if mean_of_two_readers else round_to_tenth(value)


@dataclass(frozen=True)
class ScoreInputs:
    """What the score reads; measured values as Decimal. `score()` rounds one reader's VHL and
    angle, and the T-score, half-up to 0.1; a mean of two readers it keeps as it is."""

    fracture_type: FractureType
    vhl_percent: Decimal
    kyphosis_angle_deg: Decimal
    t2_signal: T2Signal
    bmd_t_score: Decimal
    # Only for the validated-population warnings (spec §4); None means unknown.
    age_years: int | None = None
    level: str | None = None
    low_energy_trauma: bool | None = None
    conservative_treatment: bool | None = None
    # The VHL or angle is the mean of two readers (spec §2): kept as it is, not rounded to 0.1.
    vhl_is_mean_of_readers: bool = False
    kyphosis_is_mean_of_readers: bool = False


@dataclass(frozen=True)
class Component:
    """One item of the score: the value as recorded and scored, its category and its points."""

    value: Decimal | str
    category: str
    points: int


@dataclass(frozen=True)
class PopulationWarning:
    """A validated-population criterion the patient falls outside of (spec §4): its code, and its
    sentence as a Text (the pages say it in the reader's language; `message` is the English)."""

    code: str
    text: Text

    @property
    def message(self) -> str:
        return str(self.text)

    @property
    def params(self) -> dict[str, object]:
        """The values the sentence names (the T-score, the age, the level), as plain JSON values."""
        return dict(self.text.params)


@dataclass(frozen=True)
class ScoreResult:
    fracture_type: Component
    vertebral_height_loss: Component
    kyphosis_angle: Component
    t2_signal: Component
    bmd: Component
    total: int
    group: RiskGroup
    warnings: tuple[PopulationWarning, ...]
    rules_version: str = RULES_VERSION

    @property
    def components(self) -> dict[str, Component]:
        """The five items by their API names, in the spec's order."""
        return {
            "fracture_type": self.fracture_type,
            "vertebral_height_loss": self.vertebral_height_loss,
            "kyphosis_angle": self.kyphosis_angle,
            "t2_signal": self.t2_signal,
            "bmd": self.bmd,
        }

    def components_record(self) -> dict[str, dict[str, object]]:
        """The breakdown as plain values: what an assessment keeps and a page shows."""
        return {
            name: {"value": component.value, "category": component.category, "points": component.points}
            for name, component in self.components.items()
        }

    def warnings_record(self) -> list[dict[str, object]]:
        """The warnings as an assessment keeps them: the code, the English message and, so a page
        can say it in another language, the values it names (`params`; absent from older rows)."""
        return [
            {"code": warning.code, "message": warning.message, "params": warning.params} for warning in self.warnings
        ]


def fracture_type_points(fracture_type: FractureType) -> int:
    """A burst fracture scores 2, a compression fracture 0 (spec §1)."""
    return BURST_POINTS if fracture_type is FractureType.BURST else 0


def height_loss_points(vhl_percent: Decimal) -> int:
    """Vertebral height loss of 15 % or more scores 2 (spec §1)."""
    return VHL_POINTS if vhl_percent >= VHL_THRESHOLD_PERCENT else 0


def kyphosis_points(kyphosis_angle_deg: Decimal) -> int:
    """A local kyphosis angle of 15° or more scores 2 (spec §1)."""
    return KYPHOSIS_POINTS if kyphosis_angle_deg >= KYPHOSIS_THRESHOLD_DEG else 0


def t2_signal_points(t2_signal: T2Signal) -> int:
    """Only diffuse low signal on T2WI scores, 2 points (spec §1)."""
    return DIFFUSE_LOW_T2_POINTS if t2_signal is T2Signal.DIFFUSE_LOW else 0


def bmd_points(t_score: Decimal) -> int:
    """T ≤ −3.5 scores 4; −3.5 < T ≤ −2.5 scores 2; above −2.5 scores 0 (spec §1)."""
    if t_score <= T_SCORE_SEVERE_UPPER:
        return SEVERE_OSTEOPOROSIS_POINTS
    if t_score <= T_SCORE_OSTEOPOROSIS_UPPER:
        return OSTEOPOROSIS_POINTS
    return 0


def risk_group(total: int) -> RiskGroup:
    """Low below 2, medium from 2 to 4, high above 4 (spec §1, risk groups)."""
    if total < LOW_GROUP_BELOW:
        return RiskGroup.LOW
    if total > HIGH_GROUP_ABOVE:
        return RiskGroup.HIGH
    return RiskGroup.MEDIUM


def height_loss_category(vhl_percent: Decimal) -> str:
    return "≥ 15 %" if vhl_percent >= VHL_THRESHOLD_PERCENT else "< 15 %"


def kyphosis_category(kyphosis_angle_deg: Decimal) -> str:
    return "≥ 15°" if kyphosis_angle_deg >= KYPHOSIS_THRESHOLD_DEG else "< 15°"


def bmd_category(t_score: Decimal) -> str:
    if t_score <= T_SCORE_SEVERE_UPPER:
        return "T ≤ −3.5"
    if t_score <= T_SCORE_OSTEOPOROSIS_UPPER:
        return "−3.5 < T ≤ −2.5"
    if t_score <= T_SCORE_OSTEOPENIA_UPPER:
        return "−2.5 < T ≤ −1.0"
    return BMD_OUTSIDE_CATEGORY


def population_warnings(inputs: ScoreInputs, bmd_t_score: Decimal) -> tuple[PopulationWarning, ...]:
    """One warning per validated-population criterion the patient falls outside of (spec §4)."""
    warnings = []
    if bmd_t_score > T_SCORE_OSTEOPENIA_UPPER:
        warnings.append(population_warning("bmd_above_inclusion", t_score=format_signed(bmd_t_score)))
    if inputs.age_years is not None and inputs.age_years < MINIMUM_VALIDATED_AGE_YEARS:
        warnings.append(population_warning("age_below_inclusion", age=inputs.age_years))
    if inputs.level is not None and inputs.level not in VALIDATED_LEVELS:
        warnings.append(population_warning("level_outside_validated", level=inputs.level))
    if inputs.low_energy_trauma is False:
        warnings.append(population_warning("high_energy_trauma"))
    if inputs.conservative_treatment is False:
        warnings.append(population_warning("treatment_not_conservative"))
    return tuple(warnings)


# The population warnings' sentences by code (msgids; the pages translate them with the values).
POPULATION_WARNING_MESSAGES = {
    "bmd_above_inclusion": gettext_noop(
        "T-score %(t_score)s is above −1.0: the score was validated only in patients with T ≤ −1.0."
    ),
    "age_below_inclusion": gettext_noop(
        "Age %(age)s is below 60: the score was validated only in patients aged 60 or over."
    ),
    "level_outside_validated": gettext_noop(
        "Level %(level)s is outside T11–L2, the only levels in the validation cohort."
    ),
    "high_energy_trauma": gettext_noop(
        "High-energy trauma: the score was validated only in low-energy (fragility) fractures."
    ),
    "treatment_not_conservative": gettext_noop(
        "The treatment chosen is not conservative: the score and the cohort's rates describe the course "
        "under conservative treatment."
    ),
}


def population_warning(code: str, **params: object) -> PopulationWarning:
    """The warning of `code` with the values its sentence names."""
    return PopulationWarning(code, text(POPULATION_WARNING_MESSAGES[code], **params))


def format_signed(value: Decimal) -> str:
    """Show a signed number with a true minus sign, as the spec writes T-scores."""
    return str(value).replace("-", "−")


def score(inputs: ScoreInputs) -> ScoreResult:
    """Score one fracture: the five items, the total, the group and the population warnings."""
    vhl = film_value(inputs.vhl_percent, inputs.vhl_is_mean_of_readers)
    kyphosis = film_value(inputs.kyphosis_angle_deg, inputs.kyphosis_is_mean_of_readers)
    t_score = round_to_tenth(inputs.bmd_t_score)
    fracture_type = FractureType(inputs.fracture_type)
    t2_signal = T2Signal(inputs.t2_signal)

    components = (
        Component(fracture_type.value, fracture_type.label, fracture_type_points(fracture_type)),
        Component(vhl, height_loss_category(vhl), height_loss_points(vhl)),
        Component(kyphosis, kyphosis_category(kyphosis), kyphosis_points(kyphosis)),
        Component(
            t2_signal.value,
            DIFFUSE_LOW_CATEGORY if t2_signal is T2Signal.DIFFUSE_LOW else NOT_DIFFUSE_LOW_CATEGORY,
            t2_signal_points(t2_signal),
        ),
        Component(t_score, bmd_category(t_score), bmd_points(t_score)),
    )
    total = sum(component.points for component in components)
    return ScoreResult(
        *components,
        total=total,
        group=risk_group(total),
        warnings=population_warnings(inputs, t_score),
    )
