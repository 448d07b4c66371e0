"""Property (agency-events.md s.3): events arrive late, duplicated and out of order, and the case
must end up the same as if they had arrived in the order they happened.

Each example delivers one realistic journey in a random arrival order, as agencies would: an
event refused because its case is not open yet (404) or its agency not linked yet (403) is
retried later with the same webhook-id and body, and some accepted events are delivered twice.
Every example uses its own crime reference, so examples share one database."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.agency_client import at, opened
from tests.journeys import V1, V2, Cast, case_json, register_cast

# name, sender, type, data, occurred_at: all distinct, in the order they happened.
JOURNEY: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("opened", "police", "case.opened", opened(victims=[V1, V2]), at("2026-11-20", "08:00")),
    ("oic-1", "police", "officer.assigned", {"role": "oic", "name": "Priya Example",
                                             "rank": "DC"}, at("2026-11-20", "09:00")),
    ("link-cps", "police", "case.agency_linked", {"agency_id": "cps-london"},
     at("2026-11-21")),
    ("link-wcu", "police", "case.agency_linked", {"agency_id": "wcu-london-north"},
     at("2026-11-21", "10:00")),
    ("bailed", "police", "suspect.bailed", {"bail_conditions": ["Not to contact the victims"],
                                            "return_date": "2027-01-10"}, at("2026-11-22")),
    ("oic-2", "police", "officer.assigned", {"role": "oic", "name": "Morgan Example",
                                             "rank": "DS"}, at("2026-11-25")),
    ("bail-changed", "police", "suspect.bail_conditions_changed",
     {"bail_conditions": ["Not to enter Hackney"]}, at("2026-12-01")),
    ("vps-v2", "police", "vps.offered", {"victim_ref": "V2"}, at("2026-12-02")),
    ("charged", "cps", "charging.decision", {"decision": "charge", "charges": ["Burglary"]},
     at("2026-12-10")),
    ("link-court", "cps", "case.agency_linked", {"agency_id": "hmcts-snaresbrook"},
     at("2026-12-10", "12:00")),
    ("wcu-officer", "wcu", "witness_care.assigned", {"name": "Chris Example"}, at("2026-12-11")),
    ("listed", "court", "hearing.scheduled",
     {"hearing_id": "H-1", "hearing_type": "trial", "court": "Snaresbrook Crown Court",
      "address": "75 Hollybush Hill, London E11 1QW", "starts_at": "2027-02-03T10:00:00Z"},
     at("2026-12-12")),
    ("witness", "wcu", "witness.required", {"victim_ref": "V1", "hearing_id": "H-1"},
     at("2026-12-13")),
    ("moved", "court", "hearing.changed",
     {"hearing_id": "H-1", "starts_at": "2027-03-01T10:00:00Z",
      "court": "Wood Green Crown Court", "reason": "The court room is being repaired."},
     at("2026-12-20")),
    ("convicted", "court", "hearing.outcome",
     {"hearing_id": "H-1", "outcome": "convicted", "remand": "custody"},
     at("2027-03-01", "16:00")),
    ("sentencing", "court", "hearing.scheduled",
     {"hearing_id": "H-2", "hearing_type": "sentence", "court": "Wood Green Crown Court",
      "window": {"from": "2027-04-05", "to": "2027-04-09"}}, at("2027-03-01", "16:05")),
]
NAMES = [name for name, *_ in JOURNEY]
RETRY_LATER = {(404, "unknown-case"), (403, "not-linked")}
_references = itertools.count(1)


def deliver(cast: Cast, order: list[str], redeliver: frozenset[str] = frozenset()) -> str:
    """Delivers the journey in `order` under a fresh crime reference, like agencies retrying."""
    reference = f"01/{next(_references):05d}/27"
    events = {name: rest for name, *rest in JOURNEY}
    pending = list(order)
    while pending:
        waiting = []
        for name in pending:
            sender, event_type, data, occurred_at = events[name]
            agency = getattr(cast, sender)
            body = json.dumps(agency.envelope(event_type, reference, data, occurred_at))
            webhook_id = f"{reference}|{name}"
            response = agency.post_raw(body, agency.signed_headers(body, webhook_id))
            if response.status_code == 202:
                if name in redeliver:
                    again = agency.post_raw(body, agency.signed_headers(body, webhook_id))
                    assert again.status_code == 200, again.text
                continue
            slug = response.json()["type"].rsplit(":", 1)[-1]
            assert (response.status_code, slug) in RETRY_LATER, (name, response.text)
            waiting.append(name)
        assert len(waiting) < len(pending), f"no progress with {waiting}"
        pending = waiting
    return reference


def normalised(shown: dict[str, Any], reference: str) -> dict[str, Any]:
    """The case without what differs by construction between examples (reference, ids);
    hearings are compared as a set: their list order is not part of the contract."""
    shown = copy.deepcopy(shown)
    assert shown.pop("crime_reference") == reference
    for entry in shown["timeline"]:
        entry["event_id"] = entry["event_id"].removeprefix(f"{reference}|")
    shown["hearings"] = sorted(shown["hearings"], key=lambda h: h["hearing_id"])
    return shown


@pytest.fixture
def cast(registry, police) -> Cast:
    return register_cast(registry, police)


def test_any_arrival_order_gives_the_same_case(cast, engine):
    natural = deliver(cast, NAMES)
    expected = normalised(case_json(engine, natural), natural)
    assert [e["event_id"] for e in expected["timeline"]] == NAMES
    assert expected["stage"] == "at_court"
    assert expected["officers"]["oic"]["name"] == "Morgan Example"
    assert expected["hearings"][0]["court"] == "Wood Green Crown Court"

    @settings(max_examples=25, deadline=None)
    @given(order=st.permutations(NAMES), redeliver=st.frozensets(st.sampled_from(NAMES)))
    @example(order=list(reversed(NAMES)), redeliver=frozenset(NAMES))
    def arrives_in_any_order(order: list[str], redeliver: frozenset[str]) -> None:
        reference = deliver(cast, order, redeliver)
        assert normalised(case_json(engine, reference), reference) == expected

    arrives_in_any_order()
