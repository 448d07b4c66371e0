"""Obligations kept by the real pipeline: signed events in, obligations stored, evidence, the
sweep, portal-raised obligations. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from app.core.db import make_sessionmaker
from app.obligations import service
from app.obligations.models import Obligation
from app.obligations.service import ObligationError
from tests import obligation_helpers
from tests.agency_client import victim
from tests.obligation_helpers import (
    REF,
    event_pk,
    find,
    listing,
    london_end,
    open_case,
    send,
    the_case,
    the_victim,
    utc,
)

agencies = obligation_helpers.agencies  # fixture
clock = obligation_helpers.clock  # fixture


def test_case_opened_raises_support_referral_and_regular_update(agencies, clock, session):
    opened_id = open_case(agencies, clock, "2026-12-01")
    shown = listing(session)
    assert {o["id"] for o in shown} == {"support-referral", "regular-update"}
    support = find(shown, "support-referral")
    assert support == support | {
        "victim_ref": "V1", "owner": "police", "owner_agency_id": "met-police",
        "trigger_at": "2026-12-01T09:00:00+00:00", "due_at": london_end("2026-12-03"),
        "met_at": None, "status": "open", "right": "4", "origin": "event",
        "trigger_key": f"met-police:{opened_id}", "enhanced": False}
    assert find(shown, "regular-update")["due_at"] == london_end("2026-12-29")


def test_met_met_late_breached_and_cancelled(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    send(agencies.police, clock, "support.referred", "2026-12-02",
         {"victim_ref": "V1", "service": "Victim Support", "consent": True})
    arrest = send(agencies.police, clock, "suspect.arrested", "2026-12-02T10:00", {})
    interview = send(agencies.police, clock, "suspect.interviewed", "2026-12-02T15:00", {})
    victim_pk = the_victim(session).id
    service.record_informed(session, victim_pk, event_pk(session, agencies.police, arrest),
                            utc("2026-12-14T10:00"), "delivery_receipt")
    session.commit()
    clock.now = utc("2026-12-15")  # recomputing on this event finds the breach itself
    send(agencies.cps, clock, "charging.decision", "2026-12-15", {"decision": "charge"})

    shown = listing(session, now=utc("2026-12-15T12:00"))
    assert find(shown, "support-referral")["status"] == "met"
    late = find(shown, "inform-police-decision", trigger_key=f"met-police:{arrest}")
    assert (late["status"], late["met_at"]) == ("met_late", "2026-12-14T10:00:00+00:00")
    assert late["evidence"] == "informed: delivery_receipt"
    breached = find(shown, "inform-police-decision", trigger_key=f"met-police:{interview}")
    assert breached["status"] == "breached" and breached["met_at"] is None
    updates = [o for o in shown if o["id"] == "regular-update"]
    # the 2 Dec police events (referral, arrest, interview) were updates; the period running
    # at the charge is cancelled
    assert [o["status"] for o in updates] == ["met", "met", "met", "cancelled"]


def test_the_evidence_hook_keeps_the_first_moment(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    decision = send(agencies.cps, clock, "charging.decision", "2026-12-24T11:00",
                    {"decision": "no_further_action", "vrr_eligible": True})
    pk = event_pk(session, agencies.cps, decision)
    v1 = the_victim(session).id
    service.record_informed(session, v1, pk, utc("2026-12-30T10:00"), "portal_view")
    service.record_informed(session, v1, pk, utc("2026-12-29T08:00"), "delivery_receipt")
    service.record_informed(session, v1, pk, utc("2027-01-02T08:00"), "delivery_receipt")
    session.commit()
    shown = listing(session)
    inform = find(shown, "inform-cps-decision")
    assert inform["met_at"] == "2026-12-29T08:00:00+00:00" and inform["status"] == "met"
    window = find(shown, "vrr-cps-window")
    assert window["trigger_at"] == "2026-12-29T08:00:00+00:00"
    assert window["due_at"] == london_end("2027-01-13")
    assert window["closes_at"] == london_end("2027-03-29")


def test_the_evidence_hook_refuses_bad_input(agencies, clock, session):
    open_case(agencies, clock)
    arrest = send(agencies.police, clock, "suspect.arrested", "2026-12-02", {})
    pk = event_pk(session, agencies.police, arrest)
    v1 = the_victim(session).id
    with pytest.raises(ObligationError):
        service.record_informed(session, v1, pk, utc("2026-12-02"), "carrier_pigeon")
    with pytest.raises(ObligationError):
        service.record_informed(session, 999_999, pk, utc("2026-12-02"), "portal_view")
    session.rollback()
    open_case(agencies, clock, ref="01/70002/26")
    other = the_victim(session, "01/70002/26").id
    with pytest.raises(ObligationError):
        service.record_informed(session, other, pk, utc("2026-12-02"), "portal_view")
    session.rollback()


def test_vps_page_and_declining_support(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    send(agencies.cps, clock, "charging.decision", "2026-12-02", {"decision": "charge"})
    v1 = the_victim(session).id
    service.record_vps_page_opened(session, v1, utc("2026-12-04T19:00"))
    service.record_support_declined(session, v1, utc("2026-12-02T12:00"))
    session.commit()
    shown = listing(session)
    vps = find(shown, "vps-offer")
    assert (vps["status"], vps["met_at"]) == ("met", "2026-12-04T19:00:00+00:00")
    assert find(shown, "support-referral")["status"] == "cancelled"


def test_opening_the_vps_page_again_changes_nothing(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    send(agencies.cps, clock, "charging.decision", "2026-12-02", {"decision": "charge"})
    v1 = the_victim(session).id
    assert service.record_vps_page_opened(session, v1, utc("2026-12-04T19:00")) is True
    session.commit()
    statements: list[str] = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert service.record_vps_page_opened(session, v1, utc("2026-12-05T09:00")) is False
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    # One read of what is recorded: no lock of the case, no recomputation, nothing written.
    sent = [text for text in statements if not text.startswith("BEGIN")]  # SQLite's BEGIN
    assert len(sent) == 1 and sent[0].lstrip().startswith("SELECT")
    assert "FOR UPDATE" not in sent[0]
    assert service.record_vps_page_opened(session, v1, utc("2026-12-03T08:00")) is True
    session.commit()
    assert find(listing(session), "vps-offer")["met_at"] == "2026-12-03T08:00:00+00:00"


def test_vps_offer_follows_the_first_hearing(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    send(agencies.cps, clock, "charging.decision", "2026-12-02", {"decision": "charge"})
    assert find(listing(session), "vps-offer")["due_at"] == london_end("2026-12-16")
    send(agencies.court, clock, "hearing.scheduled", "2026-12-03", {
        "hearing_id": "H-1", "hearing_type": "first_appearance", "court": "Thames Magistrates",
        "starts_at": "2026-12-10T10:00:00Z"})
    assert find(listing(session), "vps-offer")["due_at"] == "2026-12-10T10:00:00+00:00"
    send(agencies.court, clock, "hearing.vacated", "2026-12-04", {"hearing_id": "H-1"})
    assert find(listing(session), "vps-offer")["due_at"] == london_end("2026-12-16")


def test_a_child_victim_and_an_adult_on_one_case(agencies, clock, session):
    open_case(agencies, clock, "2026-12-23", victims=[
        victim("V1"), victim("V2", date_of_birth="2012-04-01", email="v2@example.com")])
    send(agencies.police, clock, "suspect.arrested", "2026-12-24T10:00", {})
    shown = listing(session)
    adult = find(shown, "inform-police-decision", "V1")
    child = find(shown, "inform-police-decision", "V2")
    assert (adult["enhanced"], adult["due_at"]) == (False, london_end("2027-01-05"))
    assert (child["enhanced"], child["due_at"]) == (True, london_end("2026-12-29"))


def test_vcs_referral_through_the_pipeline(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01", offence_group="violence")
    send(agencies.court, clock, "sentence.passed", "2027-03-01",
         {"sentence": "Two years' imprisonment", "custody_months": 24})
    send(agencies.probation, clock, "vcs.referred", "2027-03-05", {"victim_ref": "V1"})
    shown = listing(session, now=utc("2027-03-06"))
    assert find(shown, "vcs-referral")["status"] == "met"
    assert find(shown, "vcs-referral")["owner_agency_id"] == "probation-london"
    vlo = find(shown, "vlo-contact")
    assert (vlo["status"], vlo["due_at"]) == ("open", london_end("2027-04-06"))
    outcome = find(shown, "inform-outcome")
    assert outcome["owner_agency_id"] == "wcu-london-north"
    assert outcome["received_late"] is False


def test_a_late_charge_cancels_a_period_that_no_longer_exists(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    update = send(agencies.police, clock, "investigation.update", "2026-12-20",
                  {"message": "We have reviewed the CCTV."})
    before = {(o["trigger_key"], o["status"]) for o in listing(session)
              if o["id"] == "regular-update"}
    assert (f"met-police:{update}", "open") in before
    # the CPS had charged on 10 Dec, but its event arrives only now
    send(agencies.cps, clock, "charging.decision", "2026-12-10", {"decision": "charge"},
         received="2026-12-21")
    after = {o["trigger_key"]: o["status"] for o in listing(session)
             if o["id"] == "regular-update"}
    assert after[f"met-police:{update}"] == "cancelled"
    assert list(after.values()).count("cancelled") == 2


def test_receipt_based_deadlines_count_from_receipt(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    send(agencies.court, clock, "hearing.scheduled", "2026-12-18T10:00", {
        "hearing_id": "H-1", "hearing_type": "trial", "court": "Snaresbrook Crown Court",
        "starts_at": "2027-02-03T10:00:00Z"}, received="2026-12-24T17:00")
    hearing = find(listing(session), "inform-hearing")
    assert hearing["trigger_at"] == "2026-12-24T17:00:00+00:00"
    assert hearing["due_at"] == london_end("2026-12-29")


def test_portal_obligations_are_raised_and_met_by_direct_calls(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    closed = send(agencies.police, clock, "investigation.closed", "2026-12-02",
                  {"outcome": "no_further_action", "vrr_eligible": True})
    case, v1 = the_case(session), the_victim(session)
    service.record_informed(session, v1.id, event_pk(session, agencies.police, closed),
                            utc("2026-12-02T18:00"), "delivery_receipt")
    raised = service.open_obligations_for(session, case, v1, "vrr_request_police",
                                          utc("2027-01-04T10:00"), "REQ-1")
    assert sorted(o.rule_id for o in raised) == ["vrr-police-ack", "vrr-police-done"]
    again = service.open_obligation(session, case, v1, "vrr-police-ack",
                                    utc("2027-01-04T10:00"), "REQ-1")
    assert again.id == raised[0].id or again.id == raised[1].id  # idempotent
    service.meet(session, case, v1, "vrr-police-ack", "REQ-1", utc("2027-01-05T09:00"),
                 "request.acknowledged")
    service.meet(session, case, v1, "vrr-police-done", "REQ-1", utc("2027-03-01T09:00"),
                 "request.completed: not_upheld")
    service.open_obligation(session, case, v1, "complaint-ack", utc("2027-01-06T10:00"),
                            "COMPLAINT-1", owner="cps")
    service.open_obligations_for(session, case, v1, "message", utc("2027-01-07T10:00"), "M-1")
    service.cancel(session, case, v1, "reply-to-victim", "M-1")
    session.commit()

    shown = listing(session, now=utc("2027-03-02"))
    window = find(shown, "vrr-police-window")
    assert (window["status"], window["met_at"]) == ("met", "2027-01-04T10:00:00+00:00")
    assert window["due_at"] == london_end("2027-03-02")
    ack = find(shown, "vrr-police-ack")
    assert ack == ack | {"status": "met", "origin": "portal", "owner": "police",
                         "owner_agency_id": "met-police", "due_at": london_end("2027-01-18")}
    done = find(shown, "vrr-police-done")
    assert (done["due_at"], done["status"]) == (london_end("2027-02-15"), "met_late")
    complaint = find(shown, "complaint-ack")
    assert (complaint["owner"], complaint["owner_agency_id"]) == ("cps", "cps-london")
    assert complaint["status"] == "breached"  # effective status: past due, not yet swept
    assert find(shown, "reply-to-victim")["status"] == "cancelled"


def test_portal_calls_refuse_what_the_rules_do_not_allow(agencies, clock, session):
    open_case(agencies, clock)
    case, v1 = the_case(session), the_victim(session)
    with pytest.raises(ObligationError):
        service.open_obligation(session, case, v1, "inform-cps-decision", utc("2026-12-02"), "k")
    with pytest.raises(ObligationError):
        service.open_obligation(session, case, v1, "complaint-ack", utc("2026-12-02"), "k")
    with pytest.raises(KeyError):
        service.open_obligation(session, case, v1, "no-such-rule", utc("2026-12-02"), "k")
    with pytest.raises(ObligationError):
        service.meet(session, case, v1, "support-referral", "anything", utc("2026-12-02"), "x")
    with pytest.raises(ObligationError):
        service.open_obligations_for(session, case, v1, "carrier_pigeon", utc("2026-12-02"),
                                     "k")
    session.rollback()


def test_the_sweep_marks_only_open_obligations_past_due(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    send(agencies.police, clock, "support.referred", "2026-12-02",
         {"victim_ref": "V1", "service": "Victim Support", "consent": True})
    # the referral was the first update: the next is due 28 days later, by the end of 30 Dec
    assert service.sweep_breaches(session, utc("2026-12-30T23:00")) == 0
    assert service.sweep_breaches(session, utc("2026-12-31")) == 1
    assert service.sweep_breaches(session, utc("2027-01-01")) == 0  # already breached
    shown = listing(session, now=utc("2027-01-01"))
    assert [o["status"] for o in shown if o["id"] == "regular-update"] == ["met", "breached"]
    assert find(shown, "support-referral")["status"] == "met"
    # a late update turns the breach into met_late and starts the next period
    send(agencies.police, clock, "investigation.update", "2027-01-04", {"message": "News."})
    clock.now = utc("2027-01-05")
    statuses = [o["status"] for o in listing(session, now=utc("2027-01-05"))
                if o["id"] == "regular-update"]
    assert statuses == ["met", "met_late", "open"]


def test_obligations_are_unique_per_victim_rule_and_trigger(agencies, clock, session):
    open_case(agencies, clock)
    existing = session.query(Obligation).filter_by(rule_id="support-referral").one()
    session.add(Obligation(case_pk=existing.case_pk, victim_pk=existing.victim_pk,
                           rule_id=existing.rule_id, trigger_key=existing.trigger_key,
                           owner="police", trigger_at=existing.trigger_at, status="open"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_a_rejected_event_leaves_no_obligations(agencies, clock, session):
    open_case(agencies, clock)
    count = len(listing(session))
    response = agencies.police.send("suspect.bail_conditions_changed", REF, {})
    assert response.status_code == 422
    assert len(listing(session)) == count


def test_victims_chosen_update_interval_governs_later_periods(police, session, engine):
    """The victim may choose how often to hear (victims-code.md regular-update); the choice
    applies to periods that start after it was made, not retroactively."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select, update

    from app.cases.models import Victim
    from app.notifications.models import NotificationPreference
    from app.notifications.service import save_preferences
    from app.obligations.models import Obligation
    from tests.agency_client import opened

    police.send_ok("case.opened", "01/80001/26", opened(), occurred_at="2026-10-01T09:00:00Z")
    with make_sessionmaker(engine)() as db:
        victim_pk = db.scalar(select(Victim.id))
        save_preferences(db, victim_pk, sms=True, email=True, language="en", quiet_from=None,
                         quiet_to=None, discreet=False, update_interval_days=14)
        # Pretend the choice was made on 15 October, between the two events (clock-free).
        db.execute(update(NotificationPreference).values(
            updated_at=datetime(2026, 10, 15, 12, tzinfo=UTC)))
        service.recompute_for_victim(db, victim_pk)
        db.commit()
    police.send_ok("investigation.update", "01/80001/26", {"message": "We are reviewing CCTV."},
                   occurred_at="2026-11-02T09:00:00Z")
    with make_sessionmaker(engine)() as db:
        rows = db.scalars(select(Obligation).where(Obligation.rule_id == "regular-update")
                          .order_by(Obligation.trigger_at)).all()
        assert len(rows) == 2
        first, second = rows
        assert first.due_at - first.trigger_at >= timedelta(days=28)  # chosen later: default
        assert second.due_at - second.trigger_at < timedelta(days=15)  # after the choice: 14
