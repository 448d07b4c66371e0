"""All queries on obligations and their evidence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from app.agencies.models import Agency, ReceivedEvent
from app.cases.models import Case, CaseAgency, Victim
from app.obligations.models import Obligation, ObligationEvidence


def lock_case(session: Session, case_pk: int) -> Case | None:
    """The case, locked for the rest of the transaction (serialises with event ingestion)."""
    return session.scalars(select(Case).where(Case.id == case_pk).with_for_update()).one_or_none()


def get_victim(session: Session, victim_pk: int) -> Victim | None:
    return session.get(Victim, victim_pk)


def linked_agencies(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """(agency pk, kind) of every agency linked to the case, first linked first."""
    return session.execute(
        select(Agency.id, Agency.kind).join(CaseAgency, CaseAgency.agency_pk == Agency.id)
        .where(CaseAgency.case_pk == case_pk).order_by(CaseAgency.linked_at, Agency.agency_id)
    ).all()


def case_events(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """Every received event of the case with its agency's id and kind: one query."""
    return session.execute(
        select(ReceivedEvent.id, ReceivedEvent.type, ReceivedEvent.occurred_at,
               ReceivedEvent.received_at, ReceivedEvent.agency_pk, Agency.agency_id,
               Agency.kind, ReceivedEvent.webhook_id, ReceivedEvent.data)
        .join(Agency, Agency.id == ReceivedEvent.agency_pk)
        .where(ReceivedEvent.case_pk == case_pk)
        .order_by(ReceivedEvent.occurred_at, Agency.agency_id, ReceivedEvent.webhook_id)
    ).all()


def update_choices(session: Session, case_pk: int) -> dict[int, tuple[int, datetime]]:
    """victim pk -> (days between updates the victim chose, when they chose it)."""
    from app.cases.models import Victim
    from app.notifications.models import NotificationPreference

    rows = session.execute(
        select(NotificationPreference.victim_pk, NotificationPreference.update_interval_days,
               NotificationPreference.updated_at)
        .join(Victim, Victim.id == NotificationPreference.victim_pk)
        .where(Victim.case_pk == case_pk,
               NotificationPreference.update_interval_days.is_not(None))
    ).all()
    return {pk: (days, at) for pk, days, at in rows}


def evidence_of_case(session: Session, case_pk: int) -> Sequence[ObligationEvidence]:
    return session.scalars(
        select(ObligationEvidence).where(ObligationEvidence.case_pk == case_pk)
        .order_by(ObligationEvidence.at, ObligationEvidence.id)
    ).all()


def find_evidence(session: Session, victim_pk: int, event_pk: int | None, kind: str,
                  source: str) -> ObligationEvidence | None:
    query = select(ObligationEvidence).where(
        ObligationEvidence.victim_pk == victim_pk, ObligationEvidence.kind == kind,
        ObligationEvidence.source == source)
    query = query.where(ObligationEvidence.event_pk.is_(None) if event_pk is None
                        else ObligationEvidence.event_pk == event_pk)
    return session.scalars(query.order_by(ObligationEvidence.at).limit(1)).first()


def event_belongs_to_case(session: Session, event_pk: int, case_pk: int) -> bool:
    return session.scalar(
        select(ReceivedEvent.id).where(ReceivedEvent.id == event_pk,
                                       ReceivedEvent.case_pk == case_pk)
    ) is not None


def obligations_of_case(session: Session, case_pk: int,
                        origin: str | None = None) -> Sequence[Obligation]:
    query = select(Obligation).where(Obligation.case_pk == case_pk)
    if origin is not None:
        query = query.where(Obligation.origin == origin)
    return session.scalars(query.order_by(Obligation.trigger_at, Obligation.id)).all()


def find_obligation(session: Session, case_pk: int, victim_pk: int | None, rule_id: str,
                    trigger_key: str) -> Obligation | None:
    victim = Obligation.victim_pk.is_(None) if victim_pk is None \
        else Obligation.victim_pk == victim_pk
    return session.scalars(
        select(Obligation).where(Obligation.case_pk == case_pk, victim,
                                 Obligation.rule_id == rule_id,
                                 Obligation.trigger_key == trigger_key)
    ).one_or_none()


def obligations_for_display(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """(Obligation, victim_ref, owner agency_id) rows of a case."""
    return session.execute(
        select(Obligation, Victim.victim_ref, Agency.agency_id)
        .outerjoin(Victim, Victim.id == Obligation.victim_pk)
        .outerjoin(Agency, Agency.id == Obligation.owner_agency_pk)
        .where(Obligation.case_pk == case_pk)
        .order_by(Obligation.trigger_at, Obligation.id)
    ).all()


def pending_for_victim(session: Session, case_pk: int, victim_pk: int) -> Sequence[Obligation]:
    """Open or breached obligations owed to this victim (or to the whole case), soonest due
    first; those not yet started (no due date) are left out."""
    return session.scalars(
        select(Obligation).where(
            Obligation.case_pk == case_pk,
            (Obligation.victim_pk == victim_pk) | Obligation.victim_pk.is_(None),
            Obligation.status.in_(("open", "breached")), Obligation.due_at.is_not(None))
        .order_by(Obligation.due_at, Obligation.id)
    ).all()


def mark_breached(session: Session, now: datetime,
                  case_pk: int | None = None) -> Sequence[Row[Any]]:
    """Open obligations past due become breached; returns (rule_id, owner) of each."""
    statement = (
        update(Obligation)
        .where(Obligation.status == "open", Obligation.due_at.is_not(None),
               Obligation.due_at < now)
        .values(status="breached", updated_at=now)
        .returning(Obligation.rule_id, Obligation.owner)
        .execution_options(synchronize_session=False)
    )
    if case_pk is not None:
        statement = statement.where(Obligation.case_pk == case_pk)
    return session.execute(statement).all()
