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


@dataclass(frozen=True)
class ScheduledVisit:
    kind: VisitKind
    offset_days: int
    window_days: int

    def due(self, start: datetime.date) -> datetime.date:
        return start + datetime.timedelta(days=self.offset_days)

    def window_opens(self, start: datetime.date) -> datetime.date:
        return self.due(start) - datetime.timedelta(days=self.window_days)

    def window_closes(self, start: datetime.date) -> datetime.date:
        return self.due(start) + datetime.timedelta(days=self.window_days)

    # The same dates seen from the other side: which treatment start dates put this visit's
    # window edge on a given day. The worklist filters on start dates with these, so the
    # database compares a column with constants and needs no date arithmetic.
    def start_when_opens_on(self, day: datetime.date) -> datetime.date:
        return day - datetime.timedelta(days=self.offset_days - self.window_days)

    def start_when_closes_on(self, day: datetime.date) -> datetime.date:
        return day - datetime.timedelta(days=self.offset_days + self.window_days)


OFFSET_DAYS = {VisitKind.ONE_MONTH: 30, VisitKind.THREE_MONTHS: 90, VisitKind.SIX_MONTHS: 180}
DEFAULT_WINDOW_DAYS = {VisitKind.ONE_MONTH: 7, VisitKind.THREE_MONTHS: 14, VisitKind.SIX_MONTHS: 30}


def schedule(window_days: dict[str, int] | None = None) -> tuple[ScheduledVisit, ...]:
    """The three scheduled visits in order, with the windows given (days either side of due)."""
    windows = {**DEFAULT_WINDOW_DAYS, **{VisitKind(k): v for k, v in (window_days or {}).items()}}
    return tuple(ScheduledVisit(kind, OFFSET_DAYS[kind], windows[kind]) for kind in OFFSET_DAYS)


class DueStatus(StrEnum):
    OVERDUE = "overdue"  # the window has closed and the visit is not recorded
    DUE_SOON = "due_soon"  # the window is open, or opens within the coming week
    UPCOMING = "upcoming"


def due_status(
    visit: ScheduledVisit, start: datetime.date, today: datetime.date, soon_days: int = 7
) -> DueStatus:
    if visit.window_closes(start) < today:
        return DueStatus.OVERDUE
    if visit.window_opens(start) <= today + datetime.timedelta(days=soon_days):
        return DueStatus.DUE_SOON
    return DueStatus.UPCOMING


@dataclass(frozen=True)
class StatusBounds:
    """due_status read from the treatment start date: the database sorts and counts with these."""

    overdue_before: datetime.date  # start earlier than this: the window has closed
    due_soon_through: datetime.date  # otherwise, start on or before this: due now or this week


def status_bounds(visit: ScheduledVisit, today: datetime.date, soon_days: int = 7) -> StatusBounds:
    """The start dates at which due_status changes, so `start < overdue_before` ⇔ OVERDUE and so on."""
    return StatusBounds(
        overdue_before=visit.start_when_closes_on(today),
        due_soon_through=visit.start_when_opens_on(today + datetime.timedelta(days=soon_days)),
    )


def status_for_start(start: datetime.date, bounds: StatusBounds) -> DueStatus:
    """due_status from the bounds: the same answer, computed once per visit for a whole list."""
    if start < bounds.overdue_before:
        return DueStatus.OVERDUE
    if start <= bounds.due_soon_through:
        return DueStatus.DUE_SOON
    return DueStatus.UPCOMING


def six_month_assessment_from(start: datetime.date, visits: tuple[ScheduledVisit, ...]) -> datetime.date:
    """Bone union is assessed at the 6-month visit or later: from its window's opening."""
    six_months = next(v for v in visits if v.kind is VisitKind.SIX_MONTHS)
    return six_months.window_opens(start)


@dataclass(frozen=True)
class StartRange:
    """Treatment start dates, both ends included, for which a visit belongs on the worklist."""

    earliest: datetime.date
    latest: datetime.date


def worklist_start_range(
    visits: tuple[ScheduledVisit, ...],
    kind: VisitKind,
    today: datetime.date,
    *,
    overdue_days: int,
    until: datetime.date,
) -> StartRange:
    """Which fractures list this visit today, by their treatment start date.

    A visit is listed from when its window opens (no later than `until`) until `overdue_days`
    after its window closed, and only while the next scheduled visit's window has not opened:
    once it has, the missed visit gives way to the next one.
    """
    order = [v.kind for v in visits]
    visit = visits[order.index(kind)]
    earliest = visit.start_when_closes_on(today - datetime.timedelta(days=overdue_days))
    latest = visit.start_when_opens_on(until)
    if order.index(kind) + 1 < len(visits):
        successor = visits[order.index(kind) + 1]
        # successor's window still closed today: start > successor.start_when_opens_on(today)
        earliest = max(earliest, successor.start_when_opens_on(today) + datetime.timedelta(days=1))
    return StartRange(earliest, latest)
