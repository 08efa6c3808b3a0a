"""The follow-up schedule under conservative care (spec §3): visits due 30, 90 and 180 days
after treatment starts, each with a window. Pure Python: no Django import."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum


class VisitKind(StrEnum):
    ONE_MONTH = "1m"
    THREE_MONTHS = "3m"
    SIX_MONTHS = "6m"
    UNSCHEDULED = "unscheduled"


class ScheduleOutOfRange(ValueError):
    """A visit's date would fall past the calendar's last day (9999-12-31): the treatment start
    date is not a plausible one. The forms refuse such a date; a row holding one (written behind
    the app's back) gets no schedule, and its pages say so."""

    code = "schedule_out_of_range"

    def __init__(self, start: datetime.date):
        self.start = start
        super().__init__(f"No visit schedule can be computed from a treatment start on {start.isoformat()}.")


def days_after(start: datetime.date, days: int) -> datetime.date:
    """`start` moved by `days`; ScheduleOutOfRange, not OverflowError, past the calendar's end."""
    try:
        return start + datetime.timedelta(days=days)
    except OverflowError:
        raise ScheduleOutOfRange(start) from None


@dataclass(frozen=True)
class ScheduledVisit:
    kind: VisitKind
    offset_days: int
    window_days: int

    def due(self, start: datetime.date) -> datetime.date:
        return days_after(start, self.offset_days)

    def window_opens(self, start: datetime.date) -> datetime.date:
        return days_after(start, self.offset_days - self.window_days)

    def window_closes(self, start: datetime.date) -> datetime.date:
        return days_after(start, self.offset_days + self.window_days)


OFFSET_DAYS = {VisitKind.ONE_MONTH: 30, VisitKind.THREE_MONTHS: 90, VisitKind.SIX_MONTHS: 180}
DEFAULT_WINDOW_DAYS = {VisitKind.ONE_MONTH: 7, VisitKind.THREE_MONTHS: 14, VisitKind.SIX_MONTHS: 30}


def schedule(window_days: dict[str, int] | None = None) -> tuple[ScheduledVisit, ...]:
    """The three scheduled visits in order, with the windows given (days either side of due)."""
    windows = {**DEFAULT_WINDOW_DAYS, **{VisitKind(k): v for k, v in (window_days or {}).items()}}
    return tuple(ScheduledVisit(kind, OFFSET_DAYS[kind], windows[kind]) for kind in OFFSET_DAYS)


def check_schedulable(start: datetime.date, visits: tuple[ScheduledVisit, ...]) -> None:
    """ScheduleOutOfRange unless every visit's due date and window from `start` is on the calendar."""
    for visit in visits:
        visit.window_opens(start)
        visit.window_closes(start)


class DueStatus(StrEnum):
    OVERDUE = "overdue"  # the window has closed and the visit is not recorded
    DUE_SOON = "due_soon"  # the window is open, or opens within the coming week
    UPCOMING = "upcoming"
    MISSED = "missed"  # never recorded, and no longer listed: the next visit's window opened, or it lapsed


def due_status(visit: ScheduledVisit, start: datetime.date, today: datetime.date, soon_days: int = 7) -> DueStatus:
    """The status of a visit not yet recorded, while the worklist lists it."""
    return window_status(visit.window_opens(start), visit.window_closes(start), today, soon_days)


def window_status(
    window_opens: datetime.date, window_closes: datetime.date, today: datetime.date, soon_days: int = 7
) -> DueStatus:
    if window_closes < today:
        return DueStatus.OVERDUE
    if window_opens <= today + datetime.timedelta(days=soon_days):
        return DueStatus.DUE_SOON
    return DueStatus.UPCOMING


def six_month_assessment_from(start: datetime.date, visits: tuple[ScheduledVisit, ...]) -> datetime.date:
    """Bone union is assessed at the 6-month visit or later: from its window's opening."""
    six_months = next(v for v in visits if v.kind is VisitKind.SIX_MONTHS)
    return six_months.window_opens(start)


@dataclass(frozen=True)
class ExpectedDates:
    """When a scheduled visit is due, its window, and the last day the worklist lists it."""

    kind: VisitKind
    due: datetime.date
    window_opens: datetime.date
    window_closes: datetime.date
    listed_until: datetime.date


def expected_visits(
    start: datetime.date, visits: tuple[ScheduledVisit, ...], *, overdue_days: int
) -> tuple[ExpectedDates, ...]:
    """Every scheduled visit of a fracture whose treatment started on `start` (ScheduleOutOfRange
    when a date would fall past the calendar's end).

    A visit is listed from when its window opens until `overdue_days` after its window closed,
    and only while the next scheduled visit's window has not opened: once it has, a missed visit
    gives way to the next one.
    """
    expected = []
    for order, visit in enumerate(visits):
        listed_until = days_after(start, visit.offset_days + visit.window_days + overdue_days)
        if order + 1 < len(visits):
            next_opens = visits[order + 1].window_opens(start)
            listed_until = min(listed_until, days_after(next_opens, -1))
        expected.append(
            ExpectedDates(
                visit.kind, visit.due(start), visit.window_opens(start), visit.window_closes(start), listed_until
            )
        )
    return tuple(expected)


EARLIEST_DUE = datetime.date(1900, 1, 1)


def status_due_ranges(
    visits: tuple[ScheduledVisit, ...],
    today: datetime.date,
    until: datetime.date,
    *,
    soon_days: int,
    overdue_days: int,
) -> dict[tuple[VisitKind, DueStatus], tuple[datetime.date, datetime.date]]:
    """For each scheduled visit and status, the due dates (both ends included) of the visits not
    yet recorded that have that status today: what window_status and the listing rule say, read
    from the due date alone (a visit's window and listing are fixed spans around it). The worklist
    counts each as a range of its index, without looking at a row."""
    soon = today + datetime.timedelta(days=soon_days)
    day = datetime.timedelta(days=1)
    ranges = {}
    for visit in expected_visits(EARLIEST_DUE, visits, overdue_days=overdue_days):
        before_due = visit.due - visit.window_opens  # the window opens this long before the due date
        after_due = visit.window_closes - visit.due  # and closes this long after it
        listed_after_due = visit.listed_until - visit.due
        ranges[visit.kind, DueStatus.OVERDUE] = (today - listed_after_due, today - after_due - day)
        ranges[visit.kind, DueStatus.DUE_SOON] = (today - min(after_due, listed_after_due), soon + before_due)
        ranges[visit.kind, DueStatus.UPCOMING] = (soon + before_due + day, until + before_due)
        ranges[visit.kind, DueStatus.MISSED] = (EARLIEST_DUE, today - listed_after_due - day)
    return ranges
