"""Deadlines in England and Wales time: working days, calendar days, calendar months, hours.

Working days are Monday to Friday in Europe/London, excluding the bank holidays of England and
Wales (which share one calendar) from the maintained `holidays` package. "Within N working days
of T" is the end of the Nth working day after T's day; a trigger on a non-working day counts
from the next working day, as if it had happened then.

Every "end of day" is the last microsecond of that London day, so `met_at <= due_at` is "on
time" and the first instant of the next day is late.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from app.core.i18n import LONDON


@lru_cache(maxsize=64)
def _bank_holidays_of(year: int) -> frozenset[date]:
    # England and Wales share their bank holidays (substitute days included).
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_bank_holiday(day: date) -> bool:
    return day in _bank_holidays_of(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_bank_holiday(day)


def next_working_day(day: date) -> date:
    """The first working day strictly after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def london_day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def end_of_day(day: date) -> datetime:
    """The last instant of a London day (DST-aware)."""
    return datetime.combine(day, time.max, tzinfo=LONDON)


def counting_day(moment: datetime) -> date:
    """The London day a count starts from: the trigger's day, or the next working day."""
    day = london_day(moment)
    return day if is_working_day(day) else next_working_day(day)


def working_days_after(moment: datetime, n: int) -> datetime:
    """End of the Nth working day after `moment` (n >= 1)."""
    if n < 1:
        raise ValueError("a working-day deadline needs at least one day")
    day = counting_day(moment)
    for _ in range(n):
        day = next_working_day(day)
    return end_of_day(day)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def months_after(moment: datetime, n: int) -> datetime:
    """End of the London day n calendar months after `moment` (31 Jan + 1 month = 28/29 Feb)."""
    return end_of_day(add_months(london_day(moment), n))


def days_after(moment: datetime, n: int) -> datetime:
    """End of the London day n calendar days after `moment`."""
    return end_of_day(london_day(moment) + timedelta(days=n))


def hours_after(moment: datetime, n: int) -> datetime:
    return moment + timedelta(hours=n)
