"""Shared steps of the outbound webhook tests: a case with a CPS, a victim's request, a clock
the worker reads (so retries hours apart run at once), and fresh read sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.agencies.models import Agency
from app.cases import repository as cases
from app.core.db import make_sessionmaker
from app.outbound import service
from app.outbound.models import AgencyRequest
from tests.agency_client import AgencyClient, Registry, opened, victim
from tests.journeys import V1, V2

REFERENCE = "01/70001/26"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def fresh(engine: Engine) -> Session:
    return make_sessionmaker(engine)()


def set_endpoint(engine: Engine, agency_id: str, url: str | None) -> None:
    with fresh(engine) as session:
        session.execute(update(Agency).where(Agency.agency_id == agency_id)
                        .values(endpoint_url=url, endpoint_disabled_at=None))
        session.commit()


def case_with_cps(registry: Registry, police: AgencyClient,
                  reference: str = REFERENCE) -> AgencyClient:
    cps = registry.add("cps-london", "cps", "CPS London")
    police.send_ok("case.opened", reference, opened(victims=[V1, V2]),
                   occurred_at="2026-11-19T19:00:00Z")
    police.send_ok("case.agency_linked", reference, {"agency_id": "cps-london"},
                   occurred_at="2026-11-19T19:05:00Z")
    return cps


def submit(engine: Engine, kind: str = "vrr", victim_ref: str = "V1",
           agency_kind: str = "cps", reference: str = REFERENCE,
           details: dict | None = None) -> str:
    """A victim's request, as a portal feature makes one; returns its request_id."""
    with fresh(engine) as session:
        case = cases.get_case_by_reference(session, reference)
        assert case is not None
        who = cases.get_victim(session, case.id, victim_ref)
        agency = service.agency_for(session, case, agency_kind)
        assert agency is not None
        request = service.submit(session, case=case, victim=who, agency=agency, kind=kind,
                                 details=details or {"reasons": "I think the decision is wrong"})
        session.commit()
        return request.request_id


def get_request(engine: Engine, request_id: str) -> AgencyRequest:
    from sqlalchemy import select

    with fresh(engine) as session:
        return session.scalars(select(AgencyRequest)
                               .where(AgencyRequest.request_id == request_id)).one()


def start_clock() -> Clock:
    return Clock(datetime.now(UTC))


__all__ = ["V1", "V2", "victim"]
