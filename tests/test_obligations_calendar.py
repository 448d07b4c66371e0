"""Working days in England and Wales, calendar months and days (app/obligations/calendar.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.core.i18n import LONDON
from app.obligations import calendar
from app.obligations.rules import Period, working_days


def london(day: str, hhmm: str = "10:00") -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), tzinfo=LONDON)


def end(day: str) -> datetime:
    return calendar.end_of_day(date.fromisoformat(day))


def test_bank_holidays_come_from_the_maintained_calendar():
    assert calendar.is_bank_holiday(date(2026, 12, 25))  # Christmas Day, Friday
    assert calendar.is_bank_holiday(date(2026, 12, 28))  # Boxing Day (Saturday) substitute
    assert calendar.is_bank_holiday(date(2027, 1, 1))
    assert calendar.is_bank_holiday(date(2026, 8, 31))  # late summer bank holiday (E&W only)
    assert not calendar.is_bank_holiday(date(2026, 8, 3))  # Scotland's summer holiday
    assert not calendar.is_bank_holiday(date(2026, 11, 30))  # St Andrew's Day: Scotland only
    assert not calendar.is_working_day(date(2026, 12, 27))  # Sunday
    assert calendar.is_working_day(date(2026, 12, 29))


def test_enhanced_one_working_day_over_christmas_2026():
    # Thu 24 Dec: Fri 25 (Christmas), Sat, Sun, Mon 28 (Boxing Day substitute) do not count.
    assert working_days(1).after(london("2026-12-24", "16:30")) == end("2026-12-29")


def test_a_decision_late_on_the_day_still_counts_from_that_day():
    assert working_days(1).after(london("2026-12-24", "23:59")) == end("2026-12-29")
    # 00:30 UTC on 25 Dec is still 25 Dec in London (GMT): counts from the next working day.
    assert working_days(1).after(datetime(2026, 12, 25, 0, 30, tzinfo=UTC)) == end("2026-12-30")


def test_standard_five_working_days_over_new_year():
    # Wed 30 Dec 2026: Thu 31 (1), Fri 1 Jan holiday, Mon 4 (2), Tue 5 (3), Wed 6 (4), Thu 7 (5).
    assert working_days(5).after(london("2026-12-30")) == end("2027-01-07")


def test_trigger_on_a_sunday_counts_from_the_monday():
    # Sun 6 Dec 2026 counts as Mon 7 Dec: one working day later is the end of Tue 8 Dec.
    assert working_days(1).after(london("2026-12-06")) == end("2026-12-08")
    assert working_days(5).after(london("2026-12-06")) == end("2026-12-14")


def test_trigger_on_a_bank_holiday_counts_from_the_next_working_day():
    # Good Friday 26 Mar 2027 and Easter Monday 29 Mar: counts from Tue 30 Mar.
    assert working_days(1).after(london("2027-03-26")) == end("2027-03-31")


def test_end_of_day_is_london_time_in_summer():
    due = working_days(1).after(london("2027-06-14"))
    assert due == end("2027-06-15")
    assert due.astimezone(UTC) == datetime(2027, 6, 15, 22, 59, 59, 999999, tzinfo=UTC)
    assert due + timedelta(microseconds=1) == london("2027-06-16", "00:00")


def test_a_working_day_deadline_needs_a_day():
    with pytest.raises(ValueError):
        calendar.working_days_after(london("2026-12-01"), 0)


@pytest.mark.parametrize(("start", "months", "expected"), [
    ("2026-11-20", 3, "2027-02-20"),
    ("2026-11-30", 3, "2027-02-28"),  # clamped to the month's last day
    ("2027-11-30", 3, "2028-02-29"),  # leap year
    ("2026-01-31", 1, "2026-02-28"),
    ("2026-12-15", 1, "2027-01-15"),  # across the year end
    ("2026-10-31", 14, "2027-12-31"),
])
def test_calendar_months(start, months, expected):
    assert calendar.add_months(date.fromisoformat(start), months) == date.fromisoformat(expected)
    assert Period(months, "months").after(london(start)) == end(expected)


def test_days_and_hours():
    assert Period(28, "days").after(london("2026-12-01", "09:00")) == end("2026-12-29")
    start = london("2026-12-24", "23:30")
    assert Period(2, "hours").after(start) == start + timedelta(hours=2)


def test_month_windows_use_the_london_day():
    # 23:30 UTC on 31 Jul 2027 is 00:30 on 1 Aug in London (BST).
    moment = datetime(2027, 7, 31, 23, 30, tzinfo=UTC)
    assert calendar.months_after(moment, 3) == end("2027-11-01")
