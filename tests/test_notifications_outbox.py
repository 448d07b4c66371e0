"""The notification outbox: rows written with the event, delivered by the worker through the dev
outbox, safe wording, quiet hours, digests, safety alerts, sweeps and preferences.
Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.core.i18n import LONDON
from app.notifications import rules, service
from app.notifications.models import (
    CREATED,
    DELIVERED,
    SENDING,
    Notification,
    NotificationAttempt,
)
from app.notifications.providers import OutboxProvider, Sent
from app.obligations.models import ObligationEvidence
from tests.agency_client import opened, victim
from tests.notify_helpers import (
    alerts,
    attempts,
    deliver,
    factory_of,
    outbox,
    rows,
    session_of,
    tasks,
)

REF = "01/55555/26"


@pytest.fixture
def dev(engine):
    provider = OutboxProvider(factory_of(engine))
    return {"sms": provider, "email": provider}


@pytest.fixture
def cps(registry, police):
    return registry.add("cps-london", "cps", "CPS London")


@pytest.fixture
def probation(registry, cps):
    return registry.add("probation-london", "probation", "Probation Service London")


@pytest.fixture
def court(registry, cps):
    return registry.add("hmcts-snaresbrook", "court", "Snaresbrook Crown Court")


def open_case(police, offence_group="burglary", victims=None, **extra):
    police.send_ok("case.opened", REF, opened(offence_group, victims=victims, **extra))


def link(police, cps, agency_id):
    """Police link the CPS, which links the court or probation (contract s.4)."""
    police.send_ok("case.agency_linked", REF, {"agency_id": "cps-london"})
    cps.send_ok("case.agency_linked", REF, {"agency_id": agency_id})


def victim_rows(engine, **where):
    return [n for n in rows(engine, **where) if n.recipient == "victim"]


# --- the outbox is written with the event -----------------------------------------------------

def test_event_and_its_notification_commit_together(police, engine, settings):
    open_case(police)
    queued = rows(engine)
    assert [(n.template, n.channel, n.to, n.status) for n in queued] == [
        ("case.opened", "sms", "+447700900123", CREATED)]
    before = len(rows(engine))
    # A rejected event (403: a police force may not send court events) leaves no notification.
    response = police.send("hearing.scheduled", REF, {"hearing_id": "H1",
                                                      "hearing_type": "trial",
                                                      "court": "Snaresbrook Crown Court",
                                                      "starts_at": "2027-02-03T10:00:00Z"})
    assert response.status_code == 403
    assert len(rows(engine)) == before


def test_worker_delivers_through_the_dev_outbox_and_records_informed(police, engine, settings,
                                                                     dev):
    open_case(police)
    police.send_ok("suspect.arrested", REF, {"summary": "Sam Suspectperson was arrested"})
    assert deliver(engine, settings, dev) >= 1
    captured = outbox(engine)
    assert captured and all(m.recipient == "+447700900123" for m in captured)
    sent = rows(engine)
    assert {n.status for n in sent} == {DELIVERED}
    for row in sent:  # rows folded into a digest travel with their carrier's attempt
        expected = ["accepted"] if row.digest_pk is None else []
        assert [a.outcome for a in attempts(engine, row.id)] == expected
    evidence = rows(engine, ObligationEvidence, kind="informed")
    assert {e.source for e in evidence} == {"delivery_receipt"}
    assert {e.event_pk for e in evidence} == {n.event_pk for n in sent}


def test_no_sms_copies_agency_free_text(police, engine, settings, dev):
    open_case(police)
    settings = settings.model_copy(update={"notification_digest_seconds": 0})
    deliver(engine, settings, dev)
    police.send_ok("suspect.arrested", REF, {"summary": "Sam Suspectperson of Hackney Road"})
    deliver(engine, settings, dev)
    police.send_ok("investigation.update", REF, {"message": "We spoke to Sam Suspectperson"})
    deliver(engine, settings, dev)
    bodies = [m.body for m in outbox(engine)]
    assert len(bodies) == 3
    assert all("Suspectperson" not in body and "Hackney" not in body for body in bodies)
    assert any("arrested a suspect" in body for body in bodies)


def test_discreet_messages_say_only_that_there_is_an_update(police, cps, court, engine,
                                                            settings, dev):
    open_case(police, "domestic_abuse", victims=[victim(email="v1@example.com")])
    settings = settings.model_copy(update={"notification_digest_seconds": 0})
    deliver(engine, settings, dev)
    link(police, cps, "hmcts-snaresbrook")
    court.send_ok("hearing.scheduled", REF, {
        "hearing_id": "H1", "hearing_type": "trial", "court": "Snaresbrook Crown Court",
        "address": "75 Hollybush Hill", "starts_at": "2027-02-03T10:00:00Z"})
    deliver(engine, settings, dev)
    bodies = [m.body + (m.subject or "") for m in outbox(engine)]
    assert len(bodies) == 2
    for body in bodies:
        for secret in ("Alex", "Testperson", "Burglary", "domestic", "Snaresbrook",
                       "Hollybush", "trial", "court", "Crime", "police", "Hackney"):
            assert secret.lower() not in body.lower(), (secret, body)
        assert "http://testserver/" in body


def test_not_discreet_hearing_sms_gives_the_date_but_not_the_place(police, cps, court, engine,
                                                                   settings, dev):
    open_case(police)
    deliver(engine, settings, dev)
    link(police, cps, "hmcts-snaresbrook")
    court.send_ok("hearing.scheduled", REF, {
        "hearing_id": "H1", "hearing_type": "trial", "court": "Snaresbrook Crown Court",
        "starts_at": "2027-02-03T10:00:00Z"})
    deliver(engine, settings.model_copy(update={"notification_digest_seconds": 0}), dev)
    body = outbox(engine)[-1].body
    assert "trial hearing" in body and "3 February 2027" in body
    assert "Snaresbrook" not in body


def test_victim_specific_events_go_to_that_victim_only(police, engine):
    open_case(police, victims=[victim("V1"), victim("V2", mobile="07700 900124",
                                                    email="v2@example.com")])
    police.send_ok("investigation.update", REF, {"message": "x", "victim_ref": "V2"})
    update = rows(engine, template="investigation.update")
    assert [n.to for n in update] == ["+447700900124"]


def test_representative_gets_a_copy(police, engine):
    rep = {"name": "Jo Testparent", "relationship": "parent", "mobile": "07700 900200",
           "email": "jo@example.com"}
    open_case(police, victims=[victim(representative=rep)])
    queued = rows(engine, template="case.opened")
    assert sorted((n.recipient, n.to) for n in queued) == [
        ("representative", "+447700900200"), ("victim", "+447700900123")]


def test_welsh_speakers_get_welsh_rows(police, engine):
    open_case(police, victims=[victim(preferred_language="cy")])
    assert rows(engine)[0].language == "cy"


# --- quiet hours, digests and limits ------------------------------------------------------------

def _quiet_around_now() -> dict[str, str]:
    local = datetime.now(LONDON)
    return {"from": (local - timedelta(hours=1)).strftime("%H:%M"),
            "to": (local + timedelta(hours=2)).strftime("%H:%M")}


def test_quiet_hours_hold_messages_but_not_an_escape(police, cps, probation, engine, settings,
                                                    dev):
    quiet = _quiet_around_now()
    open_case(police, victims=[victim(contact={"quiet_hours": quiet})])
    link(police, cps, "probation-london")
    probation.send_ok("offender.recalled", REF, {})
    probation.send_ok("offender.escaped", REF, {"summary": "x"})
    now = datetime.now(UTC)
    held = {n.template: n.next_attempt_at for n in victim_rows(engine)}
    assert held["case.opened"] > now + timedelta(minutes=90)
    assert held["offender.recalled"] > now + timedelta(minutes=90)
    assert held["offender.escaped"] <= now
    deliver(engine, settings, dev)
    assert {(m.channel, m.body.split(". ")[0]) for m in outbox(engine)} == {
        ("sms", "The offender has escaped or absconded from custody"),
        ("email", "The offender has escaped or absconded from custody")}


def test_a_message_held_into_quiet_hours_waits_for_them_to_end(police, engine, settings, dev):
    """The digest window can make a message due after quiet hours have begun: it then waits for
    them to end, as a message queued inside them would."""
    start = datetime.now(LONDON) + timedelta(minutes=2)
    quiet = {"from": start.strftime("%H:%M"), "to": (start + timedelta(hours=3)).strftime("%H:%M")}
    open_case(police, victims=[victim(contact={"quiet_hours": quiet})])
    deliver(engine, settings, dev)
    before = len(outbox(engine))
    assert before >= 1  # before quiet hours: the first message goes at once
    police.send_ok("investigation.update", REF, {"message": "update"})
    after_window = datetime.now(UTC) + timedelta(seconds=settings.notification_digest_seconds + 1)
    deliver(engine, settings, dev, now=after_window)
    assert len(outbox(engine)) == before, "sent inside quiet hours"
    held = rows(engine, template="investigation.update")
    ends = rules.quiet_until(after_window, quiet["from"], quiet["to"])
    assert ends is not None and {n.next_attempt_at for n in held} == {ends}
    deliver(engine, settings, dev, now=ends)
    assert len(outbox(engine)) == before + len(held)


def test_quiet_until_handles_windows_across_midnight():
    at = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 22:30 in London (GMT)
    assert rules.quiet_until(at, "21:00", "08:00") == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    early = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    assert rules.quiet_until(early, "21:00", "08:00") == datetime(2026, 11, 21, 8, 0,
                                                                  tzinfo=UTC)
    assert rules.quiet_until(datetime(2026, 11, 21, 12, 0, tzinfo=UTC), "21:00", "08:00") is None
    summer = datetime(2026, 7, 1, 20, 30, tzinfo=UTC)  # 21:30 BST
    assert rules.quiet_until(summer, "21:00", "08:00") == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_a_burst_becomes_one_digest(police, engine, settings, dev):
    open_case(police)
    deliver(engine, settings, dev)  # the first message goes at once
    for number in range(3):
        police.send_ok("investigation.update", REF, {"message": f"update {number}"})
    deliver(engine, settings, dev)
    assert len(outbox(engine)) == 1  # the others wait for the digest window
    later = datetime.now(UTC) + timedelta(seconds=settings.notification_digest_seconds + 1)
    deliver(engine, settings, dev, now=later)
    captured = outbox(engine)
    assert len(captured) == 2
    assert "There are 3 updates about your case" in captured[-1].body
    updates = rows(engine, template="investigation.update")
    carriers = [n for n in updates if n.digest_pk is None]
    assert len(carriers) == 1
    assert all(n.status == DELIVERED for n in updates)
    assert sorted(n.digest_pk for n in updates if n.digest_pk) == [carriers[0].id] * 2
    # Every event of the digest counts as informed.
    informed = {e.event_pk for e in rows(engine, ObligationEvidence, kind="informed")}
    assert {n.event_pk for n in updates} <= informed


def test_carrier_limits_hold_texts_back():
    settings = service.Settings(sms_hourly_limit=100, sms_identical_hourly_limit=20,
                                notification_digest_seconds=0)
    row = Notification(channel="sms", to="+447700900123")
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    sends = [(now - timedelta(minutes=59) + timedelta(seconds=i), f"h{i}") for i in range(100)]
    assert service._limit_wait(settings, row, sends, "new", now) == sends[0][0] + timedelta(
        hours=1)
    assert service._limit_wait(settings, row, sends[:99], "new", now) is None
    same = [(now - timedelta(minutes=30) + timedelta(seconds=i), "same") for i in range(20)]
    assert service._limit_wait(settings, row, same, "same", now) == same[0][0] + timedelta(
        hours=1)
    assert service._limit_wait(settings, row, same, "other", now) is None
    email = Notification(channel="email", to="v1@example.com")
    assert service._limit_wait(settings, email, sends, "new", now) is None


# --- safety-critical events --------------------------------------------------------------------

def test_safety_alert_goes_on_every_channel_and_asks_for_acknowledgement(
        police, engine, settings, dev, client):
    open_case(police, victims=[victim(email="v1@example.com")])
    deliver(engine, settings, dev)
    police.send_ok("suspect.bailed", REF, {"bail_conditions": ["not to contact Alex"]})
    alert_rows = victim_rows(engine, template="suspect.bailed")
    assert sorted(n.channel for n in alert_rows) == ["email", "sms"]
    assert all(n.safety_critical for n in alert_rows)
    deliver(engine, settings, dev)  # not held by the digest window
    [alert] = alerts(engine)
    bodies = [m.body for m in outbox(engine)][-2:]
    assert all(f"http://testserver/ack/{alert.token}" in body for body in bodies)
    assert all("reply OK" in body and "contact Alex" not in body for body in bodies)
    # The link shows a button only: opening it acknowledges nothing.
    page = client.get(f"/ack/{alert.token}")
    assert page.status_code == 200
    assert alerts(engine)[0].acknowledged_at is None
    token = _csrf(page.text)
    done = client.post(f"/ack/{alert.token}", data={"csrf_token": token})
    assert done.status_code == 200, done.text
    acknowledged = alerts(engine)[0]
    assert acknowledged.acknowledged_by == "link"
    sources = {e.source for e in rows(engine, ObligationEvidence, kind="informed",
                                      event_pk=acknowledged.event_pk)}
    assert "acknowledged" in sources
    # Acknowledged in time: no call is needed.
    with session_of(engine) as session:
        service.escalate_unacknowledged(session, now=datetime.now(UTC) + timedelta(hours=3))
    assert tasks(engine) == []


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]


def test_unacknowledged_safety_alert_gets_a_call_after_two_hours(police, engine, settings, dev):
    open_case(police)
    police.send_ok("suspect.released_under_investigation", REF, {})
    deliver(engine, settings, dev)
    with session_of(engine) as session:
        assert service.escalate_unacknowledged(
            session, now=datetime.now(UTC) + timedelta(minutes=100)) == 0
    assert tasks(engine) == []
    with session_of(engine) as session:
        assert service.escalate_unacknowledged(
            session, now=datetime.now(UTC) + timedelta(hours=2, minutes=1)) == 1
    [task] = tasks(engine)
    assert task.reason == "safety-ack-overdue" and task.resolved_at is None
    with session_of(engine) as session:  # once only
        assert service.escalate_unacknowledged(
            session, now=datetime.now(UTC) + timedelta(hours=3)) == 0


def test_safety_alert_for_a_victim_we_cannot_reach_gets_a_call_at_once(police, engine):
    open_case(police, victims=[victim(mobile=None, email=None)])
    police.send_ok("suspect.bailed", REF, {})
    [task] = tasks(engine)
    assert task.reason == "no-channel"


# --- receipts, sweeps and retries -------------------------------------------------------------

def test_receipts_never_move_a_status_backwards(police, engine):
    open_case(police)
    [row] = rows(engine)
    with session_of(engine) as session:
        assert service.apply_receipt(session, row.id, DELIVERED)
        session.commit()
    for late in (SENDING, "temporary-failure", "permanent-failure"):
        with session_of(engine) as session:
            assert not service.apply_receipt(session, row.id, late)
            session.commit()
    assert rows(engine)[0].status == DELIVERED


def test_a_receipt_that_overtakes_the_hand_over_keeps_the_provider_reference(police, engine,
                                                                            settings):
    """A fast provider's delivery receipt can arrive before the worker records that the
    provider took the message: the row is delivered, and the reference is still recorded."""
    open_case(police)
    with session_of(engine) as session:
        [claimed] = service.claim(session, settings, {"sms": "twilio", "email": "outbox"},
                                  "fast-worker")
        session.commit()
    with session_of(engine) as session:
        assert service.apply_receipt(session, claimed.notification_pk, DELIVERED)
        session.commit()
    handed = service.Outcome(sent=Sent("SM-fast", SENDING))
    with session_of(engine) as session:
        service.record_outcomes(session, [(claimed, handed)])
        session.commit()
    row = rows(engine)[0]
    assert (row.status, row.provider_ref, row.claimed_by) == (DELIVERED, "SM-fast", None)
    assert [(a.outcome, a.provider_ref) for a in attempts(engine, row.id)] == [
        ("accepted", "SM-fast")]


def test_sweep_recovers_rows_whose_worker_died(police, engine, settings, dev):
    open_case(police)
    with session_of(engine) as session:
        assert len(service.claim(session, settings, {"sms": "outbox", "email": "outbox"},
                                 "dead-worker")) == 1
    # The worker died here: nothing recorded. Before the lease ends, the sweep leaves it alone.
    with session_of(engine) as session:
        assert service.sweep(session) == 0
    assert rows(engine)[0].status == SENDING
    after = datetime.now(UTC) + timedelta(seconds=settings.notification_lease_seconds + 1)
    with session_of(engine) as session:
        assert service.sweep(session, now=after) == 1
    row = rows(engine)[0]
    assert row.status == CREATED and row.claimed_until is None
    assert [a.outcome for a in attempts(engine, row.id)] == ["abandoned"]
    deliver(engine, settings, dev, now=after)
    row = rows(engine)[0]
    assert row.status == DELIVERED and row.attempts == 2
    assert [a.outcome for a in attempts(engine, row.id)] == ["abandoned", "accepted"]
    assert len(outbox(engine)) == 1


def test_late_result_of_a_swept_send_still_counts(police, engine, settings, dev):
    open_case(police)
    with session_of(engine) as session:
        [claimed] = service.claim(session, settings, {"sms": "outbox", "email": "outbox"},
                                  "slow-worker")
    after = datetime.now(UTC) + timedelta(seconds=settings.notification_lease_seconds + 1)
    with session_of(engine) as session:
        service.sweep(session, now=after)
    outcome = service.send(dev["sms"], claimed.message)
    with session_of(engine) as session:
        service.record_outcome(session, claimed, outcome, now=after)
        session.commit()
    assert rows(engine)[0].status == DELIVERED
    assert deliver(engine, settings, dev, now=after) == 0  # not sent a second time


def test_retry_delay_grows_with_jitter_and_is_capped():
    import random

    rng = random.Random(5)
    delays = [rules.retry_delay(n, rng).total_seconds() for n in range(1, 12)]
    assert 5 <= delays[0] <= 10
    assert all(d <= rules.RETRY_CAP_SECONDS for d in delays)
    assert delays[-1] >= rules.RETRY_CAP_SECONDS / 2
    total = sum(rules.retry_delay(n, rng).total_seconds() for n in range(1, 30))
    assert total > rules.RETRY_WINDOW.total_seconds()  # the window ends retries, not a count


# --- preferences -------------------------------------------------------------------------------

def test_preferences_override_what_the_police_sent(police, engine, settings):
    open_case(police, victims=[victim(email="v1@example.com")])
    [row] = rows(engine)
    with session_of(engine) as session:
        with pytest.raises(service.PreferenceError) as bad:
            service.save_preferences(session, row.victim_pk, sms=False, email=True,
                                     language="fr", quiet_from="25:00", quiet_to=None,
                                     discreet=True, update_interval_days=3)
        assert set(bad.value.errors) == {"language", "quiet_hours", "update_interval_days"}
        session.rollback()
        saved = service.save_preferences(session, row.victim_pk, sms=False, email=True,
                                         language="cy", quiet_from="22:00", quiet_to="07:00",
                                         discreet=True, update_interval_days=14)
    assert saved == service.Preferences(False, True, "cy", "22:00", "07:00", True, 14)
    police.send_ok("suspect.arrested", REF, {})
    [latest] = rows(engine, template="suspect.arrested")
    assert (latest.channel, latest.language, latest.discreet) == ("email", "cy", True)
    # A later victim.updated from the police does not undo the victim's own choices.
    police.send_ok("victim.updated", REF, {"victim": victim(email="v1@example.com")})
    with session_of(engine) as session:
        assert service.preferences_of(session, row.victim_pk).discreet is True


def test_attempt_rows_record_each_try(police, engine, settings, dev):
    open_case(police)
    deliver(engine, settings, dev)
    with session_of(engine) as session:
        tries = session.scalars(select(NotificationAttempt)).all()
    assert [(t.number, t.provider, t.outcome) for t in tries] == [(1, "outbox", "accepted")]


def test_serve_on_sqlite_runs_the_worker_in_process(database_url, settings, engine, session):
    if not database_url.startswith("sqlite"):
        pytest.skip("the in-process worker is for the embedded default (SQLite)")
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.agency_client import Registry
    from tests.fake_twilio import wait_for

    application = create_app(settings.model_copy(update={"in_process_worker": True}))
    try:
        with TestClient(application) as test_client:
            agency = Registry(session, settings, test_client).add(
                "met-police", "police", "Metropolitan Police Service")
            open_case(agency)
            assert wait_for(lambda: len(outbox(engine)) == 1, timeout=30)
        assert rows(engine)[0].status == DELIVERED
    finally:
        application.state.engine.dispose()
