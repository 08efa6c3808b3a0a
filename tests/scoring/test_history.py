"""The audit trail in words (scoring/history.py): every field named as a clinician names it, with
its unit; choices, booleans, empty values, dates and the stored breakdowns written out; the reason
given for a change kept; users by their full name; times in the clinic's zone."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from scoring import history, services
from scoring.models import Fracture, Patient, Visit

pytestmark = pytest.mark.django_db

D = Decimal


def lines_of(record) -> list[str]:
    """The change lines of a record's latest version."""
    model = type(record)
    latest, before = record.history.order_by("-history_date", "-history_id")[:2]
    return history.changes(model, latest, before)


def save(record, **values):
    for name, value in values.items():
        setattr(record, name, value)
    record.save()
    return record


@pytest.fixture
def visit(case_two, user):
    return Visit.objects.create(
        fracture=case_two,
        kind="6m",
        visit_date=datetime.date(2025, 9, 10),
        vas_pain=D(5),
        created_by=user,
        updated_by=user,
    )


# -- every field has a name -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", [Patient, Fracture, Visit, Patient.history.model, Fracture.history.model, Visit.history.model]
)
def test_every_field_of_the_records_and_their_history_has_a_readable_name(model):
    unnamed = [field.name for field in model._meta.fields if history.field_text(model, field.name) is None]
    assert unnamed == []
    for field in model._meta.fields:
        label = history._label(model, field.name)
        assert "_" not in label and label[0].isupper(), (field.name, label)
        # Units are written as units, after the value ("12.0 %"), never as words of a column name.
        assert not re.search(r"\b(deg|percent|mm|cm|kg)\b", label), (field.name, label)


# -- the words of each change -----------------------------------------------------------------------


def test_a_second_readers_typed_vhl_is_named_with_its_unit_and_said_once(case_two):
    save(case_two, second_reader_name="Dr Lee", second_vhl_entered_percent=D("12.0"), second_vhl_percent=D("12.0"))
    save(case_two, second_vhl_entered_percent=D("14.0"), second_vhl_percent=D("14.0"))
    assert lines_of(case_two) == ["Second reader's VHL (typed) 12.0 % → 14.0 %"]


def test_one_reader_typing_a_new_vhl_reads_as_one_line_not_three(case_two):
    save(case_two, vhl_entered_percent=D("17.8"), first_vhl_percent=D("17.8"))
    save(case_two, vhl_entered_percent=D("18.0"), first_vhl_percent=D("18.0"), vhl_percent=D("18.0"))
    assert lines_of(case_two) == ["VHL (pretreatment, scored) 17.8 % → 18.0 %"]


def test_with_two_readers_the_mean_and_the_first_readers_own_value_are_both_said(case_two):
    save(case_two, vhl_entered_percent=D("14.0"), first_vhl_percent=D("14.0"), second_vhl_entered_percent=D("16.0"))
    save(case_two, vhl_entered_percent=D("13.9"), first_vhl_percent=D("13.9"), vhl_percent=D("14.95"))
    assert lines_of(case_two) == ["VHL (pretreatment, scored) 17.8 % → 14.95 %", "VHL (typed) 14.0 % → 13.9 %"]


def test_computed_outcomes_are_signed_with_units_and_marked_computed(case_two):
    save(case_two, kyphosis_difference_six_months_deg=D("8.5"), progressive_kyphosis=False)
    save(case_two, kyphosis_difference_six_months_deg=D("12.0"), progressive_kyphosis=True)
    assert lines_of(case_two) == [
        "Kyphosis angle change at 6 months +8.5° → +12.0° (computed)",
        "Progressive kyphosis (course) no → yes (computed)",
    ]


def test_a_choice_reads_as_its_label_and_an_empty_one_as_not_recorded(visit):
    save(visit, bone_union="non_union")
    assert lines_of(visit) == ["Bone union not recorded → non-union"]


def test_booleans_dates_empty_values_and_choices_in_words(case_two):
    save(
        case_two,
        low_energy_trauma=False,
        injury_date=datetime.date(2025, 3, 2),
        t2_signal="confined_high",
        of_class="OF2",
        height_cm=D("152.0"),
    )
    assert lines_of(case_two) == [
        "Injury date — → 2025-03-02",
        "Low-energy trauma yes → no",
        "MRI T2 signal diffuse low → confined high",
        "Height — → 152.0 cm",
        "AO Spine-DGOU class not recorded → OF 2: deformation of one endplate, no or minor (< 1/5) "
        "posterior-wall involvement",
    ]


def test_a_rescore_says_the_points_total_group_and_warnings_in_words(case_two):
    case_two.bmd_t_score = D("-0.5")
    case_two.low_energy_trauma = False
    case_two.rescore()
    case_two.save()
    lines = lines_of(case_two)
    assert lines == [
        "Low-energy trauma yes → no",
        "BMD T-score −3.6 → −0.5",
        "Points for bone mineral density, T-score 4 → 0 (computed)",
        "Total score 10 → 6 (computed)",
        "Population warnings none → T-score above −1.0, high-energy trauma (computed)",
    ]


def test_odi_sections_are_named_one_by_one(case_two):
    save(case_two, odi_sections=[3, 2, None, 4, 2, 2, 1, None, 2, 3], odi_percent=D("47.5"))
    assert lines_of(case_two) == ["ODI — → 47.5 %", "ODI sections not recorded → 8 of 10 sections answered"]
    save(case_two, odi_sections=[3, 2, None, 5, 2, 2, 1, 0, 2, 3], odi_percent=D("44.4"))
    assert lines_of(case_two) == ["ODI 47.5 % → 44.4 %", "ODI section walking 4 → 5", "ODI section sex life — → 0"]


def test_no_line_shows_a_column_name(case_two, visit):
    """Whatever changed, every line is words: no underscores, no field names."""
    save(
        case_two,
        first_reader_name="Dr Ames",
        second_reader_name="Dr Lee",
        second_kyphosis_angle_deg=D("21.0"),
        kyphosis_angle_deg=D("20.3"),
        first_kyphosis_angle_deg=D("19.6"),
        genant_grade=2,
        genant_reduction_percent=D("31.0"),
        treatment_changed_to="vertebroplasty",
        treatment_changed_on=datetime.date(2025, 5, 1),
        treatment_change_reason="pain",
        non_union=True,
        non_union_on=datetime.date(2025, 9, 10),
        vhl_difference_six_months_percent=D("-1.5"),
        rules_version="NASOVCF-2025.2",
    )
    save(
        visit,
        vacuum_cleft_ct=True,
        kyphosis_difference_deg=D("-2.0"),
        notes="better",
        visit_date=datetime.date(2025, 9, 11),
    )
    for line in lines_of(case_two) + lines_of(visit):
        assert "_" not in line, line
        assert not re.search(r"\b(deg|percent|mm)\b", line.split("→")[0]), line
    assert "Treatment changed to — → vertebroplasty" in lines_of(case_two)
    assert "VHL change at 6 months — → −1.5 % (computed)" in lines_of(case_two)
    assert "Intravertebral vacuum cleft on CT no → yes" in lines_of(visit)
    assert "Kyphosis angle change since pretreatment — → −2.0° (computed)" in lines_of(visit)


def test_a_column_an_old_version_kept_and_the_model_dropped_is_never_named(case_two):
    """Old rows may carry columns since removed (recorded_visits, migration 0013): only the
    model's current fields are compared."""
    save(case_two, vas_pain=D("7.0"))
    latest, before = case_two.history.order_by("-history_date", "-history_id")[:2]
    before.recorded_visits, latest.recorded_visits = 1, 3
    assert history.changes(Fracture, latest, before) == ["VAS pain — → 7.0"]


# -- who, when and why ------------------------------------------------------------------------------


def test_an_archive_says_its_reason_once_and_the_user_by_full_name(patient, make_user):
    anna = make_user("asmith", first_name="Anna", last_name="Smith")
    services.set_archived(record=patient, archived=True, user=anna, reason="duplicate record")
    services.set_archived(record=patient, archived=False, user=anna)
    patient.history.update(history_user=anna)  # as the request's user would (HistoryRequestMiddleware)
    restored, archived, created = history.entries(Patient, patient.history.order_by("history_date", "history_id"))
    assert (archived.who, archived.reason, archived.changes) == ("Anna Smith", "Archived: duplicate record", ())
    assert (restored.reason, restored.changes) == ("Restored", ())
    assert created.changes == ("Recorded",)


def test_a_reason_given_with_a_change_is_kept_beside_its_lines(case_two):
    case_two.second_kyphosis_angle_deg = D("14.0")
    case_two._change_reason = "Second reader added: the 6-month kyphosis result changed from yes (+12.0°) to no (+8.5°)"
    case_two.save()
    entry = history.entries(Fracture, case_two.history.order_by("history_date", "history_id"))[0]
    assert entry.reason.startswith("Second reader added: the 6-month kyphosis result changed")
    assert entry.changes == ("Second reader's kyphosis angle — → 14.0°",)


def test_a_user_without_a_full_name_is_named_by_username(patient, user):
    patient._history_user = user
    save(patient, name="Other")
    assert history.entries(Patient, patient.history.order_by("history_date"))[0].who == "clinician"


def test_times_are_written_in_the_clinics_zone_with_its_name(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    moment = datetime.datetime(2026, 12, 1, 8, 14, tzinfo=datetime.UTC)
    assert history.local_time(moment) == "2026-12-01 09:14 CET"
    assert history.local_time(moment.replace(month=7)) == "2026-07-01 10:14 CEST"
    settings.TIME_ZONE = "UTC"
    assert history.local_time(moment) == "2026-12-01 08:14 UTC"


def test_changes_since_names_the_user_by_full_name(patient, make_user):
    anna = make_user("asmith", first_name="Anna", last_name="Smith")
    patient.updated_by = anna
    patient._history_user = anna
    save(patient, name="Renamed", version=2)
    text, who, when = history.changes_since(patient, 1)
    assert (text, who) == ("Name Test Patient → Renamed", "Anna Smith")
    assert when <= timezone.now()


def test_a_warning_kept_before_its_values_were_is_no_change_when_saved_again(case_two):
    """Issue 16 keeps each population warning's values (`params`) beside its code and English
    sentence; an older row saved again gains them, which is no change a person would see."""
    case_two.level = "L4"  # outside T11–L2: a warning
    case_two.rescore()
    case_two.save()
    save(case_two)  # saved again, as a row kept before issue 16 would be
    record, previous = case_two.history.order_by("-history_date", "-history_id")[:2]
    warning = record.population_warnings[0]
    assert warning["code"] == "level_outside_validated" and warning["params"] == {"level": "L4"}
    previous.population_warnings = [{"code": warning["code"], "message": warning["message"]}]
    assert history.changes(Fracture, record, previous) == []
    previous.population_warnings = []
    assert history.changes(Fracture, record, previous) != []  # a warning that came is still said


def test_a_course_change_kept_as_the_reason_is_said_in_the_readers_language():
    """The reason services stores when a saved visit turns the fracture's course around is English
    (STORED_LANGUAGE); a Chinese history page says it in Chinese, and an unknown one as stored."""
    from types import SimpleNamespace

    from django.utils import translation

    from scoring import outcomes, presenters

    changes = [
        SimpleNamespace(
            outcome=outcomes.CourseOutcome.PROGRESSIVE_KYPHOSIS,
            before=True,
            after=False,
            difference_before_deg=D("12.0"),
            difference_after_deg=D("-8.5"),
        ),
        SimpleNamespace(
            outcome=outcomes.CourseOutcome.NON_UNION,
            before=None,
            after=True,
            difference_before_deg=None,
            difference_after_deg=None,
        ),
    ]
    with translation.override(services.STORED_LANGUAGE):
        stored = presenters.course_change_text(changes)
        assert history.reason_words(stored) == stored
    with translation.override("zh-hans"):
        assert history.reason_words(stored) == presenters.course_change_text(changes)
        assert "进行性后凸畸形" in history.reason_words(stored)
        typed = "This changes the fracture's course: as the surgeon decided."
        assert history.reason_words(typed) == typed


def test_the_first_version_kept_by_the_audit_trails_migration_is_said_in_the_readers_language():
    """Migration 0005 gave every record older than the audit trail a first version with an English
    reason; a Chinese history page says it in Chinese."""
    from django.utils import translation

    with translation.override("en-gb"):
        assert history.reason_words(history.BEFORE_THE_AUDIT_TRAIL) == history.BEFORE_THE_AUDIT_TRAIL
    with translation.override("zh-hans"):
        assert history.reason_words(history.BEFORE_THE_AUDIT_TRAIL) == "基线：启用修改记录之前已保存的版本"
