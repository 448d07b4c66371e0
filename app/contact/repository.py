"""All queries on messages, escalations, their steps and the staff email outbox.

Also the aggregates the oversight dashboard counts (`escalation_counts`, `feedback_counts`) and
the Hub's queue (`open_escalations`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from app.cases.models import Case, Victim
from app.contact.models import (
    OPEN,
    PENDING,
    RESOLVED,
    SENDING,
    ContactMessage,
    ContactStep,
    ContactThread,
    Escalation,
    StaffEmail,
)
from app.core.db import utcnow


def lock_case(session: Session, case_pk: int) -> Case | None:
    """The case, locked for the rest of the transaction (serialises with event ingestion)."""
    return session.scalars(select(Case).where(Case.id == case_pk).with_for_update()).one_or_none()


def get_case(session: Session, case_pk: int) -> Case | None:
    return session.get(Case, case_pk)


def get_victim(session: Session, victim_pk: int) -> Victim | None:
    return session.get(Victim, victim_pk)


def victims_of_case(session: Session, case_pk: int) -> Sequence[Victim]:
    return session.scalars(select(Victim).where(Victim.case_pk == case_pk)
                           .order_by(Victim.id)).all()


# --- threads and messages ---------------------------------------------------------------------

def get_thread(session: Session, case_pk: int, victim_pk: int,
               lock: bool = False) -> ContactThread | None:
    query = select(ContactThread).where(ContactThread.case_pk == case_pk,
                                        ContactThread.victim_pk == victim_pk)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def threads_of_case(session: Session, case_pk: int) -> Sequence[ContactThread]:
    return session.scalars(select(ContactThread).where(ContactThread.case_pk == case_pk)
                           .order_by(ContactThread.id)).all()


def messages_of(session: Session, thread_pk: int) -> Sequence[ContactMessage]:
    return session.scalars(select(ContactMessage).where(ContactMessage.thread_pk == thread_pk)
                           .order_by(ContactMessage.created_at, ContactMessage.id)).all()


def unanswered(session: Session, thread_pk: int) -> Sequence[ContactMessage]:
    """The victim's messages still waiting for an answer, oldest first."""
    return session.scalars(
        select(ContactMessage)
        .where(ContactMessage.thread_pk == thread_pk, ContactMessage.replied_at.is_(None),
               ContactMessage.author.in_(("victim", "representative")))
        .order_by(ContactMessage.created_at, ContactMessage.id)
    ).all()


def message_by_request_id(session: Session, case_pk: int,
                          request_id: str) -> ContactMessage | None:
    return session.scalars(
        select(ContactMessage).where(ContactMessage.case_pk == case_pk,
                                     ContactMessage.request_id == request_id)
    ).one_or_none()


def steps_of_thread(session: Session, thread_pk: int) -> Sequence[ContactStep]:
    return session.scalars(select(ContactStep).where(ContactStep.thread_pk == thread_pk)
                           .order_by(ContactStep.at, ContactStep.id)).all()


def steps_of_escalation(session: Session, escalation_pk: int) -> Sequence[ContactStep]:
    return session.scalars(select(ContactStep).where(ContactStep.escalation_pk == escalation_pk)
                           .order_by(ContactStep.at, ContactStep.id)).all()


_thread = ContactThread.__table__
_message = ContactMessage.__table__
_escalation = Escalation.__table__
_case = Case.__table__
_latest_message = (select(_message.c.id).where(_message.c.thread_pk == _thread.c.id)
                   .order_by(_message.c.created_at.desc(), _message.c.id.desc()).limit(1)
                   .correlate(_thread).scalar_subquery())
# The case page's contact panel in one statement: the case, its thread for this victim (with
# the latest message) and the victim's escalations, newest first; one row per escalation, or
# one row with no escalation.
_PANEL = (
    select(_thread.c.id.label("thread_pk"), _thread.c.waiting_since, _thread.c.holder,
           _thread.c.due_at, _message.c.author.label("latest_author"),
           _message.c.created_at.label("latest_at"),
           _escalation.c.id.label("escalation_pk"), _escalation.c.public_id,
           _escalation.c.reason, _escalation.c.holder.label("escalation_holder"),
           _escalation.c.due_at.label("escalation_due_at"), _escalation.c.status,
           _escalation.c.feedback)
    .select_from(_case)
    .outerjoin(_thread, and_(_thread.c.case_pk == _case.c.id,
                             _thread.c.victim_pk == bindparam("victim_pk")))
    .outerjoin(_message, _message.c.id == _latest_message)
    .outerjoin(_escalation, and_(_escalation.c.case_pk == _case.c.id,
                                 _escalation.c.victim_pk == bindparam("victim_pk")))
    .where(_case.c.id == bindparam("case_pk"))
    .order_by(_escalation.c.raised_at.desc(), _escalation.c.id.desc())
)


def panel_rows(session: Session, case_pk: int, victim_pk: int) -> Sequence[Row[Any]]:
    """What the case page's contact panel shows, as rows of `_PANEL` (see there)."""
    return session.connection().execute(_PANEL, {"case_pk": case_pk,
                                                 "victim_pk": victim_pk}).all()


# --- escalations ------------------------------------------------------------------------------

def escalation_by_public_id(session: Session, case_pk: int, victim_pk: int,
                            public_id: str) -> Escalation | None:
    return session.scalars(
        select(Escalation).where(Escalation.public_id == public_id,
                                 Escalation.case_pk == case_pk,
                                 Escalation.victim_pk == victim_pk)
    ).one_or_none()


def get_escalation(session: Session, pk: int, lock: bool = False) -> Escalation | None:
    query = select(Escalation).where(Escalation.id == pk)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def escalation_by_request_id(session: Session, request_id: str) -> Escalation | None:
    return session.scalars(
        select(Escalation).where(Escalation.request_id == request_id)).one_or_none()


def escalations_of_case(session: Session, case_pk: int) -> Sequence[Escalation]:
    return session.scalars(
        select(Escalation).where(Escalation.case_pk == case_pk)
        .order_by(Escalation.raised_at.desc(), Escalation.id.desc())
    ).all()


def open_no_reply(session: Session, thread_pk: int) -> Sequence[Escalation]:
    return session.scalars(
        select(Escalation).where(Escalation.thread_pk == thread_pk,
                                 Escalation.reason == "no_reply", Escalation.status == OPEN)
        .with_for_update()
    ).all()


def open_escalations(session: Session, limit: int = 100,
                     restrict_to: Select[Any] | None = None) -> Sequence[Row[Any]]:
    """The Hub's queue: every open escalation (only on the cases whose pk is in `restrict_to`
    when given), the nearest deadline first (urgent first on a tie). Rows of id, case_pk,
    victim_pk, crime_reference, reason, urgent, holder, due_at, first_due_at, raised_at,
    created_at, status; no victim's words or name."""
    query = (
        select(Escalation.id, Escalation.case_pk, Escalation.victim_pk, Case.crime_reference,
               Escalation.reason, Escalation.urgent, Escalation.holder, Escalation.due_at,
               Escalation.first_due_at, Escalation.raised_at, Escalation.created_at,
               Escalation.status)
        .join(Case, Case.id == Escalation.case_pk)
        .where(Escalation.status == OPEN)
        .order_by(Escalation.due_at, Escalation.urgent.desc(), Escalation.id).limit(limit)
    )
    if restrict_to is not None:
        query = query.where(Escalation.case_pk.in_(restrict_to))
    return session.execute(query).all()


# --- the ladder (the worker job) --------------------------------------------------------------

def overdue_threads(session: Session, now: datetime, limit: int) -> Sequence[ContactThread]:
    """Waiting threads whose holder's time is up, locked; rows another worker holds are
    skipped."""
    return session.scalars(
        select(ContactThread)
        .where(ContactThread.waiting_since.is_not(None), ContactThread.due_at < now)
        .order_by(ContactThread.due_at, ContactThread.id).limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def overdue_escalations(session: Session, now: datetime, limit: int) -> Sequence[Escalation]:
    return session.scalars(
        select(Escalation).where(Escalation.status == OPEN, Escalation.due_at < now)
        .order_by(Escalation.due_at, Escalation.id).limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def move_thread(session: Session, thread_pk: int, from_rung: int, values: dict[str, Any]) -> bool:
    """Moves a thread up one rung only if no one else has: True if this call did."""
    result = session.execute(
        update(ContactThread)
        .where(ContactThread.id == thread_pk, ContactThread.rung == from_rung,
               ContactThread.waiting_since.is_not(None))
        .values(**values).execution_options(synchronize_session="fetch"))
    return result.rowcount == 1


def move_escalation(session: Session, escalation_pk: int, from_rung: int,
                    values: dict[str, Any]) -> bool:
    result = session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_pk, Escalation.rung == from_rung,
               Escalation.status == OPEN)
        .values(**values).execution_options(synchronize_session="fetch"))
    return result.rowcount == 1


# --- staff emails -----------------------------------------------------------------------------

def claim_staff_emails(session: Session, now: datetime, limit: int) -> Sequence[StaffEmail]:
    """Pending emails that are due, and sending ones whose worker's lease ran out."""
    return session.scalars(
        select(StaffEmail)
        .where(((StaffEmail.status == PENDING) & (StaffEmail.next_attempt_at <= now))
               | ((StaffEmail.status == SENDING) & (StaffEmail.claimed_until < now)))
        .order_by(StaffEmail.next_attempt_at, StaffEmail.id).limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def lock_staff_email(session: Session, pk: int) -> StaffEmail | None:
    return session.scalars(select(StaffEmail).where(StaffEmail.id == pk)
                           .with_for_update()).one_or_none()


# --- aggregates for the oversight dashboard ---------------------------------------------------

def escalation_counts(session: Session, since: datetime | None = None,
                      now: datetime | None = None) -> Sequence[Row[Any]]:
    """(reason, status, service_level_met, count) rows. `service_level_met` is True when
    resolved by the first holder's deadline, False when resolved later or still open past it
    (open rows count as not met once `first_due_at` has passed), None while open and not yet
    due."""
    now = now or utcnow()
    met = case(
        (Escalation.status == RESOLVED, Escalation.resolved_at <= Escalation.first_due_at),
        (Escalation.first_due_at < now, False),
        else_=None)
    query = select(Escalation.reason, Escalation.status, met.label("met"), func.count())
    if since is not None:
        query = query.where(Escalation.raised_at >= since)
    return session.execute(
        query.group_by(Escalation.reason, Escalation.status, met)
        .order_by(Escalation.reason, Escalation.status)
    ).all()


def feedback_counts(session: Session, since: datetime | None = None) -> dict[str, int]:
    """How victims answered "Was this resolved?": {"yes": n, "no": n, "unanswered": n} over
    resolved escalations."""
    query = select(Escalation.feedback, func.count()).where(Escalation.status == RESOLVED)
    if since is not None:
        query = query.where(Escalation.raised_at >= since)
    counts = {"yes": 0, "no": 0, "unanswered": 0}
    for answer, count in session.execute(query.group_by(Escalation.feedback)).all():
        counts[answer or "unanswered"] += count
    return counts
