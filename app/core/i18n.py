"""Translations (gettext catalogues under app/locale) and locale-aware date formatting."""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "cy")
LONDON = ZoneInfo("Europe/London")
_BABEL_LOCALE = {"en": "en_GB", "cy": "cy_GB"}


def normalise_language(tag: str | None) -> str:
    base = (tag or "en").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    return gettext.translation(
        "messages", localedir=LOCALE_DIR, languages=[language], fallback=True
    )


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return message


@dataclass(frozen=True)
class Translator:
    """What wording functions need: gettext plus dates in the reader's language and UK time."""

    language: str

    def _(self, message: str) -> str:
        return translations(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.language).ngettext(singular, plural, n)

    def date(self, value: date | str) -> str:
        if isinstance(value, str):
            value = date.fromisoformat(value)
        return _long_date(self.language, value)

    def datetime(self, value: datetime | str) -> str:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        local = value.astimezone(LONDON)
        return self._("{day} at {time}").format(
            day=_long_date(self.language, local.date()),
            time=_clock_time(self.language, local.hour, local.minute))

    def timestamp(self, value: datetime) -> str:
        """"d MMM y, HH:mm", London time."""
        local = value.astimezone(LONDON)
        return f"{_short_date(self.language, local.date())}, {local.hour:02d}:{local.minute:02d}"


# Babel takes tens of microseconds for each date it formats, and a timeline formats one per
# entry; the same days and times recur across entries, cases and pages, so each is formatted
# once per language.

@lru_cache(maxsize=8192)
def _long_date(language: str, day: date) -> str:
    return format_date(day, "EEEE d MMMM y", locale=_BABEL_LOCALE[language])


@lru_cache(maxsize=8192)
def _short_date(language: str, day: date) -> str:
    return format_date(day, "d MMM y", locale=_BABEL_LOCALE[language])


@lru_cache(maxsize=len(LANGUAGES) * 24 * 60)
def _clock_time(language: str, hour: int, minute: int) -> str:
    return format_time(time(hour, minute), "h:mm a" if language == "en" else "HH:mm",
                       locale=_BABEL_LOCALE[language]).lower()


def translator(language: str | None) -> Translator:
    return Translator(normalise_language(language))
