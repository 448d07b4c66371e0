"""All queries of the "Your rights" area."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from app.agencies.models import Agency, ReceivedEvent
from app.core.db import one_of
from app.entitlements.models import Entitlement, EntitlementTransition
from app.outbound.models import AgencyRequest

_event = ReceivedEvent.__table__
_agency = Agency.__table__
_entitlement = Entitlement.__table__


@lru_cache(maxsize=8)
def _case_events_statement(types: frozenset[str]) -> Select[Any]:
    return (
        select(_event.c.type, _event.c.occurred_at, _agency.c.agency_id, _agency.c.kind,
               _event.c.webhook_id, _event.c.data)
        .join(_agency, _agency.c.id == _event.c.agency_pk)
        .where(_event.c.case_pk == bindparam("case_pk"),
               one_of(_event.c.type, sorted(types)))
        .order_by(_event.c.occurred_at, _agency.c.agency_id, _event.c.webhook_id)
    )


def case_events(session: Session, case_pk: int, types: Collection[str]) -> Sequence[Row[Any]]:
    """(type, occurred_at, agency_id, agency kind, webhook_id, data) of the case's events of
    `types`, in the order the projection applies them."""
    return session.connection().execute(_case_events_statement(frozenset(types)),
                                        {"case_pk": case_pk}).all()


_STATES_OF = (select(_entitlement.c.right, _entitlement.c.key, _entitlement.c.state)
              .where(_entitlement.c.victim_pk == bindparam("victim_pk"))
              .order_by(_entitlement.c.id))


def states_of(session: Session, victim_pk: int) -> Sequence[Row[Any]]:
    """(right, key, state) of each stored entitlement of the victim, as plain rows."""
    return session.connection().execute(_STATES_OF, {"victim_pk": victim_pk}).all()


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
