"""The case projection (agency-events.md s.3, s.5): state derived from events follows the event
with the latest occurred_at, never the last one received; the timeline is ordered by
occurred_at, reads in plain English and shows victim-specific entries to that victim only."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.agencies import catalogue, schemas
from app.cases import repository as cases
from app.core.i18n import translator
from tests.agency_client import at, opened, victim
from tests.journeys import (
    V1,
    VICTIM_PERSONAL_DATA,
    Cast,
    case_json,
    open_linked_case,
    reading,
    register_cast,
)

REF = "01/34567/26"
EN = translator("en")


@pytest.fixture
def cast(registry, police) -> Cast:
    return register_cast(registry, police)


@pytest.fixture
def case(cast: Cast) -> str:
    open_linked_case(cast, REF)
    return REF


def hearing(hearing_id: str = "H-1", starts_at: str = "2027-02-03T10:00:00Z",
            **extra: Any) -> dict[str, Any]:
    return {"hearing_id": hearing_id, "hearing_type": "trial",
            "court": "Snaresbrook Crown Court", "starts_at": starts_at} | extra


def the_hearing(engine, hearing_id: str = "H-1") -> dict[str, Any]:
    return next(h for h in case_json(engine, REF)["hearings"] if h["hearing_id"] == hearing_id)


def timeline_types(engine) -> list[str]:
    return [entry["type"] for entry in case_json(engine, REF)["timeline"]]


# --- latest occurred_at wins ------------------------------------------------------------------

def test_latest_hearing_change_wins_not_the_last_received(cast, case, engine):
    court = cast.court
    court.send_ok("hearing.scheduled", REF, hearing(), at("2026-12-01"), webhook_id="h-sched")
    court.send_ok("hearing.changed", REF,
                  {"hearing_id": "H-1", "starts_at": "2027-03-01T10:00:00Z",
                   "reason": "The judge is not available."},
                  at("2026-12-10"), webhook_id="h-newest")
    # An older change, delayed in the agency's outbox, arrives last.
    court.send_ok("hearing.changed", REF,
                  {"hearing_id": "H-1", "starts_at": "2027-02-20T10:00:00Z",
                   "court": "Wood Green Crown Court"},
                  at("2026-12-05"), webhook_id="h-late")
    shown = the_hearing(engine)
    assert shown["starts_at"].startswith("2027-03-01T10:00:00")
    # Nothing newer moved the court, so the late event's court change stands.
    assert shown["court"] == "Wood Green Crown Court"
    assert shown["hearing_type"] == "trial"
    assert shown["status"] == "scheduled"
    hearing_entries = [e["event_id"] for e in case_json(engine, REF)["timeline"]
                       if e["type"].startswith("hearing.")]
    assert hearing_entries == ["h-sched", "h-late", "h-newest"]  # by occurred_at


def test_timeline_is_ordered_by_the_instant_whatever_the_offset(cast, case, engine):
    police = cast.police
    police.send_ok("investigation.update", REF, {"message": "Second."}, "2026-12-01T10:00:00Z",
                   webhook_id="utc")
    police.send_ok("investigation.update", REF, {"message": "First."},
                   "2026-12-01T10:30:00+01:00", webhook_id="plus-one")
    police.send_ok("investigation.update", REF, {"message": "Third."},
                   "2026-12-01T05:15:00-05:00", webhook_id="minus-five")
    ids = [e["event_id"] for e in case_json(engine, REF)["timeline"]]
    assert ids[-3:] == ["plus-one", "utc", "minus-five"]


def test_a_changed_window_replaces_a_fixed_time_and_back(cast, case, engine):
    court = cast.court
    court.send_ok("hearing.scheduled", REF, hearing(), at("2026-12-01"))
    court.send_ok("hearing.changed", REF,
                  {"hearing_id": "H-1", "window": {"from": "2027-04-05", "to": "2027-04-09"}},
                  at("2026-12-02"))
    shown = the_hearing(engine)
    assert shown["starts_at"] is None
    assert shown["window"] == {"from": "2027-04-05", "to": "2027-04-09"}
    court.send_ok("hearing.changed", REF,
                  {"hearing_id": "H-1", "starts_at": "2027-04-06T09:30:00Z"}, at("2026-12-03"))
    shown = the_hearing(engine)
    assert shown["starts_at"].startswith("2027-04-06T09:30:00")
    assert shown["window"] is None


def test_a_new_court_does_not_keep_the_old_court_address(cast, case, engine):
    court = cast.court
    court.send_ok("hearing.scheduled", REF,
                  hearing(address="75 Hollybush Hill, London E11 1QW"), at("2026-12-01"))
    court.send_ok("hearing.changed", REF, {"hearing_id": "H-1", "court": "Wood Green Crown Court"},
                  at("2026-12-02"))
    shown = the_hearing(engine)
    assert (shown["court"], shown["address"]) == ("Wood Green Crown Court", None)
    court.send_ok("hearing.changed", REF, {"hearing_id": "H-1", "address": "Lordship Lane, N22"},
                  at("2026-12-03"))
    shown = the_hearing(engine)
    assert (shown["court"], shown["address"]) == ("Wood Green Crown Court", "Lordship Lane, N22")


def test_hearing_changed_before_its_hearing_scheduled(cast, case, engine):
    court = cast.court
    court.send_ok("hearing.changed", REF,
                  {"hearing_id": "H-1", "starts_at": "2027-03-01T10:00:00Z",
                   "reason": "Moved to a longer slot."}, at("2026-12-10"), webhook_id="chg")
    early = the_hearing(engine)
    assert early["starts_at"].startswith("2027-03-01T10:00:00")
    court.send_ok("hearing.scheduled", REF, hearing(), at("2026-12-01"), webhook_id="sched")
    shown = the_hearing(engine)
    assert shown["starts_at"].startswith("2027-03-01T10:00:00")  # the change is newer
    assert shown["hearing_type"] == "trial"  # what only the listing said
    assert shown["court"] == "Snaresbrook Crown Court"
    assert len(case_json(engine, REF)["hearings"]) == 1
    assert [e["event_id"] for e in case_json(engine, REF)["timeline"]
            if e["type"].startswith("hearing.")] == ["sched", "chg"]


def test_vacated_before_scheduled_stays_vacated(cast, case, engine):
    cast.court.send_ok("hearing.vacated", REF, {"hearing_id": "H-2", "reason": "Plea entered."},
                       at("2026-12-10"))
    cast.court.send_ok("hearing.scheduled", REF, hearing("H-2"), at("2026-12-01"))
    assert the_hearing(engine, "H-2")["status"] == "vacated"


def test_hearing_outcome_concludes_and_a_late_listing_does_not_reopen(cast, case, engine):
    court = cast.court
    court.send_ok("hearing.outcome", REF, {"hearing_id": "H-1", "outcome": "guilty_plea"},
                  at("2027-02-03", "15:00"))
    court.send_ok("hearing.scheduled", REF, hearing(), at("2026-12-01"))
    shown = the_hearing(engine)
    assert (shown["status"], shown["outcome"]) == ("concluded", "guilty_plea")


def test_officer_hand_over(cast, case, engine):
    police = cast.police
    police.send_ok("officer.assigned", REF, {"role": "oic", "name": "Priya Example",
                                             "rank": "DC"}, at("2026-11-21"))
    police.send_ok("officer.assigned", REF, {"role": "soit", "name": "Lee Example"},
                   at("2026-11-22"))
    police.send_ok("officer.assigned", REF, {"role": "oic", "name": "Morgan Example",
                                             "rank": "DS"}, at("2026-11-25"))
    officers = case_json(engine, REF)["officers"]
    assert officers["oic"]["name"] == "Morgan Example"
    assert officers["oic"]["previous"] == "Priya Example"
    assert officers["oic"]["agency_id"] == police.agency_id
    assert officers["soit"]["name"] == "Lee Example"
    assert officers["soit"]["previous"] is None
    # A hand-over made earlier in the agency's world arrives late: it is history, not current.
    police.send_ok("officer.assigned", REF, {"role": "oic", "name": "Late Example"},
                   at("2026-11-23"))
    officers = case_json(engine, REF)["officers"]
    assert officers["oic"]["name"] == "Morgan Example"
    assert officers["oic"]["previous"] == "Late Example"
    assert officers["oic"]["since"].startswith("2026-11-25")
    texts = [e["text"] for e in case_json(engine, REF)["timeline"]
             if e["type"] == "officer.assigned"]
    assert "DS Morgan Example is now your officer in charge." in texts


def test_witness_care_and_victim_liaison_officers(cast, case, engine):
    cast.wcu.send_ok("witness_care.assigned", REF, {"name": "Chris Example"}, at("2026-12-01"))
    cast.probation.send_ok("vlo.assigned", REF, {"name": "Robin Example"}, at("2027-03-01"))
    officers = case_json(engine, REF)["officers"]
    assert officers["witness_care"] == officers["witness_care"] | {
        "name": "Chris Example", "agency_id": cast.wcu.agency_id}
    assert officers["vlo"]["name"] == "Robin Example"
    assert officers["vlo"]["agency_id"] == cast.probation.agency_id


def test_bail_conditions_follow_the_latest_event(cast, case, engine):
    police, court = cast.police, cast.court
    police.send_ok("suspect.bailed", REF,
                   {"bail_conditions": ["Not to contact the victim", "Curfew 7pm to 7am"],
                    "return_date": "2027-01-10"}, at("2026-11-22"))
    police.send_ok("suspect.bail_conditions_changed", REF,
                   {"bail_conditions": ["Not to enter Hackney"]}, at("2026-12-10"))
    police.send_ok("suspect.bail_conditions_changed", REF,  # older, arrives late
                   {"bail_conditions": ["Curfew 9pm to 6am"]}, at("2026-12-01"))
    shown = case_json(engine, REF)
    assert shown["bail_conditions"] == ["Not to enter Hackney"]
    assert shown["suspect_status"] == "bailed"

    police.send_ok("suspect.released_under_investigation", REF, {}, at("2026-12-20"))
    shown = case_json(engine, REF)
    assert (shown["suspect_status"], shown["bail_conditions"]) == (
        "released_under_investigation", [])

    court.send_ok("hearing.outcome", REF,
                  {"hearing_id": "H-1", "outcome": "not_guilty_plea", "remand": "bail",
                   "bail_conditions": ["Live at a named address"]}, at("2027-01-15"))
    shown = case_json(engine, REF)
    assert shown["bail_conditions"] == ["Live at a named address"]
    # A police bail change from before the court's decision arrives late: the court's stands.
    police.send_ok("suspect.bail_conditions_changed", REF,
                   {"bail_conditions": ["Report weekly"]}, at("2027-01-14"))
    assert case_json(engine, REF)["bail_conditions"] == ["Live at a named address"]

    court.send_ok("hearing.outcome", REF,
                  {"hearing_id": "H-1", "outcome": "convicted", "remand": "custody"},
                  at("2027-03-01"))
    shown = case_json(engine, REF)
    assert (shown["suspect_status"], shown["bail_conditions"]) == ("remanded_in_custody", [])


# --- stages -----------------------------------------------------------------------------------

CHARGE_TO_SENTENCE = [
    ("cps", "charging.decision", {"decision": "charge", "charges": ["Burglary"]}, "charged"),
    ("court", "hearing.scheduled", hearing(), "at_court"),
    ("court", "hearing.outcome", {"hearing_id": "H-1", "outcome": "convicted"}, "at_court"),
    ("court", "sentence.passed", {"sentence": "Two years' imprisonment."}, "sentenced"),
]
JOURNEYS = {
    "charge to sentence": CHARGE_TO_SENTENCE,
    "cps decides no further action": [
        ("police", "suspect.arrested", {}, "investigation"),
        ("cps", "charging.decision", {"decision": "no_further_action"}, "closed"),
    ],
    "police close without charge": [
        ("police", "suspect.interviewed", {}, "investigation"),
        ("police", "investigation.closed", {"outcome": "no_suspect_identified"}, "closed"),
    ],
    "out of court disposal": [
        ("police", "out_of_court_disposal", {"disposal": "community_resolution"}, "closed"),
    ],
    "charged then discontinued": [
        ("cps", "charging.decision", {"decision": "charge"}, "charged"),
        ("cps", "prosecution.discontinued", {"explanation": "A witness withdrew."}, "closed"),
    ],
    "acquitted": [
        ("cps", "charging.decision", {"decision": "charge"}, "charged"),
        ("court", "hearing.scheduled", hearing(), "at_court"),
        ("court", "hearing.outcome", {"hearing_id": "H-1", "outcome": "acquitted"}, "closed"),
    ],
}


@pytest.mark.parametrize("steps", JOURNEYS.values(), ids=JOURNEYS.keys())
def test_stage_transitions(cast, case, engine, steps):
    assert case_json(engine, REF)["stage"] == "investigation"
    for day, (sender, event_type, data, stage) in enumerate(steps, start=1):
        getattr(cast, sender).send_ok(event_type, REF, data, at(f"2027-01-{day:02d}"))
        assert case_json(engine, REF)["stage"] == stage, event_type


def test_stage_is_not_moved_back_by_late_events(cast, case, engine):
    cast.cps.send_ok("charging.decision", REF, {"decision": "charge"}, at("2027-01-02"))
    cast.court.send_ok("sentence.passed", REF, {"sentence": "A community order."},
                       at("2027-06-01"))
    cast.court.send_ok("hearing.scheduled", REF, hearing(), at("2027-02-01"))
    cast.police.send_ok("suspect.arrested", REF, {}, at("2026-11-21"))
    assert case_json(engine, REF)["stage"] == "sentenced"


# --- victims ------------------------------------------------------------------------------------

def test_victim_details_follow_the_latest_update(cast, case, engine):
    police = cast.police
    police.send_ok("victim.updated", REF, {"victim": V1 | {"mobile": "07700 900111"}},
                   at("2026-12-10"))
    police.send_ok("victim.updated", REF, {"victim": V1 | {"mobile": "07700 900222"}},
                   at("2026-12-05"))
    with reading(engine) as session:
        case_row = cases.get_case_by_reference(session, REF)
        assert case_row is not None
        row = cases.get_victim(session, case_row.id, "V1")
        assert row is not None
        assert row.mobile == "+447700900111"


def test_discreet_contact_is_the_default_for_domestic_abuse(cast, engine):
    cast.police.send_ok("case.opened", REF, opened(
        "domestic_abuse", victims=[victim("V1"), victim("V2", contact={"discreet": False})]))
    with reading(engine) as session:
        case_row = cases.get_case_by_reference(session, REF)
        assert case_row is not None
        assert cases.get_victim(session, case_row.id, "V1").discreet is True
        assert cases.get_victim(session, case_row.id, "V2").discreet is False
    assert [v["discreet"] for v in case_json(engine, REF)["victims"]] == [True, False]


def _timeline_ids(session: Session, case_pk: int, victim_pk: int | None,
                  everyone: bool = False) -> list[str]:
    return [e.event_id for e in cases.timeline(session, case_pk, victim_pk, everyone=everyone)]


def test_victim_specific_entries_are_seen_by_that_victim_only(cast, case, engine):
    police = cast.police
    police.send_ok("vps.offered", REF, {"victim_ref": "V2"}, at("2026-12-01"), webhook_id="vps")
    police.send_ok("investigation.update", REF, {"message": "We have CCTV.", "victim_ref": "V1"},
                   at("2026-12-02"), webhook_id="v1-only")
    police.send_ok("investigation.update", REF, {"message": "A suspect was identified."},
                   at("2026-12-03"), webhook_id="shared")
    cast.wcu.send_ok("special_measures.decided", REF,
                     {"victim_ref": "V2", "granted": ["screens"]}, at("2026-12-04"),
                     webhook_id="measures")
    with reading(engine) as session:
        case_row = cases.get_case_by_reference(session, REF)
        assert case_row is not None
        pks = cases.victim_pks_by_ref(session, case_row.id)
        for_v1 = _timeline_ids(session, case_row.id, pks["V1"])
        for_v2 = _timeline_ids(session, case_row.id, pks["V2"])
        for_nobody = _timeline_ids(session, case_row.id, None)
        everything = _timeline_ids(session, case_row.id, None, everyone=True)
    assert "vps" in for_v2 and "measures" in for_v2
    assert "vps" not in for_v1 and "measures" not in for_v1
    assert "v1-only" in for_v1 and "v1-only" not in for_v2
    assert "shared" in for_v1 and "shared" in for_v2 and "shared" in for_nobody
    assert not {"vps", "measures", "v1-only"} & set(for_nobody)
    assert {"vps", "measures", "v1-only", "shared"} <= set(everything)
    by_id = {e["event_id"]: e for e in case_json(engine, REF)["timeline"]}
    assert (by_id["vps"]["victim_ref"], by_id["shared"]["victim_ref"]) == ("V2", None)


# --- wording ------------------------------------------------------------------------------------

EVERY_TYPE: list[tuple[str, str, dict[str, Any]]] = [
    ("police", "victim.added", {"victim": victim("V3", given_name="Kit",
                                                 family_name="Testperson")}),
    ("police", "victim.updated", {"victim": V1 | {"needs": ["interpreter: Polish"]}}),
    ("police", "officer.assigned", {"role": "oic", "name": "Priya Example", "rank": "DC",
                                    "team": "Hackney CID", "email": "priya.example@example.org",
                                    "phone": "020 7946 0001", "working_pattern": "Mon-Thu"}),
    ("police", "investigation.update", {"message": "We have CCTV from the street.",
                                        "victim_ref": "V1"}),
    ("police", "suspect.arrested", {"summary": "A man was arrested in Hackney."}),
    ("police", "suspect.interviewed", {"summary": "He answered no comment."}),
    ("police", "suspect.bailed", {"bail_conditions": ["Not to contact the victims"],
                                  "return_date": "2027-01-10"}),
    ("police", "suspect.released_under_investigation", {"summary": "Enquiries continue."}),
    ("police", "suspect.bail_conditions_changed", {"bail_conditions": ["Not to enter Hackney",
                                                                       "Curfew 9pm to 6am"]}),
    ("police", "investigation.closed", {"outcome": "evidential_difficulties",
                                        "explanation": "No witness saw the suspect.",
                                        "vrr_eligible": True}),
    ("police", "out_of_court_disposal", {"disposal": "conditional_caution",
                                         "details": "He must pay for the damage."}),
    ("police", "vps.offered", {"victim_ref": "V2"}),
    ("police", "vps.recorded", {"victim_ref": "V2"}),
    ("police", "vps.declined", {"victim_ref": "V1"}),
    ("police", "support.referred", {"victim_ref": "V1", "service": "Victim Support",
                                    "consent": True}),
    ("police", "rj.information_given", {"victim_ref": "V1"}),
    ("cps", "charging.decision", {"decision": "charge", "charges": ["Burglary of a dwelling."]}),
    ("cps", "charges.altered", {"charges": ["Theft"], "explanation": "The evidence changed.",
                                "vrr_eligible": True}),
    ("cps", "prosecution.discontinued", {"explanation": "A key witness withdrew.",
                                         "vrr_eligible": True}),
    ("wcu", "witness_care.assigned", {"name": "Chris Example", "phone": "020 7946 0002"}),
    ("wcu", "witness.required", {"victim_ref": "V1", "hearing_id": "H-1"}),
    ("wcu", "witness.not_required", {"victim_ref": "V1", "hearing_id": "H-1"}),
    ("wcu", "special_measures.decided", {"victim_ref": "V1", "granted": ["screens", "live_link"],
                                         "refused": ["intermediary"]}),
    ("wcu", "pretrial_visit.offered", {"victim_ref": "V1", "court": "Snaresbrook Crown Court"}),
    ("court", "hearing.scheduled", hearing("H-1", address="75 Hollybush Hill, London E11 1QW")),
    ("court", "hearing.scheduled", {"hearing_id": "H-2", "hearing_type": "sentence",
                                    "court": "Snaresbrook Crown Court",
                                    "window": {"from": "2027-04-05", "to": "2027-04-09"}}),
    ("court", "hearing.changed", {"hearing_id": "H-1", "starts_at": "2027-03-01T10:00:00Z",
                                  "court": "Wood Green Crown Court",
                                  "reason": "The court room is being repaired."}),
    ("court", "hearing.vacated", {"hearing_id": "H-2", "reason": "Moved to another list."}),
    ("court", "hearing.outcome", {"hearing_id": "H-1", "outcome": "convicted", "remand": "bail",
                                  "bail_conditions": ["Live at a named address"],
                                  "summary": "Sentencing will follow reports."}),
    ("court", "sentence.passed", {"sentence": "18 months' imprisonment.", "custody_months": 18}),
    ("court", "appeal.lodged", {"summary": "The appeal is against sentence."}),
    ("court", "appeal.decided", {"summary": "The appeal was dismissed."}),
    ("probation", "vcs.referred", {"victim_ref": "V1"}),
    ("probation", "vlo.assigned", {"name": "Robin Example"}),
    ("probation", "parole.hearing_scheduled", {"date": "2028-05-01"}),
    ("probation", "release.scheduled", {"release_month": "2028-06",
                                        "licence_conditions": ["Not to enter Hackney"]}),
    ("probation", "offender.released", {"licence_conditions": "Exclusion zone: Hackney."}),
    ("probation", "offender.temporary_release", {}),
    ("probation", "offender.recalled", {"summary": "He broke his licence."}),
    ("probation", "offender.escaped", {}),
    ("support", "support.accepted", {"victim_ref": "V1", "service": "Victim Support London",
                                     "worker_name": "Kim Example", "contact": "0808 168 9111"}),
    ("support", "support.closed", {"victim_ref": "V1"}),
]


def victim_requests(engine) -> tuple[str, str]:
    """V1's request for a review (to the CPS) and message to the officer, made as the portal
    makes them: agencies can only reply to requests on file (else 404)."""
    from app.contact import service as contact
    from app.outbound import service as outbound

    with reading(engine) as session:
        case_row = cases.get_case_by_reference(session, REF)
        assert case_row is not None
        v1 = cases.get_victim(session, case_row.id, "V1")
        cps = outbound.agency_for(session, case_row, "cps")
        assert v1 is not None and cps is not None
        review = outbound.submit(session, case=case_row, victim=v1, agency=cps, kind="vrr",
                                 details={"reasons": "The witness was not asked."})
        session.commit()
        message = contact.send_message(session, case_row, v1, "victim", {"body": "Any news?"})
        assert message.request_id is not None
        return review.request_id, message.request_id


def replies(review: str, message: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("cps", "request.acknowledged", {"request_id": review}),
        ("cps", "request.completed", {"request_id": review, "decision": "not_upheld",
                                      "explanation": "The decision was right."}),
        ("police", "message.replied", {"request_id": message, "victim_ref": "V1",
                                       "message": "We are looking at it.",
                                       "name": "DC Priya Example"}),
    ]


def assert_plain_english(text: str) -> None:
    assert text and text == text.strip(), repr(text)
    assert text[0].isupper(), text
    assert re.search(r"[.!)]$", text), text
    for leak in ("{", "}", "None", "[", "]", "  ", "_", ".."):
        assert leak not in text, f"{leak!r} in {text!r}"


def test_every_event_type_reads_in_plain_english(cast, case, engine):
    for minute, (sender, event_type, data) in enumerate(EVERY_TYPE + replies(
            *victim_requests(engine))):
        getattr(cast, sender).send_ok(event_type, REF, data,
                                      at("2026-12-01", f"{10 + minute // 60}:{minute % 60:02d}"))
    with reading(engine) as session:
        case_row = cases.get_case_by_reference(session, REF)
        assert case_row is not None
        entries = list(cases.timeline(session, case_row.id, everyone=True))
    assert {e.type for e in entries} == set(catalogue.CATALOGUE)
    for entry in entries:
        assert_plain_english(catalogue.render(entry.type, entry.params, EN))
        stored = json.dumps(entry.params)
        for personal in (*VICTIM_PERSONAL_DATA, "interpreter"):
            assert personal not in stored, f"{personal} kept in {entry.type} params"
    texts = [e["text"] for e in case_json(engine, REF)["timeline"]]
    assert "The suspect's bail conditions have changed. Conditions: Not to enter Hackney; " \
           "Curfew 9pm to 6am." in texts
    assert any("The court agreed to: screens, so you do not see the defendant; giving evidence "
               "by live video link." in t for t in texts)
    assert ("The Crown Prosecution Service has received your request for a review of the "
            "decision and is looking at it.") in texts
    assert ("The Crown Prosecution Service has finished dealing with your request for a review "
            "of the decision. The result: not upheld. The decision was right.") in texts
    assert "DC Priya Example replied to your message: We are looking at it." in texts


@pytest.mark.parametrize(("event_type", "params"), [
    ("request.acknowledged", {"request_id": "R-1"}),
    ("request.completed", {"request_id": "R-1", "decision": "not_upheld",
                           "explanation": "The decision was right."}),
])
def test_request_replies_read_in_plain_english(event_type, params):
    assert_plain_english(catalogue.render(event_type, params, EN))


def _choices(model: type, field: str) -> list[str]:
    annotation = model.model_fields[field].annotation
    while getattr(annotation, "__args__", None) and not isinstance(annotation.__args__[0], str):
        annotation = annotation.__args__[0]
    return list(annotation.__args__)


@pytest.mark.parametrize(("event_type", "base", "field", "model"), [
    ("investigation.closed", {}, "outcome", schemas.InvestigationClosed),
    ("out_of_court_disposal", {}, "disposal", schemas.OutOfCourtDisposal),
    ("charging.decision", {}, "decision", schemas.ChargingDecision),
    ("hearing.outcome", {"hearing_id": "H-1"}, "outcome", schemas.HearingOutcome),
    ("hearing.outcome", {"hearing_id": "H-1", "outcome": "adjourned"}, "remand",
     schemas.HearingOutcome),
    ("officer.assigned", {"name": "Sam Example"}, "role", schemas.OfficerAssigned),
    ("hearing.scheduled", {"hearing_id": "H-1", "court": "Snaresbrook Crown Court",
                           "starts_at": "2027-02-03T10:00:00+00:00"}, "hearing_type",
     schemas.HearingScheduled),
    ("request.completed", {"request_id": "R-1"}, "decision", schemas.RequestCompleted),
])
def test_every_enumerated_value_has_wording(event_type, base, field, model):
    for value in _choices(model, field):
        assert_plain_english(catalogue.render(event_type, base | {field: value}, EN))


def test_every_special_measure_has_wording():
    for measure in _choices(schemas.SpecialMeasuresDecided, "granted"):
        text = catalogue.render("special_measures.decided",
                                {"victim_ref": "V1", "granted": [measure]}, EN)
        assert_plain_english(text)


def test_agency_replies_read_as_whole_sentences_for_every_agency_kind():
    """Replies name the agency in a sentence of its own ("the police have", "the CPS has")."""
    from app.agencies.catalogue import ACKNOWLEDGED_BY, CATALOGUE, COMPLETED_BY, REQUESTS
    from app.core.i18n import translator

    t = translator("en")
    acknowledged = CATALOGUE["request.acknowledged"].wording
    completed = CATALOGUE["request.completed"].wording
    assert set(ACKNOWLEDGED_BY) == set(COMPLETED_BY)
    assert (acknowledged({"agency_kind": "police", "kind": "vrr"}, t)
            == "The police have received your request for a review of the decision and are "
               "looking at it.")
    assert completed({"agency_kind": "police", "kind": "message", "decision": "done"}, t
                     ).startswith("The police have finished dealing with your message. ")
    for kind in ACKNOWLEDGED_BY:
        for request in REQUESTS:
            text = completed({"agency_kind": kind, "kind": request, "decision": "done"}, t)
            assert "{" not in text and text.endswith(".")
    assert acknowledged({}, t) == "Your request was received and is being looked at."
