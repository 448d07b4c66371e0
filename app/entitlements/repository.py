"""All queries of the "Your rights" area."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from app.agencies.models import Agency, ReceivedEvent
from app.entitlements.models import Entitlement, EntitlementTransition
from app.outbound.models import AgencyRequest

_event = ReceivedEvent.__table__
_agency = Agency.__table__
_CASE_EVENTS = (
    select(_event.c.type, _event.c.occurred_at, _agency.c.agency_id, _agency.c.kind,
           _event.c.webhook_id, _event.c.data)
    .join(_agency, _agency.c.id == _event.c.agency_pk)
    .where(_event.c.case_pk == bindparam("case_pk"),
           _event.c.type.in_(bindparam("types", expanding=True)))
    .order_by(_event.c.occurred_at, _agency.c.agency_id, _event.c.webhook_id)
)


def case_events(session: Session, case_pk: int, types: Collection[str]) -> Sequence[Row[Any]]:
    """(type, occurred_at, agency_id, agency kind, webhook_id, data) of the case's events of
    `types`, in the order the projection applies them."""
    return session.execute(_CASE_EVENTS, {"case_pk": case_pk, "types": sorted(types)}).all()


_ENTITLEMENTS_OF = (select(Entitlement).where(Entitlement.victim_pk == bindparam("victim_pk"))
                    .order_by(Entitlement.id))


def entitlements_of(session: Session, victim_pk: int) -> Sequence[Entitlement]:
    return session.scalars(_ENTITLEMENTS_OF, {"victim_pk": victim_pk}).all()


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
