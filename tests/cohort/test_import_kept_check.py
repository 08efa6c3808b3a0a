"""The import's speed-ups (bench/import.md) change how, not what: the records a check built are
written without checking again only while the table and the stored records are the ones checked,
and the import's own inserts write what Django's bulk_create and simple_history write."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Model
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from cohort import importing
from scoring.models import Fracture, Patient, Visit

from .test_importing import empty_the_database, export_rows, keyed, linked_records, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort(make_user):
    user = make_user("dr.lin", first_name="Wei", last_name="Lin")
    call_command("seed_demo", patients=12, seed=3, stdout=io.StringIO())
    return user


def _checks(monkeypatch) -> list:
    """Each row check_rows is asked to check (a list that grows)."""
    seen = []
    check_rows = importing.check_rows

    def counted(table, index, start, stop, checkers=None):
        seen.extend(range(start, stop))
        return check_rows(table, index, start, stop, checkers)

    monkeypatch.setattr(importing, "check_rows", counted)
    return seen


def _kept_check(tmp_path, rows: list[dict]):
    """The rows as a file, checked against an empty database with the check kept: the table, the
    report and where the check is kept."""
    empty_the_database()
    table = write_csv(tmp_path / "cohort.csv", rows)
    keep = tmp_path / "kept"
    keep.mkdir()
    return table, importing.check(table, keep=keep), keep


def test_a_kept_check_is_written_without_checking_again_and_gives_the_same_records(cohort, tmp_path, monkeypatch):
    before = export_rows()
    table, report, keep = _kept_check(tmp_path, before)
    assert report.ok
    seen = _checks(monkeypatch)

    written = importing.run(table, user=cohort, source="cohort.csv", expected_plan=report.plan, checked=keep)

    assert seen == []  # not checked a second time
    assert written.count("fractures", "create") == len(before)
    after = keyed(export_rows())
    for key, row in keyed(before).items():
        assert {k: v for k, v in after[key].items() if k != "fracture_id"} == {
            k: v for k, v in row.items() if k != "fracture_id"
        }
    fracture = Fracture.objects.first()
    assert fracture.history.count() == 1
    assert fracture.history.first().history_change_reason == "Imported from cohort.csv by Wei Lin"
    assert fracture.history.first().history_user == cohort


def test_a_kept_check_is_not_used_once_the_database_changed(cohort, tmp_path, monkeypatch):
    rows = export_rows()
    table, report, keep = _kept_check(tmp_path, rows)
    # Someone records the first row's patient in the app between the preview and the import.
    first = rows[0]
    Patient.objects.create(
        mrn=first["patient"],
        name=first["name"],
        sex=first["sex"],
        date_of_birth=first["date_of_birth"],
        created_by=cohort,
        updated_by=cohort,
    )
    seen = _checks(monkeypatch)

    written = importing.run(table, user=cohort, source="cohort.csv", expected_plan=report.plan, checked=keep)

    assert seen  # checked anew, against the database as it is now
    assert Patient.objects.filter(mrn=first["patient"]).count() == 1
    assert written.count("patients", "create") == report.count("patients", "create") - 1
    assert written.count("patients", "unchanged") == 1


def test_a_kept_check_is_not_used_for_another_table(cohort, tmp_path, monkeypatch):
    rows = export_rows()
    empty_the_database()
    keep = tmp_path / "kept"
    keep.mkdir()
    report = importing.check(write_csv(tmp_path / "a.csv", rows), keep=keep)
    rows[0]["vas_pre"] = "9.5" if rows[0]["vas_pre"] != "9.5" else "9.0"
    other = write_csv(tmp_path / "b.csv", rows)
    seen = _checks(monkeypatch)

    importing.run(other, user=cohort, source="b.csv", expected_plan=report.plan, checked=keep)

    assert seen
    assert str(Fracture.objects.get(patient__mrn=rows[0]["patient"]).vas_pain) == rows[0]["vas_pre"]


def _columns(record, exclude=()) -> dict:
    return {
        field.attname: getattr(record, field.attname)
        for field in record._meta.concrete_fields
        if field.attname not in exclude
    }


def test_the_imports_insert_writes_what_bulk_create_with_history_writes(cohort):
    visit = Visit.objects.select_related("fracture").first()
    fracture = visit.fracture
    clock = {"history_id", "history_date", "id", "created_at", "updated_at"}

    def copy(record, **changes):
        values = {
            field.attname: getattr(record, field.attname)
            for field in record._meta.concrete_fields
            if field.attname not in ("id", "created_at", "updated_at")
        }
        return type(record)(**{**values, "created_by_id": cohort.pk, "updated_by_id": cohort.pk, **changes})

    ours, theirs = copy(visit, kind="unscheduled"), copy(visit, kind="unscheduled")
    visits = importing._table(Visit)
    rows = visits.rows([ours])
    visits.written(rows, cohort, timezone.now())
    [key] = importing._insert_with_history(visits, rows, cohort, "Imported from x.csv by Wei Lin", timezone.now())
    bulk_create_with_history(
        [theirs], Visit, default_user=cohort, default_change_reason="Imported from x.csv by Wei Lin"
    )

    ours, theirs = Visit.objects.get(pk=key), Visit.objects.get(pk=theirs.pk)
    assert _columns(ours, clock) == _columns(theirs, clock)
    assert ours.fracture_id == fracture.pk
    ours_history, theirs_history = ours.history.get(), theirs.history.get()
    assert _columns(ours_history, clock) == _columns(theirs_history, clock)
    assert ours_history.history_type == "+"
    assert ours.created_at is not None and ours_history.created_at == ours.created_at


def test_a_chunks_records_and_their_history_carry_the_chunks_one_time(cohort, tmp_path):
    rows = export_rows()
    empty_the_database()
    table = write_csv(tmp_path / "cohort.csv", rows)

    importing.run(table, user=cohort, source="cohort.csv")

    visit = Visit.objects.select_related("fracture__patient").first()
    fracture = visit.fracture
    times = {
        fracture.created_at,
        fracture.updated_at,
        fracture.patient.created_at,
        visit.created_at,
        fracture.history.get().history_date,
        visit.history.get().history_date,
        fracture.patient.history.get().history_date,
    }
    assert len(times) == 1  # one transaction wrote them (CHUNK_ROWS rows): one time


def test_a_kept_check_holds_only_what_the_writer_reads(cohort, tmp_path):
    """A new fracture is kept as its rows, converted for the database where it was checked: not
    its records, nor its forms' data (kept for a page form's update)."""
    rows = export_rows()
    table, report, keep = _kept_check(tmp_path, rows)
    assert report.ok

    plans = importing.Checked(keep).get(importing._chunks(len(table.rows))[0])

    assert plans and all(plan.fracture[0] == "create" and plan.built is None for plan in plans)
    for plan in plans:
        new = plan.new
        records = [new.patient, new.fracture, *new.visits, *new.words, *(row for row, _ in new.expected)]
        assert not any(isinstance(value, Model) for record in records for value in record)  # values, no records
        assert len(new.fracture) == len(importing._columns(Fracture))
    level = importing._table(Fracture).at["level"]
    assert {(plan.mrn, plan.new.fracture[level]) for plan in plans} <= {(row["patient"], row["level"]) for row in rows}


def _unfilled(new) -> list:
    """A fracture's rows as the check made them (before the writer fills in keys, who and when);
    PostgreSQL's JSON values are wrappers that do not compare, their objects do."""
    rows = [new.patient, *new.words, new.fracture, *new.visits, *(row for row, _ in new.expected)]
    return [[getattr(value, "obj", value) for value in row] for row in rows if row is not None] + [
        [linked for _, linked in new.expected]
    ]


def test_the_writer_makes_the_rows_a_kept_check_holds_when_it_checks_the_file_itself(cohort, tmp_path):
    rows = export_rows()
    table, report, keep = _kept_check(tmp_path, rows)
    assert report.ok
    kept = [
        _unfilled(plan.new)
        for bounds in importing._chunks(len(table.rows))
        for plan in importing.Checked(keep).get(bounds)
    ]
    made = []
    new_rows = importing.new_rows

    def recorded(built, new_patient):
        new = new_rows(built, new_patient)
        made.append(_unfilled(new))
        return new

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importing, "new_rows", recorded)
        importing.run(table, user=cohort, source="cohort.csv")  # no kept check: it checks the file

    assert made == kept and len(made) == len(rows)


@pytest.mark.django_db(transaction=True)
def test_a_check_kept_by_worker_processes_writes_what_a_save_writes(make_user, tmp_path, settings, monkeypatch):
    """The check's worker processes (forked) keep the rows; the import writes them, each linked to
    its patient, fracture and visit, with its history."""
    user = make_user("dr.lin", first_name="Wei", last_name="Lin")
    call_command("seed_demo", patients=12, seed=3, stdout=io.StringIO())
    before, saved = export_rows(), linked_records()
    settings.NASOVCF_IMPORT_PARALLEL_ROWS = 1
    settings.NASOVCF_IMPORT_PROCESSES = 2
    monkeypatch.setattr(importing, "CHUNK_ROWS", 5)  # several chunks for the processes to share
    table, report, keep = _kept_check(tmp_path, before)
    assert report.ok
    seen = _checks(monkeypatch)

    importing.run(table, user=user, source="cohort.csv", expected_plan=report.plan, checked=keep)

    assert seen == []  # written from the kept check
    after = keyed(export_rows())
    assert after.keys() == keyed(before).keys()
    for key, row in keyed(before).items():
        assert {k: v for k, v in after[key].items() if k != "fracture_id"} == {
            k: v for k, v in row.items() if k != "fracture_id"
        }
    assert linked_records() == saved
    visit = Visit.objects.select_related("fracture__patient").first()
    assert visit.history.get().history_change_reason == "Imported from cohort.csv by Wei Lin"
    assert visit.fracture.patient.history.get().history_user == user


def test_a_check_and_an_import_run_with_fewer_collections_and_restore_the_collector(cohort, tmp_path):
    import gc

    rows = export_rows()
    empty_the_database()
    table = write_csv(tmp_path / "cohort.csv", rows)
    before = gc.get_threshold()
    during = []

    importing.check(table, progress=lambda done, total: during.append(gc.get_threshold()[0]))
    importing.run(
        table, user=cohort, source="cohort.csv", progress=lambda done, total: during.append(gc.get_threshold()[0])
    )

    assert during and set(during) == {100_000}
    assert gc.get_threshold() == before


def test_without_insert_returning_the_import_refuses_and_writes_nothing(cohort, tmp_path, monkeypatch):
    """SQLite before 3.35 has no INSERT … RETURNING: the import says so, rather than writing
    history rows without their record's key."""
    from django.db import NotSupportedError, connection

    rows = export_rows()
    empty_the_database()
    table = write_csv(tmp_path / "cohort.csv", rows)
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)

    with pytest.raises(NotSupportedError, match="RETURNING"):
        importing.run(table, user=cohort, source="cohort.csv")

    assert not Patient.objects.exists() and not Fracture.objects.exists()
