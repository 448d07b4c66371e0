"""Translations (gettext catalogues under app/locale) and locale-aware date formatting."""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

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
        return format_date(value, "EEEE d MMMM y", locale=_BABEL_LOCALE[self.language])

    def datetime(self, value: datetime | str) -> str:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        local = value.astimezone(LONDON)
        day = format_date(local, "EEEE d MMMM y", locale=_BABEL_LOCALE[self.language])
        time = format_time(local, "h:mm a" if self.language == "en" else "HH:mm",
                           locale=_BABEL_LOCALE[self.language]).lower()
        return self._("{day} at {time}").format(day=day, time=time)

    def timestamp(self, value: datetime) -> str:
        return format_datetime(value.astimezone(LONDON), "d MMM y, HH:mm",
                               locale=_BABEL_LOCALE[self.language])


def translator(language: str | None) -> Translator:
    return Translator(normalise_language(language))
