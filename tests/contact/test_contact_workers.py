"""The ladder job and the staff email job with several workers at once (real threads, real
databases: SQLite serialises them, PostgreSQL claims with SKIP LOCKED), and the aggregates the
oversight dashboard counts."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.contact import outbox, repository, service, tasks
from app.contact.models import ContactStep, Escalation, StaffEmail
from app.core.config import Settings
from app.core.db import make_sessionmaker
from app.notifications import dev_outbox
from tests.agency_client import AgencyClient
from tests.contact.helpers import (
    OIC_EMAIL,
    end_of,
    london,
    open_case_with_officers,
    the_case,
    the_victim,
)

WORKERS = 6


def _together(work, count: int = WORKERS) -> list[int]:
    barrier = threading.Barrier(count)
    results: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        value = work()
        with lock:
            results.append(value)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_several_workers_move_each_message_once(session: Session, engine: Engine,
                                                police: AgencyClient) -> None:
    open_case_with_officers(police)
    service.send_message(session, the_case(session), the_victim(session), "victim",
                         {"body": "Hello?"}, now=london("2026-12-24T10:00"))
    session.commit()
    factory = make_sessionmaker(engine)
    late = end_of("2026-12-30") + timedelta(hours=1)
    assert sum(_together(lambda: tasks.climb_ladders(factory, late))) == 1
    moved = session.scalar(select(func.count()).select_from(ContactStep)
                           .where(ContactStep.kind == "moved"))
    assert moved == 1
    session.commit()


def test_several_workers_send_each_staff_email_once(session: Session, engine: Engine,
                                                    settings: Settings,
                                                    police: AgencyClient) -> None:
    open_case_with_officers(police)
    for n in range(5):
        service.queue_staff_email(session, the_case(session).id, OIC_EMAIL, "new_message",
                                  london("2026-11-01T10:00") + timedelta(minutes=n))
    session.commit()
    factory = make_sessionmaker(engine)
    deliver = outbox.StaffEmailDeliverer(settings)
    assert sum(_together(lambda: deliver(factory), 3)) == 5
    with factory() as db:
        assert len(dev_outbox.messages(db, OIC_EMAIL)) == 5
        statuses = db.scalars(select(StaffEmail.status)).all()
    assert statuses == ["sent"] * 5


def test_a_staff_email_that_keeps_failing_is_retried_then_given_up(
        session: Session, engine: Engine, settings: Settings, police: AgencyClient) -> None:
    from app.notifications.providers import SmtpEmail

    open_case_with_officers(police)
    service.queue_staff_email(session, the_case(session).id, OIC_EMAIL, "new_message",
                              london("2026-11-01T10:00"))
    session.commit()
    # A real SMTP client pointed at a port nobody listens on: a temporary failure each time.
    smtp = SmtpEmail(settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9,
                                                 "provider_timeout_seconds": 2}))
    factory = make_sessionmaker(engine)
    deliver = outbox.StaffEmailDeliverer(settings, smtp)
    assert deliver(factory) == 1
    with factory() as db:
        row = db.scalars(select(StaffEmail)).one()
        assert (row.status, row.attempts) == ("pending", 1) and row.last_error
        row.attempts = outbox.MAX_ATTEMPTS - 1
        row.next_attempt_at = london("2026-01-01T00:00")
        db.commit()
    assert deliver(factory) == 1
    with factory() as db:
        assert db.scalars(select(StaffEmail.status)).one() == "failed"


def test_escalation_aggregates(session: Session, police: AgencyClient) -> None:
    open_case_with_officers(police)
    case, victim = the_case(session), the_victim(session)
    raised = london("2026-11-23T10:00")  # Monday: the supervisor's day ends Tuesday
    on_time = service.escalate(session, case, victim, "victim",
                               {"reason": "cant_reach_officer"}, now=raised)
    late = service.escalate(session, case, victim, "victim", {"reason": "something_wrong"},
                            now=raised)
    service.escalate(session, case, victim, "victim", {"reason": "cant_reach_officer"},
                     now=raised)
    service.resolve(session, on_time.id, by="Hub", values={"note": "Done"},
                    now=london("2026-11-24T12:00"))
    service.resolve(session, late.id, by="Hub", values={"note": "Done"},
                    now=london("2026-11-26T12:00"))
    # resolved_at is when it was resolved, not when the test ran
    session.expire_all()
    assert session.get(Escalation, late.id).resolved_at == london("2026-11-26T12:00")
    counts = {(r.reason, r.status, r.met): r[3] for r in repository.escalation_counts(
        session, now=london("2026-11-30T00:00"))}
    assert counts == {("cant_reach_officer", "resolved", True): 1,
                      ("cant_reach_officer", "open", False): 1,
                      ("something_wrong", "resolved", False): 1}
    before_due = {(r.reason, r.status, r.met) for r in repository.escalation_counts(
        session, now=london("2026-11-24T09:00"))}
    assert ("cant_reach_officer", "open", None) in before_due
    escalation = repository.get_escalation(session, on_time.id)
    assert escalation is not None
    service.record_feedback(session, escalation, "no")
    assert repository.feedback_counts(session) == {"yes": 0, "no": 1, "unanswered": 1}
    session.commit()
