"""Shared pieces of the agency contract tests: every kind of agency linked to one case, row
counts of every table, and fresh read sessions (so a test never holds a database lock or reads a
stale identity map while the app writes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.cases import repository as cases
from app.cases import service as case_service
from app.core.db import make_sessionmaker
from app.models import Base
from tests.agency_client import AgencyClient, Registry, at, opened, victim

OTHER_AGENCIES = {
    "cps": ("cps-london", "cps", "CPS London"),
    "wcu": ("wcu-london-north", "witness_care", "Witness Care Unit London North"),
    "court": ("hmcts-snaresbrook", "court", "Snaresbrook Crown Court"),
    "probation": ("probation-london", "probation", "Probation Service London"),
    "support": ("victim-support-london", "support_service", "Victim Support London"),
}

# Two synthetic victims; V2 has a representative. Nothing here may reach a timeline entry.
V1 = victim("V1", given_name="Alex", family_name="Testperson", email="alex.t@example.com",
            mobile="07700 900123", date_of_birth="1990-05-17")
V2 = victim("V2", given_name="Sam", family_name="Exampleton", email="sam.e@example.com",
            mobile="07700 900456", date_of_birth="2011-02-03",
            representative={"name": "Jo Exampleton", "relationship": "parent",
                            "email": "jo.e@example.com", "mobile": "07700 900789"})
VICTIM_PERSONAL_DATA = ("Testperson", "alex.t@example.com", "900123", "1990-05-17",
                        "Exampleton", "sam.e@example.com", "900456", "2011-02-03",
                        "jo.e@example.com", "900789")


@dataclass
class Cast:
    """One agency of every kind, each signing with its own secret."""

    police: AgencyClient
    cps: AgencyClient
    wcu: AgencyClient
    court: AgencyClient
    probation: AgencyClient
    support: AgencyClient

    def all(self) -> list[AgencyClient]:
        return [self.police, self.cps, self.wcu, self.court, self.probation, self.support]


def register_cast(registry: Registry, police: AgencyClient) -> Cast:
    others = {key: registry.add(*spec) for key, spec in OTHER_AGENCIES.items()}
    return Cast(police=police, **others)


def open_linked_case(cast: Cast, crime_reference: str, day: str = "2026-11-20") -> None:
    """Police open the case with V1 and V2 and hand it on until every agency is linked."""
    police, cps = cast.police, cast.cps
    police.send_ok("case.opened", crime_reference, opened(victims=[V1, V2]), at(day, "08:00"))
    for minute, target in enumerate((cps, cast.wcu, cast.support), start=1):
        police.send_ok("case.agency_linked", crime_reference, {"agency_id": target.agency_id},
                       at(day, f"08:0{minute}"))
    cps.send_ok("case.agency_linked", crime_reference, {"agency_id": cast.court.agency_id},
                at(day, "08:05"))
    cps.send_ok("case.agency_linked", crime_reference, {"agency_id": cast.probation.agency_id},
                at(day, "08:06"))


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table the application maps."""
    with engine.connect() as connection:
        return {table.name: connection.execute(select(func.count()).select_from(table))
                .scalar_one() for table in Base.metadata.sorted_tables}


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A short-lived session for assertions, closed (and its transaction ended) on exit."""
    with make_sessionmaker(engine)() as session:
        yield session


def case_json(engine: Engine, crime_reference: str) -> dict[str, Any]:
    """The case as `tmc case show --json` prints it."""
    with reading(engine) as session:
        case = cases.get_case_by_reference(session, crime_reference)
        assert case is not None, f"no case {crime_reference}"
        return case_service.case_as_json(case_service.view_case(session, case, everyone=True))


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with the contract's members; returns the parsed body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if slug is not None:
        assert body["type"].endswith(slug), body
    if status == 422:
        assert isinstance(body.get("errors"), list) and body["errors"], body
        for error in body["errors"]:
            assert error.get("field") and error.get("message"), error
    return body
