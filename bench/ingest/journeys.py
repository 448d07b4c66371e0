"""A realistic, deterministic mix of agency events: many cases, each with its own journey.

Each case starts with `case.opened` from the police, then the police investigate; most cases are
handed to the CPS (which links the court) and go through hearings to a sentence, some end with
no further action. A case gets 8 to 19 events, about 15 on average. Events of one case must be
sent in order (a case must be opened, and an agency linked, before it may send events for it);
events of different cases are independent.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

POLICE, CPS, COURT = "bench-police", "bench-cps", "bench-court"
AGENCIES = [
    (POLICE, "police", "Bench Police Service"),
    (CPS, "cps", "Bench Crown Prosecution Service"),
    (COURT, "court", "Bench Crown Court"),
]

OFFENCES = [
    ("Burglary", "burglary"), ("Theft from a vehicle", "theft"), ("Assault", "violence"),
    ("Robbery", "robbery"), ("Criminal damage", "criminal_damage"), ("Fraud", "fraud"),
    ("Stalking", "stalking_harassment"), ("Domestic abuse", "domestic_abuse"),
    ("Racially aggravated harassment", "hate"),
]
BOROUGHS = ["Hackney", "Camden", "Lambeth", "Croydon", "Newham", "Barnet", "Ealing", "Brent"]
UPDATES = [
    "House-to-house enquiries are complete and CCTV has been requested from two shops.",
    "Forensic results are back and are being reviewed by the investigating officer.",
    "We have spoken to two witnesses and are reviewing their accounts.",
    "The file has been reviewed by a supervisor and further enquiries were set.",
]
BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    agency_id: str
    webhook_id: str
    body: str  # the exact JSON text that is signed and sent


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _victim(ref: str, n: int) -> dict[str, Any]:
    return {"victim_ref": ref, "given_name": "Alex", "family_name": f"Testperson{n}",
            "date_of_birth": "1990-05-17", "email": f"{ref.lower()}.{n}@example.com",
            "mobile": f"07700 900{n % 1000:03d}",
            "contact": {"quiet_hours": {"from": "21:00", "to": "08:00"}}}


def case_journey(rng: random.Random, crime_reference: str, n: int) -> list[tuple[str, str, dict]]:
    """(agency_id, type, data) in sending order for one case."""
    crime_type, group = rng.choice(OFFENCES)
    victims = [_victim("V1", n)] + ([_victim("V2", n + 1)] if rng.random() < 0.2 else [])
    steps: list[tuple[str, str, dict]] = [
        (POLICE, "case.opened", {"crime_type": crime_type, "offence_group": group,
                                 "borough": rng.choice(BOROUGHS),
                                 "reported_at": "2026-01-04T18:30:00Z", "victims": victims}),
        (POLICE, "officer.assigned", {"role": "oic", "name": "Priya Shah", "rank": "DC",
                                      "team": "CID", "email": "oic@example.com"}),
        (POLICE, "investigation.update", {"message": rng.choice(UPDATES)}),
        (POLICE, "vps.offered", {"victim_ref": "V1"}),
        (POLICE, "suspect.arrested", {"summary": "A man was arrested at his home address."}),
        (POLICE, "suspect.interviewed", {}),
        (POLICE, "investigation.update", {"message": rng.choice(UPDATES), "victim_ref": "V1"}),
    ]
    if rng.random() < 0.25:
        steps.append((POLICE, "investigation.closed", {"outcome": "evidential_difficulties",
                                                       "vrr_eligible": True}))
        return steps
    steps += [
        (POLICE, "suspect.bailed", {"bail_conditions": ["Not to contact the victim"],
                                    "return_date": "2026-03-02"}),
        (POLICE, "case.agency_linked", {"agency_id": CPS}),
        (CPS, "charging.decision", {"decision": "charge", "charges": [crime_type]}),
        (CPS, "case.agency_linked", {"agency_id": COURT}),
        (COURT, "hearing.scheduled", {"hearing_id": "H1", "hearing_type": "first_appearance",
                                      "court": "Bench Magistrates' Court",
                                      "starts_at": "2026-02-10T10:00:00Z"}),
        (COURT, "hearing.outcome", {"hearing_id": "H1", "outcome": "not_guilty_plea",
                                    "remand": "bail",
                                    "bail_conditions": ["Not to contact the victim"]}),
        (COURT, "hearing.scheduled", {"hearing_id": "H2", "hearing_type": "trial",
                                      "court": "Bench Crown Court",
                                      "window": {"from": "2026-06-01", "to": "2026-06-12"}}),
    ]
    if rng.random() < 0.5:
        steps.append((COURT, "hearing.changed", {"hearing_id": "H2",
                                                 "starts_at": "2026-06-08T10:00:00Z",
                                                 "reason": "The trial date was fixed."}))
    steps += [
        (COURT, "hearing.outcome", {"hearing_id": "H2", "outcome": "convicted",
                                    "remand": "custody"}),
        (COURT, "hearing.scheduled", {"hearing_id": "H3", "hearing_type": "sentence",
                                      "court": "Bench Crown Court",
                                      "starts_at": "2026-07-06T10:00:00Z"}),
        (COURT, "sentence.passed", {"sentence": "Two years' imprisonment",
                                    "custody_months": 24}),
    ]
    return steps


def long_case(updates: int, prefix: str = "LONG") -> list[Event]:
    """One case with `updates` investigation updates after it is opened: per-event cost as a
    case grows."""
    crime_reference = f"{prefix}/000001/26"
    occurred = BASE_TIME
    steps = [(POLICE, "case.opened", {"crime_type": "Burglary", "offence_group": "burglary",
                                      "borough": "Hackney", "reported_at": "2026-01-04",
                                      "victims": [_victim("V1", 1)]})]
    steps += [(POLICE, "investigation.update", {"message": UPDATES[i % len(UPDATES)]})
              for i in range(updates)]
    events = []
    for i, (agency_id, event_type, data) in enumerate(steps):
        occurred += timedelta(hours=1)
        body = json.dumps({"type": event_type, "occurred_at": _stamp(occurred),
                           "crime_reference": crime_reference, "data": data},
                          separators=(",", ":"))
        events.append(Event(agency_id, f"{prefix}-{i}", body))
    return events


def make_cases(total_events: int, prefix: str, seed: int) -> list[list[Event]]:
    """Cases whose journeys add up to exactly `total_events` events (the last one is cut)."""
    rng = random.Random(seed)
    cases: list[list[Event]] = []
    remaining = total_events
    n = 0
    while remaining > 0:
        n += 1
        crime_reference = f"{prefix}/{n:06d}/26"
        occurred = BASE_TIME + timedelta(minutes=n)
        events = []
        for i, (agency_id, event_type, data) in enumerate(case_journey(rng, crime_reference, n)):
            occurred += timedelta(hours=rng.randint(1, 72))
            body = json.dumps({"type": event_type, "occurred_at": _stamp(occurred),
                               "crime_reference": crime_reference, "data": data},
                              separators=(",", ":"))
            events.append(Event(agency_id, f"{prefix}-{n}-{i}", body))
        events = events[:remaining]
        remaining -= len(events)
        cases.append(events)
    return cases
