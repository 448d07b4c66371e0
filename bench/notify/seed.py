"""The one case and victim the notification benchmarks queue messages for. Imports only the
case models, so a benchmark timing a fresh process's first send does not import the twilio SDK
before the worker under test does."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.cases.models import Case, Victim


def one_case_and_victim(session: Session, crime_reference: str) -> tuple[int, int]:
    """Adds a case and its victim (flushed, not committed); their primary keys."""
    now = datetime.now(UTC)
    case = Case(crime_reference=crime_reference, crime_type="Burglary", offence_group="burglary",
                borough="Hackney", reported_at=now, opened_at=now)
    session.add(case)
    session.flush()
    victim = Victim(case_pk=case.id, victim_ref="V1", given_name="Alex",
                    family_name="Testperson", version="v")
    session.add(victim)
    session.flush()
    return case.id, victim.id
