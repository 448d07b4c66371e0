"""Fixtures and helpers for obligation tests that go through the real webhook pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.agencies import repository as agencies_repository
from app.cases import repository as cases_repository
from app.cases.models import Case, Victim
from app.obligations import service
from tests.agency_client import AgencyClient, Registry, opened, victim

REF = "01/70001/26"


def utc(value: str) -> datetime:
    if "T" not in value:
        value += "T09:00"
    return datetime.fromisoformat(value.replace("Z", "")).replace(tzinfo=UTC)


def stamp(value: str) -> str:
    """RFC 3339 UTC for an event's occurred_at."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Clock:
    """Controls when events are received and what "now" is for obligation statuses."""

    received: datetime
    now: datetime


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    state = Clock(received=utc("2026-12-01"), now=utc("2026-12-01"))
    monkeypatch.setattr("app.agencies.service.utcnow", lambda: state.received)
    monkeypatch.setattr("app.obligations.service.utcnow", lambda: state.now)
    return state


@dataclass
class Agencies:
    police: AgencyClient
    cps: AgencyClient
    wcu: AgencyClient
    court: AgencyClient
    probation: AgencyClient


@pytest.fixture
def agencies(registry: Registry, police: AgencyClient) -> Agencies:
    return Agencies(police=police,
                    cps=registry.add("cps-london", "cps", "CPS London"),
                    wcu=registry.add("wcu-london-north", "witness_care", "Witness Care North"),
                    court=registry.add("hmcts-snaresbrook", "court", "Snaresbrook Crown Court"),
                    probation=registry.add("probation-london", "probation", "Probation London"))


def send(client: AgencyClient, clock: Clock | None, event_type: str, at: str,
         data: dict[str, Any], ref: str = REF, webhook_id: str | None = None,
         received: str | None = None) -> str:
    """Sends one event, received at `received` (default: when it occurred); its webhook-id."""
    if clock is not None:
        clock.received = utc(received or at)
    client.send_ok(event_type, ref, data, occurred_at=stamp(at), webhook_id=webhook_id)
    return client.sent[-1]


def open_case(a: Agencies, clock: Clock | None, at: str = "2026-12-01", ref: str = REF,
              offence_group: str = "burglary", victims: list[dict[str, Any]] | None = None,
              ) -> str:
    """Opens the case and links every agency; the case.opened webhook-id."""
    opened_id = send(a.police, clock, "case.opened", at, opened(
        offence_group, victims or [victim("V1")], reported_at=stamp(at)), ref)
    for linker, target in ((a.police, "cps-london"), (a.police, "wcu-london-north"),
                           (a.cps, "hmcts-snaresbrook"), (a.cps, "probation-london")):
        send(linker, clock, "case.agency_linked", at, {"agency_id": target}, ref)
    return opened_id


def the_case(session: Session, ref: str = REF) -> Case:
    session.expire_all()
    found = cases_repository.get_case_by_reference(session, ref)
    assert found is not None
    return found


def the_victim(session: Session, ref: str = REF, victim_ref: str = "V1") -> Victim:
    found = cases_repository.get_victim(session, the_case(session, ref).id, victim_ref)
    assert found is not None
    return found


def event_pk(session: Session, agency: AgencyClient, webhook_id: str) -> int:
    owner = agencies_repository.get_agency(session, agency.agency_id)
    assert owner is not None
    found = agencies_repository.find_received(session, owner.id, webhook_id)
    assert found is not None
    return found.id


def listing(session: Session, ref: str = REF, now: datetime | None = None
            ) -> list[dict[str, Any]]:
    """The case's obligations as `tmc obligations --json` shows them; ends the transaction so
    the app's own sessions are not kept waiting (SQLite takes the write lock at BEGIN)."""
    shown = service.obligations_as_json(session, the_case(session, ref), now or utc("2026-12-01"))
    session.commit()
    return shown


def find(shown: list[dict[str, Any]], rule_id: str, victim_ref: str | None = "V1",
         trigger_key: str | None = None) -> dict[str, Any]:
    found = [o for o in shown if o["id"] == rule_id and o["victim_ref"] == victim_ref
             and (trigger_key is None or o["trigger_key"] == trigger_key)]
    assert len(found) == 1, (rule_id, victim_ref, trigger_key, found)
    return found[0]


def london_end(day: str) -> str:
    from datetime import date

    from app.obligations.calendar import end_of_day

    return end_of_day(date.fromisoformat(day)).isoformat()
