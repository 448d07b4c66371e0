"""Hand-built case facts for exercising the obligations engine without a database."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from app.obligations import calendar, engine

_pks = itertools.count(1)

KINDS = {"met-police": "police", "cps-london": "cps", "wcu-london-north": "witness_care",
         "hmcts-snaresbrook": "court", "probation-london": "probation"}
AGENCY_PKS = {agency_id: index for index, agency_id in enumerate(KINDS, start=1)}


def utc(value: str) -> datetime:
    """'2026-12-01T09:00' (UTC) or a day '2026-12-01' (09:00 UTC)."""
    if "T" not in value:
        value += "T09:00"
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def end(day: str) -> datetime:
    return calendar.end_of_day(date.fromisoformat(day))


def person(ref: str = "V1", **overrides: Any) -> dict[str, Any]:
    return {"victim_ref": ref, "given_name": "Alex", "family_name": "Testperson",
            "date_of_birth": "1990-05-17", "enhanced_rights": []} | overrides


def ev(event_type: str, at: str, data: dict[str, Any] | None = None, *,
       agency: str | None = None, received: str | None = None,
       webhook_id: str | None = None) -> engine.EventFact:
    agency = agency or _default_agency(event_type)
    pk = next(_pks)
    return engine.EventFact(pk=pk, type=event_type, occurred_at=utc(at),
                            received_at=utc(received or at), agency_pk=AGENCY_PKS[agency],
                            agency_id=agency, agency_kind=KINDS[agency],
                            webhook_id=webhook_id or f"w-{pk}", data=data or {})


def _default_agency(event_type: str) -> str:
    from app.agencies.catalogue import CATALOGUE

    kind = sorted(CATALOGUE[event_type].kinds)[0]
    return next(a for a, k in KINDS.items() if k == kind)


def opened_event(at: str = "2026-12-01", victims: list[dict[str, Any]] | None = None
                 ) -> engine.EventFact:
    return ev("case.opened", at, {"crime_type": "Burglary", "offence_group": "burglary",
                                  "borough": "Hackney", "reported_at": at,
                                  "victims": victims or [person()]})


def facts(*events: engine.EventFact, offence_group: str = "burglary",
          reported_at: str = "2026-12-01", victims: dict[str, int] | None = None,
          **kwargs: Any) -> engine.CaseFacts:
    victims = victims or {"V1": 101}
    return engine.CaseFacts(
        offence_group=offence_group, reported_at=utc(reported_at), events=list(events),
        victims=[engine.VictimFact(pk, ref) for ref, pk in victims.items()],
        agency_by_kind={k: AGENCY_PKS[a] for a, k in KINDS.items()}, **kwargs)


def informed(victim_pk: int, event: engine.EventFact, at: str,
             source: str = "delivery_receipt") -> engine.EvidenceFact:
    return engine.EvidenceFact(victim_pk, event.pk, "informed", source, utc(at))


def rows(case_facts: engine.CaseFacts, rule_id: str | None = None) -> list[engine.Computed]:
    return [c for c in engine.evaluate(case_facts) if rule_id is None or c.rule_id == rule_id]


def one(case_facts: engine.CaseFacts, rule_id: str) -> engine.Computed:
    found = rows(case_facts, rule_id)
    assert len(found) == 1, found
    return found[0]
