"""Shared steps of the contact tests: a case opened by the police with an officer in charge and
a supervisor, read back through the test's own session."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from app.cases import repository as cases_repository
from app.cases.models import Case, Victim
from app.core.i18n import LONDON
from tests.agency_client import AgencyClient, opened, victim

REF = "01/60001/26"
OIC_EMAIL = "dc.alpha@police.example.com"
SUPERVISOR_EMAIL = "ds.bravo@police.example.com"
NEW_OIC_EMAIL = "dc.charlie@police.example.com"


def london(value: str) -> datetime:
    """A London wall-clock time, e.g. "2026-12-24T10:00"."""
    return datetime.fromisoformat(value).replace(tzinfo=LONDON)


def end_of(day: str) -> datetime:
    """The last instant of a London day: how working-day deadlines end."""
    return datetime.combine(date.fromisoformat(day), time.max, tzinfo=LONDON)


def open_case_with_officers(police: AgencyClient, ref: str = REF,
                            victims: list[dict[str, Any]] | None = None) -> None:
    police.send_ok("case.opened", ref, opened(victims=victims or [victim("V1")]),
                   occurred_at="2026-11-19T19:00:00Z")
    police.send_ok("officer.assigned", ref, {"role": "oic", "name": "Alex Alpha", "rank": "DC",
                                             "email": OIC_EMAIL},
                   occurred_at="2026-11-19T20:00:00Z")
    police.send_ok("officer.assigned", ref, {"role": "supervisor", "name": "Bo Bravo",
                                             "rank": "DS", "email": SUPERVISOR_EMAIL},
                   occurred_at="2026-11-19T20:00:00Z")


def the_case(session: Session, ref: str = REF) -> Case:
    session.expire_all()
    case = cases_repository.get_case_by_reference(session, ref)
    assert case is not None
    return case


def the_victim(session: Session, ref: str = REF, victim_ref: str = "V1") -> Victim:
    found = cases_repository.get_victim(session, the_case(session, ref).id, victim_ref)
    assert found is not None
    return found
