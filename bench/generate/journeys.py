"""London-shaped cases and their journeys through the agencies, deterministic per case number.

Each case is one crime reported to the Metropolitan Police in one of the 32 boroughs, in a
London-like offence mix, at a time spread evenly over the `years` before `until`. Its journey is
the agency events a real case of that kind would produce, in order, about 20 on average:

- most end in the investigation: no suspect identified (about half of all cases), the police
  take no further action, the victim withdraws, or an out-of-court disposal;
- some go to the CPS, which decides not to charge, or (about 1 in 10 of all cases) charges;
- charged cases go to court: a first appearance, a plea or a trial (on a warned list), a
  verdict, a sentence; custodial sentences bring in the Probation Service.

Events dated after `until` have not happened yet: the case is still open (recent cases are).
Case `n` always gets the same journey for the same seed, so any subset can be rebuilt alone
(the test replays some through the real receiver and compares).

People are synthetic: "Alex Testperson<n>", @example.com, Ofcom drama numbers 07700 900xxx.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# (key, agency_id, kind, name): registered through the real `add_agency`
AGENCIES = [
    ("police", "met-police", "police", "Metropolitan Police Service"),
    ("cps", "cps-london", "cps", "CPS London"),
    ("wcu", "wcu-london", "witness_care", "London Witness Care Unit"),
    ("court", "hmcts-london", "court", "HM Courts and Tribunals Service London"),
    ("probation", "probation-london", "probation", "Probation Service London"),
    ("support", "victim-support-london", "support_service", "Victim Support London"),
]
AGENCY_IDS = {key: agency_id for key, agency_id, _kind, _name in AGENCIES}

BOROUGHS = [
    "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "Croydon",
    "Ealing", "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey", "Harrow",
    "Havering", "Hillingdon", "Hounslow", "Islington", "Kensington and Chelsea",
    "Kingston upon Thames", "Lambeth", "Lewisham", "Merton", "Newham", "Redbridge",
    "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest",
    "Wandsworth", "Westminster",
]
# Rough shares of recorded crime by borough: Westminster has far more than Sutton.
BOROUGH_WEIGHTS = [3, 3, 2, 4, 3, 4, 4, 4, 3, 3, 4, 3, 3, 2, 2, 3, 3, 3, 3, 2, 4, 3, 2, 4, 3,
                   2, 4, 2, 4, 3, 3, 9]

# offence group -> (share of cases in percent, crime types): victim-based crime in London
OFFENCES: dict[str, tuple[float, list[str]]] = {
    "theft": (33, ["Theft from the person", "Theft of a mobile phone", "Shoplifting",
                   "Theft from a motor vehicle", "Theft of a pedal cycle"]),
    "violence": (24, ["Common assault", "Assault occasioning actual bodily harm",
                      "Wounding with intent"]),
    "burglary": (8, ["Burglary of a home", "Burglary of business premises"]),
    "domestic_abuse": (8, ["Domestic abuse: assault", "Controlling or coercive behaviour"]),
    "criminal_damage": (7, ["Criminal damage to a vehicle", "Criminal damage to a dwelling"]),
    "fraud": (5, ["Fraud by false representation", "Online shopping fraud"]),
    "robbery": (4, ["Robbery of personal property"]),
    "stalking_harassment": (4, ["Harassment", "Stalking"]),
    "sexual": (3, ["Sexual assault", "Rape"]),
    "hate": (2, ["Racially aggravated harassment", "Religiously aggravated assault"]),
    "other": (2, ["Public order offence"]),
}
_GROUPS = list(OFFENCES)
_GROUP_WEIGHTS = [OFFENCES[g][0] for g in _GROUPS]

OFFICERS = ["Priya Shah", "Tom Okafor", "Hannah Lewis", "Marek Nowak", "Aisha Rahman",
            "James Whitfield", "Chloe Adeyemi", "Daniel Costa"]
UPDATES = [
    "We have asked for CCTV from nearby shops and transport.",
    "House-to-house enquiries are complete.",
    "Forensic results are back and are being reviewed.",
    "We have spoken to two witnesses and are reviewing their accounts.",
    "Your case has been reviewed by a supervisor, who set further enquiries.",
    "We are waiting for phone records.",
    "We have circulated a description of the suspect.",
    "We are still waiting for the results of enquiries. We will update you next month.",
]
COURTS = [
    ("Highbury Corner Magistrates' Court", "Southwark Crown Court"),
    ("Westminster Magistrates' Court", "Southwark Crown Court"),
    ("Thames Magistrates' Court", "Snaresbrook Crown Court"),
    ("Croydon Magistrates' Court", "Croydon Crown Court"),
    ("Wimbledon Magistrates' Court", "Kingston Crown Court"),
    ("Willesden Magistrates' Court", "Harrow Crown Court"),
    ("Bromley Magistrates' Court", "Woolwich Crown Court"),
]
SUPPORT_SERVICE = "Victim Support London"


@dataclass(frozen=True)
class Step:
    agency: str  # key in AGENCY_IDS
    type: str
    data: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class CaseJourney:
    n: int
    crime_reference: str
    steps: list[Step]


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def webhook_id(prefix: str, n: int, i: int) -> str:
    return f"{prefix}-{n}-{i}"


class _Clock:
    """Strictly increasing event times within a case (ties would be broken by webhook-id)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def after(self, rng: random.Random, low_hours: float, high_hours: float) -> datetime:
        self.now += timedelta(hours=rng.uniform(low_hours, high_hours), seconds=1)
        return self.now.replace(microsecond=0)


def _victim(rng: random.Random, n: int, ref: str, reported: datetime) -> dict[str, Any]:
    age_years = rng.choice([rng.randint(12, 17), *(rng.randint(18, 85) for _ in range(7))])
    born = (reported - timedelta(days=age_years * 365 + rng.randint(0, 364))).date()
    victim: dict[str, Any] = {
        "victim_ref": ref, "given_name": "Alex", "family_name": f"Testperson{n}",
        "date_of_birth": born.isoformat(),
        "email": f"alex.testperson{n}.{ref.lower()}@example.com",
        "mobile": f"07700 900{(n * 7 + len(ref)) % 1000:03d}",
    }
    if rng.random() < 0.03:
        victim["preferred_language"] = "cy"
    if rng.random() < 0.08:
        victim["enhanced_rights"] = [rng.choice(["vulnerable", "intimidated",
                                                 "persistently_targeted"])]
    if rng.random() < 0.3:
        victim["contact"] = {"quiet_hours": {"from": "21:00", "to": "08:00"}}
    return victim


def _investigation(rng: random.Random, clock: _Clock, victims: list[str],
                   updates: int) -> list[Step]:
    steps = []
    for _ in range(updates):
        data: dict[str, Any] = {"message": rng.choice(UPDATES)}
        if len(victims) > 1 and rng.random() < 0.3:
            data["victim_ref"] = rng.choice(victims)
        steps.append(Step("police", "investigation.update", data, clock.after(rng, 72, 24 * 21)))
    return steps


def _support(rng: random.Random, clock: _Clock) -> list[Step]:
    if rng.random() > 0.55:
        return []
    steps = [
        Step("police", "support.referred", {"victim_ref": "V1", "service": SUPPORT_SERVICE,
                                            "consent": True}, clock.after(rng, 1, 48)),
    ]
    if rng.random() < 0.65:
        steps += [
            Step("police", "case.agency_linked", {"agency_id": AGENCY_IDS["support"]},
                 clock.after(rng, 0.1, 2)),
            Step("support", "support.accepted", {
                "victim_ref": "V1", "service": SUPPORT_SERVICE,
                "worker_name": rng.choice(["Sam Carter", "Jo Mensah", "Ravi Patel"]),
                "contact": "Weekdays 9am to 5pm on 020 7946 0000"}, clock.after(rng, 12, 96)),
        ]
        if rng.random() < 0.5:
            steps.append(Step("support", "support.closed", {"victim_ref": "V1"},
                              clock.after(rng, 24 * 14, 24 * 60)))
    return steps


def _court(rng: random.Random, clock: _Clock, crime_type: str, victims: list[str]) -> list[Step]:
    """Charge to verdict and sentence."""
    magistrates, crown = rng.choice(COURTS)
    steps = [
        Step("cps", "case.agency_linked", {"agency_id": AGENCY_IDS["wcu"]},
             clock.after(rng, 0.1, 4)),
        Step("cps", "case.agency_linked", {"agency_id": AGENCY_IDS["court"]},
             clock.after(rng, 0.1, 4)),
        Step("wcu", "witness_care.assigned", {"name": rng.choice(OFFICERS),
                                              "phone": "020 7946 0111"},
             clock.after(rng, 24, 96)),
    ]
    first = clock.now + timedelta(days=rng.randint(14, 35))
    steps.append(Step("court", "hearing.scheduled", {
        "hearing_id": "H1", "hearing_type": "first_appearance", "court": magistrates,
        "starts_at": stamp(first.replace(hour=10, minute=0, second=0))},
        clock.after(rng, 1, 24)))
    clock.now = max(clock.now, first)
    if rng.random() < 0.45:  # guilty plea at the first hearing
        steps.append(Step("court", "hearing.outcome", {"hearing_id": "H1",
                                                       "outcome": "guilty_plea",
                                                       "remand": "bail",
                                                       "bail_conditions": [
                                                           "Not to contact the victim"]},
                          clock.after(rng, 2, 8)))
        return steps + _sentence(rng, clock, crown, "H2")
    steps.append(Step("court", "hearing.outcome", {
        "hearing_id": "H1", "outcome": "not_guilty_plea",
        "remand": rng.choice(["bail", "bail", "custody"]),
        "bail_conditions": ["Not to contact the victim", "Not to enter the borough"]},
        clock.after(rng, 2, 8)))
    window_from = (clock.now + timedelta(days=rng.randint(150, 360))).date()
    steps.append(Step("court", "hearing.scheduled", {
        "hearing_id": "H2", "hearing_type": "trial", "court": crown,
        "window": {"from": window_from.isoformat(),
                   "to": (window_from + timedelta(days=11)).isoformat()}},
        clock.after(rng, 1, 48)))
    for ref in victims:
        steps.append(Step("wcu", "witness.required", {"victim_ref": ref, "hearing_id": "H2"},
                          clock.after(rng, 24, 24 * 14)))
    if rng.random() < 0.4:
        steps.append(Step("wcu", "special_measures.decided", {
            "victim_ref": "V1", "granted": ["screens"], "refused": []},
            clock.after(rng, 24 * 7, 24 * 60)))
    steps.append(Step("wcu", "pretrial_visit.offered", {"victim_ref": "V1", "court": crown},
                      clock.after(rng, 24 * 7, 24 * 60)))
    if rng.random() < 0.1:
        steps.append(Step("cps", "prosecution.discontinued", {
            "explanation": "A key witness is no longer able to give evidence.",
            "vrr_eligible": True}, clock.after(rng, 24 * 30, 24 * 90)))
        return steps
    trial = datetime.combine(window_from + timedelta(days=rng.randint(0, 11)),
                             datetime.min.time(), UTC).replace(hour=10)
    if rng.random() < 0.5:
        steps.append(Step("court", "hearing.changed", {
            "hearing_id": "H2", "starts_at": stamp(trial),
            "reason": "The trial date has been fixed."}, clock.after(rng, 24 * 30, 24 * 90)))
    clock.now = max(clock.now, trial)
    if rng.random() < 0.3:
        steps.append(Step("court", "hearing.outcome", {"hearing_id": "H2",
                                                       "outcome": "acquitted"},
                          clock.after(rng, 24, 24 * 5)))
        return steps
    steps.append(Step("court", "hearing.outcome", {"hearing_id": "H2", "outcome": "convicted",
                                                   "remand": "custody"},
                      clock.after(rng, 24, 24 * 5)))
    return steps + _sentence(rng, clock, crown, "H3")


def _sentence(rng: random.Random, clock: _Clock, crown: str, hearing_id: str) -> list[Step]:
    day = clock.now + timedelta(days=rng.randint(21, 42))
    steps = [Step("court", "hearing.scheduled", {
        "hearing_id": hearing_id, "hearing_type": "sentence", "court": crown,
        "starts_at": stamp(day.replace(hour=10, minute=0, second=0))},
        clock.after(rng, 1, 24))]
    clock.now = max(clock.now, day)
    months = rng.choice([0, 0, 6, 12, 18, 24, 36, 48])
    sentence = (f"{months} months' imprisonment" if months else
                "A community order with 150 hours of unpaid work")
    steps.append(Step("court", "sentence.passed", {"sentence": sentence,
                                                   "custody_months": months or None},
                      clock.after(rng, 2, 6)))
    if months >= 12:
        steps += [
            Step("court", "case.agency_linked", {"agency_id": AGENCY_IDS["probation"]},
                 clock.after(rng, 1, 48)),
            Step("probation", "vcs.referred", {"victim_ref": "V1"},
                 clock.after(rng, 24, 24 * 20)),
            Step("probation", "vlo.assigned", {"name": rng.choice(OFFICERS),
                                               "email": "vlo.london@example.com"},
                 clock.after(rng, 24, 24 * 30)),
        ]
    return steps


def _ending(rng: random.Random, clock: _Clock, crime_type: str,
            victims: list[str]) -> list[Step]:
    """What happens once the first enquiries are done."""
    roll = rng.random()
    if roll < 0.50:
        return [Step("police", "investigation.closed", {"outcome": "no_suspect_identified"},
                     clock.after(rng, 24, 24 * 30))]
    steps = [
        Step("police", "suspect.arrested", {"summary": "A suspect was arrested."},
             clock.after(rng, 24, 24 * 30)),
        Step("police", "suspect.interviewed", {}, clock.after(rng, 2, 24)),
    ]
    if rng.random() < 0.55:
        steps.append(Step("police", "suspect.bailed", {
            "bail_conditions": ["Not to contact the victim"],
            "return_date": (clock.now + timedelta(days=28)).date().isoformat()},
            clock.after(rng, 0.5, 4)))
    else:
        steps.append(Step("police", "suspect.released_under_investigation", {},
                          clock.after(rng, 0.5, 4)))
    steps += _investigation(rng, clock, victims, rng.randint(1, 3))
    if roll < 0.70:
        steps.append(Step("police", "investigation.closed", {
            "outcome": rng.choice(["evidential_difficulties", "no_further_action"]),
            "vrr_eligible": True}, clock.after(rng, 24, 24 * 30)))
        return steps
    if roll < 0.75:
        steps.append(Step("police", "investigation.closed", {"outcome": "victim_withdrew"},
                          clock.after(rng, 24, 24 * 30)))
        return steps
    if roll < 0.79:
        steps.append(Step("police", "out_of_court_disposal", {
            "disposal": rng.choice(["caution", "community_resolution"])},
            clock.after(rng, 24, 24 * 30)))
        return steps
    steps += [
        Step("police", "case.agency_linked", {"agency_id": AGENCY_IDS["cps"]},
             clock.after(rng, 24, 24 * 30)),
    ]
    if roll < 0.88:  # the CPS does not charge
        steps.append(Step("cps", "charging.decision", {
            "decision": "no_further_action",
            "explanation": "There is not enough evidence for a realistic prospect of conviction.",
            "vrr_eligible": True}, clock.after(rng, 24 * 7, 24 * 60)))
        return steps
    steps.append(Step("cps", "charging.decision", {"decision": "charge",
                                                   "charges": [crime_type]},
                      clock.after(rng, 24 * 7, 24 * 60)))
    return steps + _court(rng, clock, crime_type, victims)


def journey(seed: int, n: int, until: datetime, years: int, total: int,
            prefix: str = "LDN") -> CaseJourney:
    """Case number `n` (1-based) of `total`, reported at an even spread over the `years`
    before `until`; steps after `until` are left out (they have not happened yet)."""
    rng = random.Random(seed * 1_000_003 + n)
    span = timedelta(days=365 * years)
    reported = until - timedelta(days=1) - span + span * ((n - 0.5) / total)
    reported = reported.replace(microsecond=0)
    group = rng.choices(_GROUPS, _GROUP_WEIGHTS)[0]
    crime_type = rng.choice(OFFENCES[group][1])
    refs = ["V1", "V2"] if rng.random() < 0.12 else ["V1"]
    reference = f"{prefix}/{n:07d}/{reported.year % 100:02d}"
    clock = _Clock(reported)
    steps = [
        Step("police", "case.opened", {
            "crime_type": crime_type, "offence_group": group,
            "borough": rng.choices(BOROUGHS, BOROUGH_WEIGHTS)[0],
            "reported_at": stamp(reported),
            "victims": [_victim(rng, n, ref, reported) for ref in refs]},
            clock.after(rng, 0.2, 6)),
        Step("police", "officer.assigned", {
            "role": "oic", "name": rng.choice(OFFICERS), "rank": rng.choice(["PC", "DC"]),
            "team": f"{rng.choice(['North', 'South', 'East', 'West', 'Central'])} Area CID",
            "email": "oic.london@example.com", "phone": "101",
            "working_pattern": "Monday to Friday, 8am to 4pm"}, clock.after(rng, 1, 48)),
        Step("police", "vps.offered", {"victim_ref": "V1"}, clock.after(rng, 1, 72)),
    ]
    steps += _support(rng, clock)
    steps += _investigation(rng, clock, refs, rng.randint(8, 16))
    if rng.random() < 0.15:  # the officer in charge changes
        steps.append(Step("police", "officer.assigned", {
            "role": "oic", "name": rng.choice(OFFICERS), "rank": "DC",
            "team": "Central Area CID"}, clock.after(rng, 24, 24 * 30)))
    if rng.random() < 0.3:
        steps.append(Step("police", "vps.recorded" if rng.random() < 0.6 else "vps.declined",
                          {"victim_ref": "V1"}, clock.after(rng, 24, 24 * 14)))
    steps += _ending(rng, clock, crime_type, refs)
    steps = [step for step in steps if step.occurred_at <= until]
    return CaseJourney(n, reference, steps)
