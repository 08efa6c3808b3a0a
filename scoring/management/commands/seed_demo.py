"""Fill the database with a synthetic demo cohort (MRNs DEMO-…) that follows the paper's figures
(spec §5): the share of each risk group, the non-union and progressive-kyphosis rates per group,
and the radiographic course, with visits at plausible dates. Every score is computed by the rules.

It refuses to mix demo patients into a database that holds real ones unless told to.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from scoring import measurements, paper, rules, services
from scoring.models import ExpectedVisit, Fracture, Patient, PatientNameWord, Visit

DEMO_REASON = "Demo data (seed_demo)"

DEMO_PREFIX = "DEMO-"
# The paper's figures (spec §5), from the one place they are kept.
GROUP_SHARES = {group.value: outcomes.n for group, outcomes in paper.DERIVATION_COHORT.items()}
NON_UNION = {group.value: outcomes.non_union.rate for group, outcomes in paper.DERIVATION_COHORT.items()}
PROGRESSIVE = {group.value: outcomes.progressive_kyphosis.rate for group, outcomes in paper.DERIVATION_COHORT.items()}
TOTALS = {"low": {0: 1}, "medium": {2: 0.6, 4: 0.4}, "high": {6: 0.45, 8: 0.3, 10: 0.2, 12: 0.05}}
# The VHL difference at 6 months by group: the paper's median, and a spread of the demo's own.
VHL_SPREAD = {"low": 0.6, "medium": 2.5, "high": 8.0}
VHL_DIFFERENCE = {
    group.value: (figure.median, VHL_SPREAD[group.value])
    for group, figure in paper.RADIOGRAPHIC_DIFFERENCE["vhl_percent"].items()
}
KA_DIFFERENCE_NOT_PROGRESSIVE = {"low": (0.9, 0.8), "medium": (2.95, 2.0), "high": (6.0, 2.5)}
BATCH = 2000
OF_BY_GROUP = {"low": ["OF1", "OF2", "OF2"], "medium": ["OF2", "OF3", "OF3"], "high": ["OF3", "OF4", "OF4", "OF5"]}


def tenth(value: float) -> Decimal:
    return rules.round_to_tenth(Decimal(repr(value)))


def one_reader(record) -> None:
    """A film one reader measured: their own values are the film's, kept beside it as the forms
    keep them (TwoReaderFields.apply_readers), so a demo record reads like one saved through them."""
    record.first_vhl_percent = record.vhl_percent
    record.first_kyphosis_angle_deg = record.kyphosis_angle_deg


class Command(BaseCommand):
    help = "Create a synthetic demo cohort (MRNs DEMO-…) that follows the paper's figures."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--seed", type=int, default=2025, help="random seed, for a repeatable cohort")
        parser.add_argument(
            "--allow-mixed", action="store_true", help="add demo patients even though the database holds real ones"
        )

    def handle(self, *args, patients, seed, allow_mixed, **options):
        if not 1 <= patients <= 200_000:
            raise CommandError("--patients takes 1 to 200000.")
        if Patient.objects.exclude(mrn__startswith=DEMO_PREFIX).exists() and not allow_mixed:
            raise CommandError(
                "This database holds real patients: demo data would mix into their cohort and lists. "
                "Use a separate database, or --allow-mixed if you really mean it."
            )
        rng = random.Random(seed)
        user = self.demo_user()
        last = (
            Patient.objects.filter(mrn__startswith=DEMO_PREFIX).order_by("-mrn").values_list("mrn", flat=True).first()
        )
        start_number = int(last.removeprefix(DEMO_PREFIX)) + 1 if last else 1
        today = timezone.localdate()
        with transaction.atomic():
            for first in range(0, patients, BATCH):
                count = min(BATCH, patients - first)
                self.make_batch(rng, user, start_number + first, count, today)
        self.stdout.write(f"Created {patients} demo patients ({DEMO_PREFIX}…), each with a fracture and its visits.")

    def demo_user(self):
        """Demo rows are attributed to an inactive account of their own, never to a person."""
        user, _ = get_user_model().objects.get_or_create(username="demo-data", defaults={"is_active": False})
        return user

    def make_batch(self, rng, user, first_number, count, today):
        patients = []
        plans = []
        for number in range(first_number, first_number + count):
            age = rng.randint(60, 92)
            assessed = today - datetime.timedelta(days=rng.randint(0, 730))
            birthday = assessed - datetime.timedelta(days=rng.randint(1, 364))  # the last birthday
            born = (
                birthday.replace(year=birthday.year - age)
                if not (birthday.month == 2 and birthday.day == 29)
                else datetime.date(birthday.year - age, 2, 28)
            )
            patients.append(
                Patient(
                    mrn=f"{DEMO_PREFIX}{number:06d}",
                    name=f"Demo Patient {number}",
                    sex="F" if rng.random() < 0.8 else "M",
                    date_of_birth=born,
                    created_by=user,
                    updated_by=user,
                )
            )
            plans.append(assessed)
        # With their history, as every write keeps it: the cohort report's cache key is the newest history row.
        bulk_create_with_history(patients, Patient, default_user=user, default_change_reason=DEMO_REASON)
        PatientNameWord.objects.bulk_create(
            [word for patient in patients for word in PatientNameWord.rows_for(patient)]
        )
        fractures, visit_plans = [], []
        for patient, assessed in zip(patients, plans, strict=True):
            fracture, visits = self.make_fracture(rng, user, patient, assessed, today)
            fractures.append(fracture)
            visit_plans.append(visits)
        bulk_create_with_history(fractures, Fracture, default_user=user, default_change_reason=DEMO_REASON)
        visits = []
        for fracture, planned in zip(fractures, visit_plans, strict=True):
            for visit in planned:
                visit.fracture = fracture
                visits.append(visit)
        bulk_create_with_history(visits, Visit, default_user=user, default_change_reason=DEMO_REASON)
        # The expected visits as the services keep them, linked to the visits just made.
        expected = []
        for fracture, planned in zip(fractures, visit_plans, strict=True):
            expected += services.expected_visits_of(fracture, planned)
        ExpectedVisit.objects.bulk_create(expected)

    def make_fracture(self, rng, user, patient, assessed, today):
        group = rng.choices(list(GROUP_SHARES), weights=list(GROUP_SHARES.values()))[0]
        total = rng.choices(list(TOTALS[group]), weights=list(TOTALS[group].values()))[0]
        points = self.items_for(rng, total)
        # Below the cut, values lean low as the paper's medians do (beta-shaped); above it, a tail.
        vhl = tenth(15 + min(rng.expovariate(1 / 7), 40)) if points["vhl"] else tenth(14.9 * rng.betavariate(1.2, 3.5))
        heights = self.heights_for(rng, vhl) if rng.random() < 0.4 else None
        if heights is not None:
            vhl = measurements.vhl_from_heights(heights)
        ka = tenth(15 + min(rng.expovariate(1 / 5), 30)) if points["ka"] else tenth(14.9 * rng.betavariate(1.3, 3.5))
        bmd = {4: tenth(rng.uniform(-5.0, -3.5)), 2: tenth(rng.uniform(-3.4, -2.5)), 0: tenth(rng.uniform(-2.4, -1.0))}
        t2 = "diffuse_low" if points["t2"] else rng.choice(["confined_low", "diffuse_high", "confined_high"])
        conservative = rng.random() < 0.9
        fracture = Fracture(
            patient=patient,
            assessment_date=assessed,
            treatment_start_date=assessed,
            level=rng.choices(["T11", "T12", "L1", "L2", "T10", "L3"], weights=[20, 30, 30, 12, 4, 4])[0],
            injury_date=assessed - datetime.timedelta(days=rng.randint(1, 14)),
            low_energy_trauma=rng.random() < 0.97,
            fracture_type="burst" if points["type"] else "compression",
            vhl_percent=vhl,
            vhl_entered_percent=None if heights else vhl,
            kyphosis_angle_deg=ka,
            t2_signal=t2,
            bmd_t_score=bmd[points["bmd"]],
            of_class=rng.choice(OF_BY_GROUP[group]) if rng.random() < 0.6 else "",
            vas_pain=tenth(rng.uniform(5, 9.5)),
            odi_percent=tenth(rng.uniform(35, 85)),
            height_cm=tenth(rng.uniform(145, 175)),
            weight_kg=tenth(rng.uniform(42, 80)),
            treatment="conservative" if conservative else rng.choice(["vertebroplasty", "kyphoplasty"]),
            created_by=user,
            updated_by=user,
        )
        fracture.patient = patient
        if heights is not None:
            for name, value in zip(measurements.HEIGHT_FIELDS, heights.__dict__.values(), strict=True):
                setattr(fracture, f"{name}_mm", value)
        fracture.apply_genant()
        if heights is None and rng.random() < 0.3:  # a second reader; the recorded value stays their mean
            self.second_reader(rng, fracture)
        else:
            one_reader(fracture)
        fracture.rescore()
        assert fracture.total_score == total, "the demo inputs must score as planned"
        visits = self.make_visits(rng, user, fracture, group, today) if conservative else []
        fracture.refresh_outcomes(visits)  # the course as the app computes it, from the visits' dates
        return fracture, visits

    def heights_for(self, rng, vhl: Decimal) -> measurements.VertebralHeights:
        """Six heights whose VHL (spec §2) rounds to the planned value's side of 15 %."""
        neighbour = Decimal(str(round(rng.uniform(24, 32), 1)))
        fractured_mean = neighbour * (1 - vhl / 100)
        wedge = Decimal(str(round(rng.uniform(0, 0.25), 2))) * fractured_mean
        heights = measurements.VertebralHeights(
            (fractured_mean - wedge).quantize(Decimal("0.01")),
            (fractured_mean + wedge).quantize(Decimal("0.01")),
            neighbour,
            neighbour,
            neighbour,
            neighbour,
        )
        computed = measurements.vhl_from_heights(heights)
        same_side = (computed >= rules.VHL_THRESHOLD_PERCENT) == (vhl >= rules.VHL_THRESHOLD_PERCENT)
        return heights if same_side and heights.fractured_anterior > 0 else None

    def second_reader(self, rng, fracture) -> None:
        half_vhl = Decimal(rng.randint(-15, 15)) / 10
        half_ka = Decimal(rng.randint(-15, 15)) / 10
        fracture.first_reader_name, fracture.second_reader_name = "Demo reader A", "Demo reader B"
        fracture.first_vhl_percent, fracture.second_vhl_percent = (
            fracture.vhl_percent - half_vhl,
            fracture.vhl_percent + half_vhl,
        )
        fracture.first_kyphosis_angle_deg = fracture.kyphosis_angle_deg - half_ka
        fracture.second_kyphosis_angle_deg = fracture.kyphosis_angle_deg + half_ka
        fracture.second_vhl_entered_percent = fracture.second_vhl_percent
        fracture.vhl_entered_percent = fracture.first_vhl_percent  # what the first reader typed

    def items_for(self, rng, total):
        """Which items score, so that they add up to `total` (spec §1's table)."""
        while True:
            bmd = rng.choice([b for b in (0, 2, 4) if 0 <= total - b <= 8])
            others = rng.sample(["type", "vhl", "ka", "t2"], (total - bmd) // 2)
            return {"bmd": bmd, **{item: item in others for item in ("type", "vhl", "ka", "t2")}}

    def make_visits(self, rng, user, fracture, group, today):
        start = fracture.treatment_start_date
        non_union = rng.random() < NON_UNION[group]
        progressive = rng.random() < PROGRESSIVE[group]
        if progressive:
            ka_diff_6m = rng.uniform(10.5, 20)
        else:
            centre, spread = KA_DIFFERENCE_NOT_PROGRESSIVE[group]
            ka_diff_6m = min(9.9, max(0.0, rng.gauss(centre, spread)))
        centre, spread = VHL_DIFFERENCE[group]
        vhl_diff_6m = max(0.0, rng.gauss(centre, spread))
        vas, odi = float(fracture.vas_pain), float(fracture.odi_percent)
        visits = []
        for kind, offset, jitter, share in (("1m", 30, 5, 0.3), ("3m", 90, 7, 0.6), ("6m", 180, 14, 1.0)):
            day = start + datetime.timedelta(days=offset + rng.randint(-jitter, jitter))
            if day > today:
                break
            vas, odi = max(0.0, vas - rng.uniform(0.5, 2.5)), max(0.0, odi - rng.uniform(3, 12))
            visit = Visit(
                kind=kind, visit_date=day, vas_pain=tenth(vas), odi_percent=tenth(odi), created_by=user, updated_by=user
            )
            if kind in ("3m", "6m"):
                ka = min(90.0, float(fracture.kyphosis_angle_deg) + ka_diff_6m * share)
                vhl = min(99.0, float(fracture.vhl_percent) + vhl_diff_6m * share)
                visit.kyphosis_angle_deg, visit.vhl_percent = tenth(ka), tenth(vhl)
                visit.vhl_entered_percent = visit.vhl_percent
                one_reader(visit)
            if kind == "6m":
                visit.bone_union = "non_union" if non_union else "united"
                visit.vacuum_cleft_mri = non_union
            visit.fracture = fracture
            visits.append(visit)
        return visits
