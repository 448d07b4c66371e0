"""`tmc demo`: demo agencies and London cases loaded through the real signed-ingestion path."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.agencies.catalogue import CATALOGUE
from app.agencies.models import Agency, ReceivedEvent
from app.cases import repository, service
from app.cases.models import Case, OfficerAssignment, Representative, TimelineEntry, Victim
from app.contact.models import ContactMessage, Escalation
from app.core.config import Settings, get_settings
from app.core.i18n import LONDON
from app.core.problems import Problem
from app.demo import DemoError, load_demo
from app.demo.agencies import DEMO_AGENCIES, MAGS, MET
from app.demo.cases import (
    BURGLARY_NFA,
    CATALYTIC_CONVERTER,
    CHILD_ROBBERY,
    DOMESTIC_ABUSE_BAIL,
    JOURNEYS,
    OFFICER_CHANGED_TWICE,
    RAPE_CROWN_COURT,
    SENTENCED_VIOLENCE_VCS,
    Ahead,
    AheadMonth,
    Frame,
    Journey,
    On,
    Portal,
    Requested,
    Step,
    hearing,
    opened,
    person,
)
from app.demo.portal import ACTIONS
from app.entitlements.models import Entitlement, EntitlementTransition
from app.obligations.rules import age_on
from app.outbound.models import AgencyRequest, OutboundWebhook

COURT_AGENCIES = {"hmcts-thames-magistrates", "hmcts-snaresbrook"}
FICTIONAL_SURNAMES = {"Example", "Testperson", "Sample", "Specimen", "Placeholder", "Demo",
                      "Mockford", "Notreal", "Madeup", "Fictional", "Dummy"}
DRAMA_MOBILE = re.compile(r"^\+447700900\d{3}$")
DRAMA_LONDON_LINE = re.compile(r"^020 7946 0\d{3}$")


def _markers(value: Any, kind: type) -> list[Any]:
    if isinstance(value, kind):
        return [value]
    if isinstance(value, dict):
        return [m for v in value.values() for m in _markers(v, kind)]
    if isinstance(value, list | tuple):
        return [m for v in value for m in _markers(v, kind)]
    return []


def _on_markers(value: Any) -> list[On]:
    return _markers(value, On)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _shown(session: Session, crime_reference: str) -> dict[str, Any]:
    case = repository.get_case_by_reference(session, crime_reference)
    assert case is not None, crime_reference
    return service.case_as_json(service.view_case(session, case, everyone=True))


def _types(shown: dict[str, Any]) -> list[str]:
    return [entry["type"] for entry in shown["timeline"]]


def _entries(session: Session, crime_reference: str, event_type: str) -> list[TimelineEntry]:
    case = repository.get_case_by_reference(session, crime_reference)
    assert case is not None
    return [e for e in repository.timeline(session, case.id, everyone=True)
            if e.type == event_type]


def _today() -> Any:
    return datetime.now(LONDON).date()


# --- the data itself (no database) ----------------------------------------------------------

def test_journeys_are_told_in_order_and_in_the_past():
    for journey in JOURNEYS:
        days_back = 7 * journey.weeks_ago  # day 0 is that many days before this week's Monday
        keys = [(step.day, step.at) for step in journey.steps]
        assert keys == sorted(keys), journey.crime_reference
        assert journey.steps[0].type == "case.opened", journey.crime_reference
        for step in journey.steps:
            assert 0 <= step.day < days_back, (journey.crime_reference, step)
            for marker in _on_markers(step.data if isinstance(step, Step) else {}):
                assert marker.day < days_back, (journey.crime_reference, step)


def test_replies_name_an_earlier_portal_step_that_makes_a_request():
    for journey in JOURNEYS:
        named: set[str] = set()
        for step in journey.steps:
            if isinstance(step, Portal):
                assert step.action in ACTIONS, step
                assert not step.about or step.about in named, step
                named |= {step.name} if step.name else set()
                continue
            for marker in _markers(step.data, Requested):
                assert marker.name in named, (journey.crime_reference, step.type)


def test_courts_sit_on_weekdays():
    for journey in JOURNEYS:
        for step in journey.agency_steps:
            if step.agency_id in COURT_AGENCIES:
                assert step.day % 7 < 5, (journey.crime_reference, step.type, step.day)
            for marker in _on_markers(step.data):
                if marker.at is not None:  # a hearing time
                    assert marker.day % 7 < 5, (journey.crime_reference, step.type)


def test_future_court_dates_skip_weekends_and_bank_holidays():
    frame = Frame(day0=date(2025, 6, 2), this_monday=date(2025, 12, 15))

    assert Ahead(1, 3).resolve(frame) == "2025-12-29"  # not Christmas, Boxing Day, weekend
    assert Ahead(1, 0, "10:00").resolve(frame) == "2025-12-22T10:00:00+00:00"
    assert Ahead(30, 2, "10:00").resolve(frame) == "2026-07-15T10:00:00+01:00"
    assert AheadMonth(1).resolve(frame) == "2026-01"
    assert On(2, "09:30").resolve(frame) == "2025-06-04T09:30:00+01:00"


def test_about_twenty_cases_with_distinct_references():
    references = [j.crime_reference for j in JOURNEYS]
    assert 18 <= len(references) <= 25
    assert len(set(references)) == len(references)
    assert all(re.fullmatch(r"\d{2}/\d{5}/\d{2}", r) for r in references)


# --- loading --------------------------------------------------------------------------------

def _assert_dates_look_current(session: Session) -> None:
    now = datetime.now(UTC)

    assert max(session.scalars(select(ReceivedEvent.occurred_at))) <= now
    reported = list(session.scalars(select(Case.reported_at)))
    recent = [r for r in reported if (now - r).days <= 320]
    assert len(recent) >= 15  # most cases were reported in the last ten months or so
    upcoming = [h for j in JOURNEYS for h in _shown(session, j.crime_reference)["hearings"]
                if h["status"] == "scheduled"]
    assert upcoming
    for h in upcoming:
        if h["starts_at"]:
            assert datetime.fromisoformat(h["starts_at"]) > now, h
        else:
            assert h["window"]["from"] > _today().isoformat(), h


def _assert_people_are_synthetic_with_varied_preferences(session: Session) -> None:
    victims = list(session.scalars(select(Victim)))
    assert victims
    for v in victims:
        assert v.family_name in FICTIONAL_SURNAMES, v.family_name
        assert v.email is None or v.email.endswith("@example.com")
        assert v.mobile is None or DRAMA_MOBILE.match(v.mobile), v.mobile
    representatives = list(session.scalars(select(Representative)))
    assert representatives
    for r in representatives:
        assert r.name.split()[-1] in FICTIONAL_SURNAMES
        assert r.email is None or r.email.endswith("@example.com")
        assert r.mobile is None or DRAMA_MOBILE.match(r.mobile)
    for o in session.scalars(select(OfficerAssignment)):
        assert o.name.split()[-1] in FICTIONAL_SURNAMES, o.name
        assert o.email is None or o.email.endswith("@example.com")
        assert o.phone is None or DRAMA_LONDON_LINE.match(o.phone), o.phone
    mobiles = [v.mobile for v in victims if v.mobile]
    assert len(set(mobiles)) == len(mobiles)
    # ...with varied contact preferences
    assert {v.discreet for v in victims} == {True, False}
    assert any(v.preferred_language == "cy" for v in victims)
    assert any(v.quiet_from and v.quiet_to for v in victims)
    assert any("interpreter: Polish" in v.needs for v in victims)
    assert any(not v.sms_allowed for v in victims)
    assert any(not v.email_allowed for v in victims)


def test_loads_every_event_type(session: Session, settings: Settings):
    summary = load_demo(session, settings)

    events = sum(len(j.agency_steps) for j in JOURNEYS)
    assert summary == {"agencies": len(DEMO_AGENCIES), "agencies_created": len(DEMO_AGENCIES),
                       "cases_created": len(JOURNEYS), "cases_skipped": 0, "events": events,
                       "portal_actions": sum(len(j.steps) for j in JOURNEYS) - events}
    assert _count(session, ReceivedEvent) == summary["events"]
    assert _count(session, TimelineEntry) == summary["events"]
    assert _count(session, Case) == len(JOURNEYS)
    loaded = set(session.scalars(select(ReceivedEvent.type).distinct()))
    assert loaded == set(CATALOGUE)
    actions = {s.action for j in JOURNEYS for s in j.steps if isinstance(s, Portal)}
    assert actions == set(ACTIONS)
    kinds = {a.agency_id: a.kind for a in session.scalars(select(Agency))}
    assert kinds == {a.agency_id: a.kind for a in DEMO_AGENCIES}
    _assert_dates_look_current(session)
    _assert_people_are_synthetic_with_varied_preferences(session)


def _state(session: Session) -> dict[str, Any]:
    counted = (ReceivedEvent, TimelineEntry, Case, Victim, Agency, OfficerAssignment,
               AgencyRequest, OutboundWebhook, Entitlement, EntitlementTransition,
               ContactMessage, Escalation)
    state: dict[str, Any] = {m.__name__: _count(session, m) for m in counted}
    state["requests"] = sorted(session.execute(
        select(AgencyRequest.request_id, AgencyRequest.status, AgencyRequest.decision)).all())
    return state


def test_running_twice_changes_nothing(session: Session, settings: Settings):
    load_demo(session, settings)
    before = _state(session)

    again = load_demo(session, settings)

    assert again == {"agencies": len(DEMO_AGENCIES), "agencies_created": 0, "cases_created": 0,
                     "cases_skipped": len(JOURNEYS), "events": 0, "portal_actions": 0}
    assert _state(session) == before
    assert before["AgencyRequest"] >= 4


def test_existing_agencies_are_reused(session: Session, settings: Settings):
    from app.agencies.service import add_agency

    add_agency(session, settings.secret_key, MET, "police", "Metropolitan Police Service")

    summary = load_demo(session, settings, journeys=[BURGLARY_NFA])

    assert summary["agencies_created"] == len(DEMO_AGENCIES) - 1
    assert summary["cases_created"] == 1


# --- the named scenarios, read back from the case record ---------------------------------------

def test_domestic_abuse_case_has_bail_then_changed_conditions(session: Session,
                                                              settings: Settings):
    load_demo(session, settings, journeys=[DOMESTIC_ABUSE_BAIL])
    shown = _shown(session, DOMESTIC_ABUSE_BAIL.crime_reference)

    assert shown["offence_group"] == "domestic_abuse"
    types = _types(shown)
    assert "suspect.bailed" in types
    assert types.index("suspect.bail_conditions_changed") > types.index("suspect.bailed")
    assert shown["suspect_status"] == "bailed"
    assert any("Not to enter the London Borough of Tower Hamlets" in c
               for c in shown["bail_conditions"])
    assert shown["victims"][0]["discreet"] is True
    assert shown["stage"] == "investigation"


def test_burglary_closed_with_no_further_action_and_vrr(session: Session, settings: Settings):
    load_demo(session, settings, journeys=[BURGLARY_NFA])
    shown = _shown(session, BURGLARY_NFA.crime_reference)

    assert shown["offence_group"] == "burglary"
    assert shown["stage"] == "closed"
    [closed] = _entries(session, BURGLARY_NFA.crime_reference, "investigation.closed")
    assert closed.params["outcome"] == "no_further_action"
    assert closed.params["vrr_eligible"] is True
    [closed_text] = [e["text"] for e in shown["timeline"]
                     if e["type"] == "investigation.closed"]
    assert "Victims' Right to Review" in closed_text


def test_rape_case_at_crown_court_with_warned_list_and_special_measures(
        session: Session, settings: Settings):
    load_demo(session, settings, journeys=[RAPE_CROWN_COURT])
    shown = _shown(session, RAPE_CROWN_COURT.crime_reference)

    assert shown["offence_group"] == "sexual"
    assert shown["stage"] == "at_court"
    assert "hmcts-snaresbrook" in shown["agencies"]
    [trial] = [h for h in shown["hearings"] if h["hearing_type"] == "trial"]
    assert trial["court"] == "Snaresbrook Crown Court"
    assert trial["starts_at"] is None
    assert _today().isoformat() < trial["window"]["from"] <= trial["window"]["to"]
    assert "special_measures.decided" in _types(shown)
    [measures] = _entries(session, RAPE_CROWN_COURT.crime_reference, "special_measures.decided")
    assert measures.params["granted"]
    assert shown["victims"][0]["discreet"] is True


def test_sentenced_violent_case_enters_the_victim_contact_scheme(session: Session,
                                                                 settings: Settings):
    load_demo(session, settings, journeys=[SENTENCED_VIOLENCE_VCS])
    reference = SENTENCED_VIOLENCE_VCS.crime_reference
    shown = _shown(session, reference)

    assert shown["offence_group"] == "violence"
    assert shown["stage"] == "sentenced"
    [sentence] = _entries(session, reference, "sentence.passed")
    assert sentence.params["custody_months"] >= 12
    types = _types(shown)
    for later in ("vcs.referred", "vlo.assigned", "release.scheduled"):
        assert types.index(later) > types.index("sentence.passed"), later
    assert shown["officers"]["vlo"]["agency_id"] == "probation-london"
    case = repository.get_case_by_reference(session, reference)
    assert case is not None
    assert case.release["release_month"] > _today().strftime("%Y-%m")


def test_officer_in_charge_changed_twice(session: Session, settings: Settings):
    load_demo(session, settings, journeys=[OFFICER_CHANGED_TWICE])
    reference = OFFICER_CHANGED_TWICE.crime_reference
    case = repository.get_case_by_reference(session, reference)
    assert case is not None

    oics = [a.name for a in repository.officer_assignments(session, case.id) if a.role == "oic"]
    assert len(oics) == 3 and len(set(oics)) == 3
    shown = _shown(session, reference)
    assert shown["officers"]["oic"]["name"] == oics[-1]
    assert shown["officers"]["oic"]["previous"] == oics[-2]


def test_child_victim_with_a_parent_as_representative(session: Session, settings: Settings):
    load_demo(session, settings, journeys=[CHILD_ROBBERY])
    case = repository.get_case_by_reference(session, CHILD_ROBBERY.crime_reference)
    assert case is not None

    [child] = repository.victims_of(session, case.id)
    assert child.date_of_birth is not None
    assert age_on(child.date_of_birth, case.reported_at.astimezone(LONDON).date()) < 18
    assert child.representative is not None
    assert child.representative.relation in {"mother", "father", "parent"}
    [shown_victim] = _shown(session, CHILD_ROBBERY.crime_reference)["victims"]
    assert shown_victim["enhanced_rights"] is True
    assert shown_victim["has_representative"] is True


# --- what victims did in the portal, and the agencies' replies -----------------------------------

def _requests(session: Session, crime_reference: str) -> list[AgencyRequest]:
    case = repository.get_case_by_reference(session, crime_reference)
    assert case is not None
    return list(session.scalars(select(AgencyRequest).where(AgencyRequest.case_pk == case.id)
                                .order_by(AgencyRequest.id)))


def _entitlement(session: Session, request: AgencyRequest) -> tuple[str, list[str]]:
    row = session.scalars(select(Entitlement)
                          .where(Entitlement.request_pk == request.id)).one()
    moves = session.scalars(select(EntitlementTransition.trigger)
                            .where(EntitlementTransition.entitlement_pk == row.id)
                            .order_by(EntitlementTransition.at)).all()
    return row.state, list(moves)


def test_burglary_review_request_acknowledged_then_not_upheld(session: Session,
                                                              settings: Settings):
    load_demo(session, settings, journeys=[BURGLARY_NFA])

    [review] = _requests(session, BURGLARY_NFA.crime_reference)
    assert (review.kind, review.status, review.decision) == ("vrr", "completed", "not_upheld")
    assert review.details["reasons"].startswith("The builder worked")
    assert review.details["decision_type"] == "investigation.closed"
    assert review.explanation and "decision stands" in review.explanation
    assert review.created_at < review.acknowledged_at < review.completed_at
    assert _entitlement(session, review) == ("completed", ["request", "acknowledged",
                                                           "completed"])
    texts = [e["text"] for e in _shown(session, BURGLARY_NFA.crime_reference)["timeline"]]
    assert any("received your request for a review of the decision" in t for t in texts)
    assert any("The result: not upheld. An inspector" in t for t in texts)


def test_rape_case_statement_sent_in_the_portal_then_recorded(session: Session,
                                                              settings: Settings):
    load_demo(session, settings, journeys=[RAPE_CROWN_COURT])

    [statement] = _requests(session, RAPE_CROWN_COURT.crime_reference)
    assert (statement.kind, statement.status, statement.decision) == ("vps", "completed", "done")
    assert statement.details["reading"] == "read_for_me"
    assert _entitlement(session, statement) == ("completed", ["request", "acknowledged",
                                                              "completed"])
    types = _types(_shown(session, RAPE_CROWN_COURT.crime_reference))
    assert types.index("request.acknowledged") < types.index("request.completed")


def test_victim_messages_the_officer_and_the_police_reply(session: Session,
                                                          settings: Settings):
    load_demo(session, settings, journeys=[OFFICER_CHANGED_TWICE])

    [asked] = _requests(session, OFFICER_CHANGED_TWICE.crime_reference)
    assert (asked.kind, asked.status) == ("message", "completed")
    messages = session.scalars(select(ContactMessage).order_by(ContactMessage.created_at)).all()
    assert [(m.author, m.author_name) for m in messages] == [
        ("victim", None), ("agency", "DC Jesse Notreal")]
    assert messages[0].request_id == asked.request_id
    assert messages[0].replied_at == messages[1].created_at
    [replied] = _entries(session, OFFICER_CHANGED_TWICE.crime_reference, "message.replied")
    assert replied.params["victim_ref"] == "V1"


def test_escalation_resolved_by_the_police_with_the_victims_feedback(session: Session,
                                                                     settings: Settings):
    load_demo(session, settings, journeys=[CATALYTIC_CONVERTER])

    [concern] = _requests(session, CATALYTIC_CONVERTER.crime_reference)
    assert (concern.kind, concern.status, concern.decision) == ("escalation", "completed", "done")
    escalation = session.scalars(select(Escalation)).one()
    assert (escalation.reason, escalation.status, escalation.feedback) == (
        "something_wrong", "resolved", "yes")
    assert escalation.resolution and "doorbell footage" in escalation.resolution
    assert escalation.raised_at < escalation.resolved_at < escalation.feedback_at


def test_demo_requests_answered_by_agencies_leave_the_hub_queue_empty(session: Session,
                                                                      settings: Settings):
    from app.outbound import repository as outbound_repository

    load_demo(session, settings)

    assert outbound_repository.exhausted_deliveries(session) == []


def test_a_reply_to_an_unnamed_request_stops_the_demo(session: Session, settings: Settings):
    broken = Journey("99/00003/26", "a reply to nothing", weeks_ago=2, steps=(
        Step(MET, 0, "10:00", "case.opened", opened(
            "Theft", "theft", "Hackney", On(0, "09:00"), person("V1", "Alex", "Testperson"))),
        Step(MET, 1, "10:00", "request.acknowledged", {"request_id": Requested("nothing")}),
    ))

    with pytest.raises(DemoError, match=r"99/00003/26: request\.acknowledged .*'nothing'"):
        load_demo(session, settings, journeys=[broken])


def test_a_refused_portal_step_stops_the_demo(session: Session, settings: Settings):
    early = Journey("99/00004/26", "a review before any decision", weeks_ago=2, steps=(
        Step(MET, 0, "10:00", "case.opened", opened(
            "Theft", "theft", "Hackney", On(0, "09:00"), person("V1", "Alex", "Testperson"))),
        Portal(1, "10:00", "vrr", {"reasons": "Why?"}, name="review"),
    ))

    with pytest.raises(DemoError, match=r"99/00004/26: portal vrr .* refused: 0 decisions"):
        load_demo(session, settings, journeys=[early])


# --- failures are loud ----------------------------------------------------------------------

def test_a_rejected_event_stops_the_demo_naming_case_and_type(session: Session,
                                                              settings: Settings):
    broken = Journey("99/00001/26", "a court that nobody linked", weeks_ago=2, steps=(
        Step(MET, 0, "10:00", "case.opened", opened(
            "Theft", "theft", "Hackney", On(0, "09:00"), person("V1", "Alex", "Testperson"))),
        Step(MAGS, 1, "10:00", "hearing.scheduled", hearing(
            "H-1", "trial", {"court": "Thames Magistrates' Court"}, starts_at=On(2, "10:00"))),
    ))

    with pytest.raises(DemoError, match=r"99/00001/26: hearing\.scheduled .* 403") as caught:
        load_demo(session, settings, journeys=[broken])
    assert isinstance(caught.value.__cause__, Problem)


def test_a_step_in_the_future_is_refused(session: Session, settings: Settings):
    early = Journey("99/00002/26", "too recent", weeks_ago=1, steps=(
        Step(MET, 14, "10:00", "case.opened", opened(
            "Theft", "theft", "Hackney", On(14, "09:00"), person("V1", "Alex", "Testperson"))),
    ))

    with pytest.raises(DemoError, match=r"99/00002/26.*future"):
        load_demo(session, settings, journeys=[early])
    assert repository.get_case_by_reference(session, "99/00002/26") is None


# --- the real command -----------------------------------------------------------------------

@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TMC_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TMC_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("TMC_ENV", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_tmc_demo_then_case_show(cli_env: None):
    from app.cli import main

    runner = CliRunner()
    first = runner.invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stderr)["cases_created"] == len(JOURNEYS)
    second = runner.invoke(main, ["demo"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.stderr)["cases_created"] == 0

    shown = runner.invoke(main, ["case", "show", RAPE_CROWN_COURT.crime_reference, "--json"])

    assert shown.exit_code == 0, shown.output
    case = json.loads(shown.stdout)
    assert case["crime_reference"] == RAPE_CROWN_COURT.crime_reference
    assert case["stage"] == "at_court"
    assert {"met-police", "cps-london", "wcu-london-north",
            "hmcts-snaresbrook"} <= set(case["agencies"])
    assert case["officers"]["oic"]["agency_id"] == "met-police"
    assert any(h["window"] for h in case["hearings"])
    assert [e["occurred_at"] for e in case["timeline"]] == sorted(
        e["occurred_at"] for e in case["timeline"])
    assert len(case["timeline"]) == len(RAPE_CROWN_COURT.agency_steps)
