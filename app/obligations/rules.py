"""Who is entitled to enhanced rights under the Victims' Code (victims-code.md)."""

from __future__ import annotations

from datetime import date

from app.cases.models import Case, Victim
from app.core.i18n import LONDON

# Victims of the most serious crime (Code, Right 1 and its definitions).
ENHANCED_OFFENCE_GROUPS = frozenset({"sexual", "domestic_abuse", "hate", "homicide"})


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def victim_has_enhanced_rights(case: Case, victim: Victim) -> bool:
    if victim.enhanced_categories:
        return True
    if case.offence_group in ENHANCED_OFFENCE_GROUPS:
        return True
    if victim.date_of_birth is not None:
        reported_day = case.reported_at.astimezone(LONDON).date()
        return age_on(victim.date_of_birth, reported_day) < 18
    return False
