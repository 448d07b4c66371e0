"""All queries on agencies, their secrets and received events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload, with_loader_criteria

from app.agencies.models import Agency, AgencySecret, ReceivedEvent


def get_agency(session: Session, agency_id: str) -> Agency | None:
    return session.scalars(select(Agency).where(Agency.agency_id == agency_id)).one_or_none()


def get_agency_with_active_secrets(session: Session, agency_id: str) -> Agency | None:
    return session.scalars(
        select(Agency).where(Agency.agency_id == agency_id)
        .options(selectinload(Agency.secrets),
                 with_loader_criteria(AgencySecret, AgencySecret.retired_at.is_(None)))
    ).one_or_none()


def get_agency_with_all_secrets(session: Session, agency_id: str) -> Agency | None:
    return session.scalars(
        select(Agency).where(Agency.agency_id == agency_id).options(selectinload(Agency.secrets))
    ).one_or_none()


def list_agencies(session: Session) -> Sequence[Agency]:
    return session.scalars(select(Agency).order_by(Agency.agency_id)).all()


def find_received(session: Session, agency_pk: int, webhook_id: str) -> ReceivedEvent | None:
    return session.scalars(
        select(ReceivedEvent).where(ReceivedEvent.agency_pk == agency_pk,
                                    ReceivedEvent.webhook_id == webhook_id)
    ).one_or_none()


def set_event_case(session: Session, event_pk: int, case_pk: int) -> None:
    session.execute(update(ReceivedEvent).where(ReceivedEvent.id == event_pk)
                    .values(case_pk=case_pk))


def events_of_case(session: Session, case_pk: int) -> Sequence[ReceivedEvent]:
    return session.scalars(
        select(ReceivedEvent).where(ReceivedEvent.case_pk == case_pk)
        .order_by(ReceivedEvent.occurred_at, ReceivedEvent.id)
    ).all()
