"""Outbound webhooks (contract s.6): signed with Standard Webhooks, delivered at least once on the
Standard Webhooks retry schedule with one webhook-id, every attempt recorded, 410 disables the
endpoint, an exhausted delivery becomes a staff task; agency replies update the request.

The receivers are real HTTP servers that verify signatures with the standardwebhooks library."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from app.agencies.models import Agency
from app.cases import repository as cases
from app.core.db import make_sessionmaker
from app.jobs import all_jobs
from app.outbound import delivery, repository, service
from app.outbound.models import OutboundTask, OutboundWebhook
from tests.entitlements.outbound_helpers import (
    REFERENCE,
    case_with_cps,
    fresh,
    get_request,
    set_endpoint,
    start_clock,
    submit,
)
from tests.webhook_receiver import Receiver


def deliveries(engine, request_id):
    request = get_request(engine, request_id)
    with fresh(engine) as session:
        webhooks = list(repository.deliveries_of_request(session, request.id))
        attempts = {w.id: list(repository.attempts_of(session, w.id)) for w in webhooks}
        return webhooks, attempts


def run_until_settled(engine, settings, clock, max_runs=30):
    """Runs the delivery job, moving the clock to each retry's time, until nothing is due."""
    deliverer = service.Deliverer(settings, clock=clock)
    factory = make_sessionmaker(engine)
    for _ in range(max_runs):
        deliverer(factory)
        with fresh(engine) as session:
            waiting = session.scalars(select(OutboundWebhook)
                                      .where(OutboundWebhook.status == "pending")).all()
        if not waiting:
            return
        clock.advance_to(min(w.next_attempt_at for w in waiting))
    raise AssertionError("deliveries did not settle")


def test_retry_schedule_is_the_standard_webhooks_schedule():
    rng = random.Random(7)
    expected = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    for failed, seconds in enumerate(expected):
        wait = delivery.retry_delay(failed, rng)
        assert wait is not None
        assert seconds * 0.9 <= wait.total_seconds() <= seconds * 1.1
    assert delivery.retry_delay(len(expected)) is None


def test_worker_registers_the_delivery_job(settings):
    assert "deliver-outbound-webhooks" in [job.name for job in all_jobs(settings, {})]


def test_delivery_is_signed_and_has_the_contract_shape(engine, settings, registry, police):
    cps = case_with_cps(registry, police)
    with Receiver(cps.secret) as receiver:
        set_endpoint(engine, "cps-london", receiver.url)
        request_id = submit(engine, details={"reasons": "The suspect admitted it"})
        run_until_settled(engine, settings, start_clock())
    assert [d.verified for d in receiver.received] == [True]
    body = receiver.received[0].body
    assert body["type"] == "request.submitted"
    assert body["crime_reference"] == REFERENCE
    assert body["data"] == {"request_id": request_id, "kind": "vrr", "victim_ref": "V1",
                            "details": {"reasons": "The suspect admitted it"}}
    webhooks, attempts = deliveries(engine, request_id)
    assert [w.status for w in webhooks] == ["delivered"]
    assert webhooks[0].webhook_id.startswith("msg_")
    assert receiver.accepted_ids == [webhooks[0].webhook_id]
    assert [(a.outcome, a.status_code) for a in attempts[webhooks[0].id]] == [("delivered", 204)]


def test_a_signature_with_a_wrong_secret_is_refused_and_retried(engine, settings, registry,
                                                                police):
    case_with_cps(registry, police)
    with Receiver("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB") as receiver:
        set_endpoint(engine, "cps-london", receiver.url)
        request_id = submit(engine)
        service.Deliverer(settings, clock=start_clock())(make_sessionmaker(engine))
    assert [d.answered for d in receiver.received] == [401]
    webhooks, attempts = deliveries(engine, request_id)
    assert webhooks[0].status == "pending" and attempts[webhooks[0].id][0].status_code == 401


def test_flaky_receiver_gets_retries_with_one_webhook_id(engine, settings, registry, police):
    cps = case_with_cps(registry, police)
    with Receiver(cps.secret, fail_first=4) as receiver:
        set_endpoint(engine, "cps-london", receiver.url)
        request_id = submit(engine)
        clock = start_clock()
        deliverer = service.Deliverer(settings, clock=clock)
        factory = make_sessionmaker(engine)
        waits = []
        for _ in range(4):
            deliverer(factory)
            webhooks, _ = deliveries(engine, request_id)
            assert webhooks[0].status == "pending"
            waits.append((webhooks[0].next_attempt_at - clock.now).total_seconds())
            # nothing goes before the retry is due
            assert deliverer(factory) == 0
            clock.advance_to(webhooks[0].next_attempt_at)
        deliverer(factory)
    # tries 2-5 came after the schedule's 5 s, 5 min, 30 min and 2 h (with jitter)
    for wait, seconds in zip(waits, (5, 300, 1800, 7200), strict=True):
        assert seconds * 0.9 <= wait <= seconds * 1.1
    assert [d.answered for d in receiver.received] == [503, 503, 503, 503, 204]
    assert all(d.verified for d in receiver.received)
    assert len({d.webhook_id for d in receiver.received}) == 1
    assert len(receiver.accepted_ids) == 1
    webhooks, attempts = deliveries(engine, request_id)
    assert webhooks[0].status == "delivered" and webhooks[0].attempts == 5
    assert [(a.number, a.outcome, a.status_code) for a in attempts[webhooks[0].id]] == [
        (1, "retry", 503), (2, "retry", 503), (3, "retry", 503), (4, "retry", 503),
        (5, "delivered", 204)]


def test_exhausted_delivery_becomes_a_staff_task(engine, settings, registry, police):
    cps = case_with_cps(registry, police)
    with Receiver(cps.secret, status=500) as receiver:
        set_endpoint(engine, "cps-london", receiver.url)
        request_id = submit(engine)
        run_until_settled(engine, settings, start_clock())
    assert len(receiver.received) == delivery.MAX_ATTEMPTS == 10
    webhooks, attempts = deliveries(engine, request_id)
    assert webhooks[0].status == "exhausted"
    assert [a.outcome for a in attempts[webhooks[0].id]][-1] == "exhausted"
    assert "10 tries" in webhooks[0].last_error
    with fresh(engine) as session:
        stuck = repository.exhausted_deliveries(session)
        assert [(s.request.request_id, s.case.crime_reference, s.request.kind, s.task.reason)
                for s in stuck] == [(request_id, REFERENCE, "vrr", "exhausted")]
    # the request itself is kept: the victim still sees it as sent
    assert get_request(engine, request_id).status == "submitted"


def test_gone_disables_the_endpoint(engine, settings, registry, police):
    cps = case_with_cps(registry, police)
    with Receiver(cps.secret, status=410) as receiver:
        set_endpoint(engine, "cps-london", receiver.url)
        first = submit(engine)
        run_until_settled(engine, settings, start_clock())
        second = submit(engine, kind="vps", details={"statement": "..."})
        run_until_settled(engine, settings, start_clock())
    assert len(receiver.received) == 1  # nothing more was sent after the 410
    with fresh(engine) as session:
        agency = session.scalars(select(Agency).where(Agency.agency_id == "cps-london")).one()
        assert agency.endpoint_disabled_at is not None
        tasks = session.scalars(select(OutboundTask).order_by(OutboundTask.id)).all()
        assert [t.reason for t in tasks] == ["endpoint-disabled", "endpoint-disabled"]
    assert [w.status for w in deliveries(engine, first)[0]] == ["disabled"]
    assert [w.status for w in deliveries(engine, second)[0]] == ["disabled"]


def test_agency_without_endpoint_is_parked_for_staff(engine, settings, registry, police):
    case_with_cps(registry, police)
    request_id = submit(engine)
    assert get_request(engine, request_id).status == "submitted"
    webhooks, attempts = deliveries(engine, request_id)
    assert webhooks[0].status == "exhausted" and attempts[webhooks[0].id] == []
    assert "no endpoint_url" in webhooks[0].last_error
    with fresh(engine) as session:
        assert [s.task.reason for s in repository.exhausted_deliveries(session)] == [
            "no-endpoint"]


def test_unknown_kind_is_refused_and_writes_nothing(engine, registry, police):
    case_with_cps(registry, police)
    with fresh(engine) as session:
        case = cases.get_case_by_reference(session, REFERENCE)
        agency = service.agency_for(session, case, "cps")
        with pytest.raises(service.RequestError, match="unknown request kind"):
            service.submit(session, case=case, victim=None, agency=agency, kind="parole",
                           details={})
        session.commit()
        assert session.scalars(select(OutboundWebhook)).all() == []


def test_a_worker_that_died_mid_delivery_is_retried_with_the_same_id(engine, settings,
                                                                      registry, police):
    cps = case_with_cps(registry, police)
    with Receiver(cps.secret) as receiver:
        set_endpoint(engine, "cps-london", receiver.url)
        request_id = submit(engine)
        clock = start_clock()
        with fresh(engine) as session:  # a worker claims, then dies before sending
            claimed = service.claim(session, settings, "dead-worker", clock())
        assert len(claimed) == 1
        clock.advance(seconds=service.LEASE.total_seconds() + 1)
        run_until_settled(engine, settings, clock)
    webhooks, attempts = deliveries(engine, request_id)
    assert [a.outcome for a in attempts[webhooks[0].id]] == ["abandoned", "delivered"]
    assert receiver.accepted_ids == [claimed[0].webhook_id]


def test_rotated_secrets_both_sign(engine, settings, registry, police):
    from app.agencies import service as agencies

    cps = case_with_cps(registry, police)
    with fresh(engine) as session:
        _agency, new_secret = agencies.rotate_secret(session, settings.secret_key, "cps-london")
    for secret in (cps.secret, new_secret):
        with Receiver(secret) as receiver:
            set_endpoint(engine, "cps-london", receiver.url)
            submit(engine)
            run_until_settled(engine, settings, start_clock())
        assert [d.verified for d in receiver.received] == [True]


# --- replies ------------------------------------------------------------------------------------

def timeline_texts(engine, victim_ref):
    from app.cases import service as case_service
    from app.core.i18n import translator

    with fresh(engine) as session:
        case = cases.get_case_by_reference(session, REFERENCE)
        victim = cases.get_victim(session, case.id, victim_ref)
        view = case_service.view_case(session, case, victim.id)
        return [case_service.entry_text(e, translator("en")) for e in view.timeline]


def test_replies_move_the_request_forward_and_reach_only_its_victim(engine, registry, police):
    cps = case_with_cps(registry, police)
    request_id = submit(engine)
    cps.send_ok("request.acknowledged", REFERENCE, {"request_id": request_id},
                occurred_at="2026-11-23T10:00:00Z")
    request = get_request(engine, request_id)
    assert request.status == "acknowledged" and request.acknowledged_at is not None
    cps.send_ok("request.completed", REFERENCE,
                {"request_id": request_id, "decision": "not_upheld",
                 "explanation": "The original decision was right."},
                occurred_at="2026-12-10T10:00:00Z")
    request = get_request(engine, request_id)
    assert (request.status, request.decision) == ("completed", "not_upheld")
    assert request.explanation == "The original decision was right."
    texts = timeline_texts(engine, "V1")
    assert ("The Crown Prosecution Service has received your request for a review of the "
            "decision and is looking at it.") in texts
    assert ("The Crown Prosecution Service has finished dealing with your request for a review "
            "of the decision. The result: not upheld. The original decision was right.") in texts
    assert not [t for t in timeline_texts(engine, "V2") if "request" in t]


def test_a_late_acknowledgement_never_moves_a_completed_request_back(engine, registry, police):
    cps = case_with_cps(registry, police)
    request_id = submit(engine)
    cps.send_ok("request.completed", REFERENCE, {"request_id": request_id, "decision": "done"},
                occurred_at="2026-12-10T10:00:00Z")
    cps.send_ok("request.acknowledged", REFERENCE, {"request_id": request_id},
                occurred_at="2026-11-23T10:00:00Z")
    request = get_request(engine, request_id)
    assert request.status == "completed"
    assert request.acknowledged_at.isoformat().startswith("2026-11-23")


def test_reply_to_an_unknown_or_other_case_request_is_404(engine, registry, police):
    cps = case_with_cps(registry, police)
    police.send_ok("case.opened", "01/70002/26", {
        "crime_type": "Theft", "offence_group": "theft", "borough": "Camden",
        "reported_at": "2026-11-19T18:30:00Z",
        "victims": [{"victim_ref": "V9", "given_name": "Kim", "family_name": "Testperson"}]})
    police.send_ok("case.agency_linked", "01/70002/26", {"agency_id": "cps-london"})
    request_id = submit(engine)
    for reference, rid in (("01/70002/26", request_id), (REFERENCE, "no-such-request")):
        response = cps.send("request.acknowledged", reference, {"request_id": rid})
        assert response.status_code == 404, response.text
        assert response.json()["type"].endswith("unknown-request")
    assert get_request(engine, request_id).status == "submitted"


def test_any_linked_agency_may_reply(engine, registry, police):
    case_with_cps(registry, police)
    request_id = submit(engine)
    police.send_ok("request.acknowledged", REFERENCE, {"request_id": request_id})
    assert get_request(engine, request_id).status == "acknowledged"


# --- the Hub's tasks and an endpoint back in service ----------------------------------------------

def _task_of(engine, request_id):
    request = get_request(engine, request_id)
    with fresh(engine) as session:
        return session.scalars(select(OutboundTask)
                               .where(OutboundTask.request_pk == request.id)).one()


def test_enabling_the_endpoint_again_resends_what_was_parked(engine, settings, registry,
                                                             police):
    cps = case_with_cps(registry, police)
    with Receiver(cps.secret, status=410) as receiver:
        set_endpoint(engine, "cps-london", receiver.url)
        gone = submit(engine)
        run_until_settled(engine, settings, start_clock())
        parked = submit(engine, kind="vps", details={"statement": "..."})
        passed_on = submit(engine, victim_ref="V2")
        with fresh(engine) as session:  # someone at the Hub passed this one on by phone
            assert service.resolve_task(session, _task_of(engine, passed_on).id,
                                        "hub@example.com")
        ids = {rid: deliveries(engine, rid)[0][0].webhook_id for rid in (gone, parked, passed_on)}
        receiver.status = 204  # the agency's endpoint is back
        with fresh(engine) as session:
            agency = session.scalars(select(Agency).where(Agency.agency_id == "cps-london")).one()
            assert service.resume_endpoint(session, agency) == 2
            session.commit()
        run_until_settled(engine, settings, start_clock())
    assert receiver.accepted_ids == [ids[gone], ids[parked]]  # the same webhook-ids as before
    assert all(d.verified for d in receiver.received)
    webhooks, attempts = deliveries(engine, gone)
    assert [w.status for w in webhooks] == ["delivered"]
    assert [(a.number, a.outcome) for a in attempts[webhooks[0].id]] == [
        (1, "gone"), (2, "delivered")]
    assert [w.status for w in deliveries(engine, parked)[0]] == ["delivered"]
    assert [w.status for w in deliveries(engine, passed_on)[0]] == ["disabled"]
    assert _task_of(engine, gone).resolved_by == "endpoint enabled again"
    assert _task_of(engine, passed_on).resolved_by == "hub@example.com"
    with fresh(engine) as session:
        agency = session.scalars(select(Agency).where(Agency.agency_id == "cps-london")).one()
        assert agency.endpoint_disabled_at is None
        assert repository.exhausted_deliveries(session) == []


def test_an_agency_reply_takes_the_request_off_the_hub_queue(engine, registry, police):
    cps = case_with_cps(registry, police)
    answered, waiting = submit(engine), submit(engine, victim_ref="V2")  # no endpoint: parked
    with fresh(engine) as session:
        assert len(repository.exhausted_deliveries(session)) == 2
    cps.send_ok("request.acknowledged", REFERENCE, {"request_id": answered})
    assert _task_of(engine, answered).resolved_by == "answered by cps-london"
    assert _task_of(engine, waiting).resolved_at is None
    with fresh(engine) as session:
        assert [s.request.request_id for s in repository.exhausted_deliveries(session)] == [
            waiting]
