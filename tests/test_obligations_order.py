"""Late and out-of-order events give the same obligations as in-order ones (property test).

A realistic case is delivered in a random order through the real webhook pipeline. Like real
agencies, a sender whose event is refused because the case is not opened yet (404) or its agency
not linked yet (403) retries it later. Evidence ("the victim was informed") is recorded in the
random order too, once its event exists. Each event's receipt time is fixed, so receipt-based
deadlines are the same whatever the order. The obligations must equal those of the in-order
delivery; the only extra rows allowed are cancelled ones (a belief superseded by a late event).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.obligations import service
from tests import obligation_helpers
from tests.agency_client import opened, victim
from tests.obligation_helpers import (
    Agencies,
    event_pk,
    listing,
    stamp,
    the_victim,
    utc,
)

agencies = obligation_helpers.agencies  # fixture

NOW = utc("2027-02-05T12:00")


@dataclass(frozen=True)
class Send:
    name: str
    agency: str
    type: str
    at: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Told:
    event: str  # the Send.name the victim was informed of
    victim_ref: str
    at: str
    source: str


def _hearing(starts: str) -> dict[str, Any]:
    return {"hearing_id": "H-1", "hearing_type": "trial", "court": "Snaresbrook Crown Court",
            "starts_at": starts}


CASE: tuple[Send | Told, ...] = (
    Send("opened", "police", "case.opened", "2026-12-01T09:00",
         opened("violence", [victim("V1"), victim("V2", date_of_birth="2011-06-01",
                                                   email="v2@example.com")])),
    Send("link-cps", "police", "case.agency_linked", "2026-12-01T09:05",
         {"agency_id": "cps-london"}),
    Send("link-wcu", "police", "case.agency_linked", "2026-12-01T09:06",
         {"agency_id": "wcu-london-north"}),
    Send("arrested", "police", "suspect.arrested", "2026-12-02T10:00", {}),
    Send("referred", "police", "support.referred", "2026-12-03T10:00",
         {"victim_ref": "V1", "service": "Victim Support", "consent": True}),
    Send("update", "police", "investigation.update", "2026-12-20T10:00",
         {"message": "We are reviewing the CCTV."}),
    Send("bailed", "police", "suspect.bailed", "2026-12-21T18:00",
         {"bail_conditions": ["Not to contact the victims"]}),
    Send("charged", "cps", "charging.decision", "2027-01-05T11:00", {"decision": "charge"}),
    Send("late-update", "police", "investigation.update", "2027-01-10T10:00",
         {"message": "The case is now with the CPS."}),
    Send("link-court", "cps", "case.agency_linked", "2027-01-05T12:00",
         {"agency_id": "hmcts-snaresbrook"}),
    Send("listed", "court", "hearing.scheduled", "2027-01-08T10:00",
         _hearing("2027-02-03T10:00:00Z")),
    Send("moved", "court", "hearing.changed", "2027-01-12T10:00",
         {"hearing_id": "H-1", "starts_at": "2027-02-04T10:00:00Z"}),
    Send("witness", "wcu", "witness.required", "2027-01-13T10:00",
         {"victim_ref": "V1", "hearing_id": "H-1"}),
    Send("vps", "police", "vps.offered", "2027-01-20T10:00", {"victim_ref": "V1"}),
    Send("verdict", "court", "hearing.outcome", "2027-02-04T16:00",
         {"hearing_id": "H-1", "outcome": "convicted", "remand": "bail"}),
    Told("charged", "V1", "2027-01-05T15:00", "delivery_receipt"),
    Told("bailed", "V2", "2026-12-21T22:00", "acknowledged"),
    Told("arrested", "V2", "2026-12-09T08:00", "portal_view"),
)

_runs = itertools.count(1)
_RUN_PREFIX = re.compile(r"x\d+\.")


def _received(item: Send) -> str:
    return stamp((utc(item.at) + timedelta(minutes=30)).isoformat())


def _deliver(items: list[Send | Told], agencies: Agencies, session, monkeypatch) -> str:
    """Delivers the case in this order, retrying refused events as an agency would."""
    run = next(_runs)
    ref = f"01/8{run:04d}/26"
    clients = {"police": agencies.police, "cps": agencies.cps, "wcu": agencies.wcu,
               "court": agencies.court}
    receipt = {"at": NOW}
    monkeypatch.setattr("app.agencies.service.utcnow", lambda: receipt["at"])
    monkeypatch.setattr("app.obligations.service.utcnow", lambda: NOW)
    sent: dict[str, str] = {}
    queue = list(items)
    for _attempt in range(len(items) ** 2):
        if not queue:
            break
        item = queue.pop(0)
        if isinstance(item, Told):
            if item.event not in sent:
                queue.append(item)
                continue
            client = clients[next(s.agency for s in CASE
                                  if isinstance(s, Send) and s.name == item.event)]
            service.record_informed(session, the_victim(session, ref, item.victim_ref).id,
                                    event_pk(session, client, sent[item.event]), utc(item.at),
                                    item.source)
            session.commit()
            continue
        receipt["at"] = utc(_received(item))
        webhook_id = f"x{run}.{item.name}"
        response = clients[item.agency].send(item.type, ref, item.data,
                                             occurred_at=stamp(item.at), webhook_id=webhook_id)
        if response.status_code in (403, 404):  # not opened / not linked yet: retry later
            queue.append(item)
            continue
        assert response.status_code == 202, response.text
        sent[item.name] = webhook_id
    assert not queue, queue
    return ref


def _normalised(shown: list[dict[str, Any]]) -> list[tuple[tuple[str, Any], ...]]:
    def clean(value: Any) -> Any:
        return _RUN_PREFIX.sub("", value) if isinstance(value, str) else value

    rows = [tuple(sorted((k, clean(v)) for k, v in o.items())) for o in shown]
    return sorted(rows, key=repr)


def _live(rows: list[tuple[tuple[str, Any], ...]]) -> list[tuple[tuple[str, Any], ...]]:
    return [r for r in rows if dict(r)["status"] != "cancelled"]


def test_obligations_do_not_depend_on_arrival_order(agencies, session, monkeypatch):
    in_order = _normalised(listing(session, _deliver(list(CASE), agencies, session,
                                                     monkeypatch), NOW))
    assert len(in_order) > 30
    statuses = {dict(r)["status"] for r in in_order}
    assert {"met", "met_late", "breached", "cancelled", "open"} <= statuses

    @settings(max_examples=8, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.permutations(CASE))
    def same_obligations(order: list[Send | Told]) -> None:
        shown = _normalised(listing(session, _deliver(order, agencies, session, monkeypatch),
                                    NOW))
        assert _live(shown) == _live(in_order)
        extra = [r for r in shown if r not in in_order]
        assert all(dict(r)["status"] == "cancelled" for r in extra), extra
        assert all(r in shown for r in in_order)

    same_obligations()
