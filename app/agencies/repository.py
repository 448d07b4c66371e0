"""All queries on agencies, their secrets and received events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, selectinload, with_loader_criteria

from app.agencies.models import Agency, AgencySecret, ReceivedEvent

_GET_AGENCY = select(Agency).where(Agency.agency_id == bindparam("agency_id"))


def get_agency(session: Session, agency_id: str) -> Agency | None:
    return session.scalars(_GET_AGENCY, {"agency_id": agency_id}).one_or_none()


def get_agency_with_active_secrets(session: Session, agency_id: str) -> Agency | None:
    return session.scalars(
        select(Agency).where(Agency.agency_id == agency_id)
        .options(selectinload(Agency.secrets),
                 with_loader_criteria(AgencySecret, AgencySecret.retired_at.is_(None)))
    ).one_or_none()


# The webhook's first query, on every request: the agency and its active secrets in one round
# trip, as plain columns. Built once: building a statement costs more than running it.
_agency, _secret = Agency.__table__, AgencySecret.__table__
_AGENCY_AND_ACTIVE_SECRETS = (
    select(_agency.c.id, _agency.c.kind, _agency.c.name, _secret.c.secret_encrypted)
    .outerjoin(_secret, (_secret.c.agency_pk == _agency.c.id) & _secret.c.retired_at.is_(None))
    .where(_agency.c.agency_id == bindparam("agency_id"))
    .order_by(_secret.c.id)
)


def agency_and_active_secrets(session: Session, agency_id: str) -> tuple[Agency | None, list[str]]:
    """The agency and its active secrets (encrypted), oldest first; (None, []) if unknown.

    The agency is a detached copy (not in the session) with its id, agency_id, kind and name:
    enough to check and apply an event, without the cost of loading an ORM object."""
    rows = session.connection().execute(_AGENCY_AND_ACTIVE_SECRETS,
                                        {"agency_id": agency_id}).all()
    if not rows:
        return None, []
    pk, kind, name, _secret_text = rows[0]
    agency = Agency(id=pk, agency_id=agency_id, kind=kind, name=name)
    return agency, [row.secret_encrypted for row in rows if row.secret_encrypted is not None]


def get_agency_with_all_secrets(session: Session, agency_id: str) -> Agency | None:
    return session.scalars(
        select(Agency).where(Agency.agency_id == agency_id).options(selectinload(Agency.secrets))
    ).one_or_none()


def list_agencies(session: Session) -> Sequence[Agency]:
    return session.scalars(select(Agency).order_by(Agency.agency_id)).all()


_FIND_RECEIVED = select(ReceivedEvent).where(ReceivedEvent.agency_pk == bindparam("agency_pk"),
                                             ReceivedEvent.webhook_id == bindparam("webhook_id"))


def find_received(session: Session, agency_pk: int, webhook_id: str) -> ReceivedEvent | None:
    return session.scalars(_FIND_RECEIVED,
                           {"agency_pk": agency_pk, "webhook_id": webhook_id}).one_or_none()


def set_event_case(session: Session, event_pk: int, case_pk: int) -> None:
    session.execute(update(ReceivedEvent).where(ReceivedEvent.id == event_pk)
                    .values(case_pk=case_pk))


def events_of_case(session: Session, case_pk: int) -> Sequence[ReceivedEvent]:
    return session.scalars(
        select(ReceivedEvent).where(ReceivedEvent.case_pk == case_pk)
        .order_by(ReceivedEvent.occurred_at, ReceivedEvent.id)
    ).all()
