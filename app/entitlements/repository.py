"""All queries of the "Your rights" area."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.agencies.models import Agency, ReceivedEvent
from app.entitlements.models import Entitlement, EntitlementTransition
from app.outbound.models import AgencyRequest


def case_events(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """(type, occurred_at, agency_id, agency kind, webhook_id, data) of every event of the case,
    in the order the projection applies them."""
    return session.execute(
        select(ReceivedEvent.type, ReceivedEvent.occurred_at, Agency.agency_id, Agency.kind,
               ReceivedEvent.webhook_id, ReceivedEvent.data)
        .join(Agency, Agency.id == ReceivedEvent.agency_pk)
        .where(ReceivedEvent.case_pk == case_pk)
        .order_by(ReceivedEvent.occurred_at, Agency.agency_id, ReceivedEvent.webhook_id)
    ).all()


def entitlements_of(session: Session, victim_pk: int) -> Sequence[Entitlement]:
    return session.scalars(select(Entitlement).where(Entitlement.victim_pk == victim_pk)
                           .order_by(Entitlement.id)).all()


def find(session: Session, victim_pk: int, right: str, key: str,
         lock: bool = False) -> Entitlement | None:
    query = select(Entitlement).where(Entitlement.victim_pk == victim_pk,
                                      Entitlement.right == right, Entitlement.key == key)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def by_request(session: Session, request_pk: int) -> Entitlement | None:
    return session.scalars(
        select(Entitlement).where(Entitlement.request_pk == request_pk).with_for_update()
    ).one_or_none()


def transitions_of(session: Session, entitlement_pks: Sequence[int]
                   ) -> Sequence[EntitlementTransition]:
    if not entitlement_pks:
        return []
    return session.scalars(
        select(EntitlementTransition)
        .where(EntitlementTransition.entitlement_pk.in_(list(entitlement_pks)))
        .order_by(EntitlementTransition.at, EntitlementTransition.id)
    ).all()


def requests_by_pk(session: Session, pks: Sequence[int]) -> dict[int, AgencyRequest]:
    if not pks:
        return {}
    rows = session.scalars(select(AgencyRequest).where(AgencyRequest.id.in_(list(pks)))).all()
    return {row.id: row for row in rows}


def agencies_by_pk(session: Session, pks: Sequence[int]) -> dict[int, Agency]:
    if not pks:
        return {}
    return {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(list(pks))))}
