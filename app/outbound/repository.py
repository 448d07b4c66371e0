"""All queries on victim requests and outbound webhook deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session, selectinload, with_loader_criteria

from app.agencies.models import Agency, AgencySecret
from app.cases.models import Case, CaseAgency, Victim
from app.outbound.models import (
    DELIVERING,
    DISABLED,
    EXHAUSTED,
    PENDING,
    TASK_ENDPOINT_DISABLED,
    AgencyRequest,
    OutboundAttempt,
    OutboundTask,
    OutboundWebhook,
)


def linked_agency_of_kind(session: Session, case_pk: int, kind: str) -> Agency | None:
    """The first agency of that kind linked to the case."""
    return session.scalars(
        select(Agency).join(CaseAgency, CaseAgency.agency_pk == Agency.id)
        .where(CaseAgency.case_pk == case_pk, Agency.kind == kind)
        .order_by(CaseAgency.linked_at, CaseAgency.id).limit(1)
    ).first()


def request_on_case(session: Session, case_pk: int, request_id: str,
                    lock: bool = False) -> AgencyRequest | None:
    query = select(AgencyRequest).where(AgencyRequest.case_pk == case_pk,
                                        AgencyRequest.request_id == request_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def requests_of_victim(session: Session, case_pk: int, victim_pk: int,
                       kinds: Sequence[str] | None = None) -> Sequence[AgencyRequest]:
    """A victim's requests on a case, oldest first."""
    query = select(AgencyRequest).where(AgencyRequest.case_pk == case_pk,
                                        AgencyRequest.victim_pk == victim_pk)
    if kinds is not None:
        query = query.where(AgencyRequest.kind.in_(list(kinds)))
    return session.scalars(query.order_by(AgencyRequest.created_at, AgencyRequest.id)).all()


def requests_of_case(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """Every victim request on a case, oldest first, as the staff console lists them: kind,
    status, dates, decision, agency name and victim_ref; never what the victim wrote or the
    agency's explanation."""
    return session.execute(
        select(AgencyRequest.kind, AgencyRequest.status, AgencyRequest.decision,
               AgencyRequest.created_at, AgencyRequest.acknowledged_at,
               AgencyRequest.completed_at, Agency.name.label("agency_name"),
               Victim.victim_ref)
        .join(Agency, Agency.id == AgencyRequest.agency_pk)
        .outerjoin(Victim, Victim.id == AgencyRequest.victim_pk)
        .where(AgencyRequest.case_pk == case_pk)
        .order_by(AgencyRequest.created_at, AgencyRequest.id)
    ).all()


def get_request(session: Session, pk: int) -> AgencyRequest | None:
    return session.get(AgencyRequest, pk)


def get_agency(session: Session, agency_pk: int) -> Agency | None:
    return session.get(Agency, agency_pk)


def lock_agency(session: Session, agency_pk: int) -> Agency | None:
    return session.scalars(select(Agency).where(Agency.id == agency_pk).with_for_update()
                           ).one_or_none()


def get_case(session: Session, case_pk: int) -> Case | None:
    return session.get(Case, case_pk)


def get_victim(session: Session, victim_pk: int) -> Victim | None:
    return session.get(Victim, victim_pk)


# --- deliveries -------------------------------------------------------------------------------

def claim_due(session: Session, now: datetime, limit: int) -> Sequence[OutboundWebhook]:
    """Deliveries due for a try, locked; rows other workers hold are skipped."""
    return session.scalars(
        select(OutboundWebhook)
        .where(OutboundWebhook.status == PENDING, OutboundWebhook.next_attempt_at <= now)
        .order_by(OutboundWebhook.next_attempt_at, OutboundWebhook.id)
        .limit(limit).with_for_update(skip_locked=True)
    ).all()


def expired_claims(session: Session, now: datetime, limit: int) -> Sequence[OutboundWebhook]:
    return session.scalars(
        select(OutboundWebhook)
        .where(OutboundWebhook.status == DELIVERING, OutboundWebhook.claimed_until < now)
        .limit(limit).with_for_update(skip_locked=True)
    ).all()


def lock_webhook(session: Session, pk: int) -> OutboundWebhook | None:
    return session.scalars(
        select(OutboundWebhook).where(OutboundWebhook.id == pk).with_for_update()
    ).one_or_none()


def renew_lease(session: Session, pk: int, worker: str, attempt: int, until: datetime) -> bool:
    """Extends our lease on a delivery we still hold; False if the sweep took it back."""
    result = session.execute(
        update(OutboundWebhook)
        .where(OutboundWebhook.id == pk, OutboundWebhook.claimed_by == worker,
               OutboundWebhook.attempts == attempt, OutboundWebhook.status == DELIVERING)
        .values(claimed_until=until)
    )
    return result.rowcount == 1


def get_attempt(session: Session, pk: int) -> OutboundAttempt | None:
    return session.get(OutboundAttempt, pk)


def open_attempt(session: Session, webhook_pk: int, number: int) -> OutboundAttempt | None:
    return session.scalars(
        select(OutboundAttempt).where(OutboundAttempt.webhook_pk == webhook_pk,
                                      OutboundAttempt.number == number,
                                      OutboundAttempt.finished_at.is_(None))
    ).one_or_none()


def attempts_of(session: Session, webhook_pk: int) -> Sequence[OutboundAttempt]:
    return session.scalars(
        select(OutboundAttempt).where(OutboundAttempt.webhook_pk == webhook_pk)
        .order_by(OutboundAttempt.number)
    ).all()


def deliveries_of_request(session: Session, request_pk: int) -> Sequence[OutboundWebhook]:
    return session.scalars(
        select(OutboundWebhook).where(OutboundWebhook.request_pk == request_pk)
        .order_by(OutboundWebhook.id)
    ).all()


def pending_for_agency(session: Session, agency_pk: int) -> Sequence[OutboundWebhook]:
    """Deliveries to an agency still waiting for a try (its endpoint has just gone)."""
    return session.scalars(
        select(OutboundWebhook)
        .where(OutboundWebhook.agency_pk == agency_pk, OutboundWebhook.status == PENDING)
        .with_for_update(skip_locked=True)
    ).all()


def open_task_for(session: Session, webhook_pk: int) -> OutboundTask | None:
    return session.scalars(
        select(OutboundTask).where(OutboundTask.webhook_pk == webhook_pk)
    ).one_or_none()


def open_tasks_of_request(session: Session, request_pk: int) -> Sequence[OutboundTask]:
    return session.scalars(
        select(OutboundTask).where(OutboundTask.request_pk == request_pk,
                                   OutboundTask.resolved_at.is_(None))
        .order_by(OutboundTask.id).with_for_update()
    ).all()


def parked_by_disabled_endpoint(session: Session,
                                agency_pk: int) -> Sequence[Row[tuple[OutboundWebhook,
                                                                      OutboundTask]]]:
    """(delivery, its open Hub task) of every delivery to the agency parked because its
    endpoint was disabled, oldest first, locked."""
    return session.execute(
        select(OutboundWebhook, OutboundTask)
        .join(OutboundTask, OutboundTask.webhook_pk == OutboundWebhook.id)
        .where(OutboundWebhook.agency_pk == agency_pk, OutboundWebhook.status == DISABLED,
               OutboundTask.reason == TASK_ENDPOINT_DISABLED, OutboundTask.resolved_at.is_(None))
        .order_by(OutboundWebhook.id).with_for_update()
    ).all()


@dataclass(frozen=True)
class StuckDelivery:
    """A delivery that gave up, with what staff need to act on it."""

    webhook: OutboundWebhook
    request: AgencyRequest
    case: Case
    agency: Agency
    task: OutboundTask | None


def exhausted_deliveries(session: Session, limit: int = 100) -> list[StuckDelivery]:
    """Exhausted or disabled deliveries (newest first) that nobody has dealt with yet (no task,
    or its task still open), with their case, request and agency, for the Hub queue of the
    staff console."""
    rows = session.execute(
        select(OutboundWebhook, AgencyRequest, Case, Agency, OutboundTask)
        .join(AgencyRequest, AgencyRequest.id == OutboundWebhook.request_pk)
        .join(Case, Case.id == AgencyRequest.case_pk)
        .join(Agency, Agency.id == OutboundWebhook.agency_pk)
        .outerjoin(OutboundTask, OutboundTask.webhook_pk == OutboundWebhook.id)
        .where(OutboundWebhook.status.in_((EXHAUSTED, DISABLED)),
               OutboundTask.resolved_at.is_(None))
        .order_by(OutboundWebhook.finished_at.desc(), OutboundWebhook.id.desc()).limit(limit)
    ).all()
    return [StuckDelivery(*row) for row in rows]


def open_tasks(session: Session) -> Sequence[OutboundTask]:
    return session.scalars(
        select(OutboundTask).where(OutboundTask.resolved_at.is_(None))
        .order_by(OutboundTask.created_at, OutboundTask.id)
    ).all()


def agency_with_active_secrets(session: Session, agency_pk: int) -> Agency | None:
    return session.scalars(
        select(Agency).where(Agency.id == agency_pk)
        .options(selectinload(Agency.secrets),
                 with_loader_criteria(AgencySecret, AgencySecret.retired_at.is_(None)))
        .execution_options(populate_existing=True)
    ).one_or_none()
