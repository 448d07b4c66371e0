"""Dates and times in the reader's language, London time: what Babel gives for each pattern,
though each day and time is formatted once per language (app/core/i18n.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from babel.dates import format_date, format_datetime, format_time

from app.core.i18n import LONDON, translator

LOCALES = {"en": "en_GB", "cy": "cy_GB"}
# Both sides of the clock changes, midnight and noon, a leap day, a year's end.
MOMENTS = [datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
           datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
           datetime(2028, 2, 29, 12, 0, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
           datetime(2027, 1, 1, 0, 0, tzinfo=UTC)]
MOMENTS += [datetime(2026, 7, 4, tzinfo=UTC) + timedelta(minutes=37 * n) for n in range(40)]


@pytest.mark.parametrize("language", ["en", "cy"])
def test_dates_times_and_timestamps_are_babels(language):
    t, locale = translator(language), LOCALES[language]
    for moment in MOMENTS:
        local = moment.astimezone(LONDON)
        day = format_date(local, "EEEE d MMMM y", locale=locale)
        clock = format_time(local, "h:mm a" if language == "en" else "HH:mm",
                            locale=locale).lower()
        assert t.datetime(moment) == t._("{day} at {time}").format(day=day, time=clock)
        assert t.datetime(moment.isoformat()) == t.datetime(moment)
        assert t.timestamp(moment) == format_datetime(local, "d MMM y, HH:mm", locale=locale)
        assert t.date(local.date()) == day
        assert t.date(local.date().isoformat()) == day


def test_welsh_and_english_differ_and_the_clock_change_is_londons():
    moment = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST, before clocks go back
    assert translator("en").datetime(moment) == "Sunday 25 October 2026 at 1:30 am"
    assert translator("en").timestamp(moment + timedelta(hours=1)) == "25 Oct 2026, 01:30"
    assert translator("cy").date(date(2026, 10, 25)) != translator("en").date(date(2026, 10, 25))
