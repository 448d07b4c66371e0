"""All queries on obligations and their evidence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, bindparam, exists, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from app.agencies.models import Agency, ReceivedEvent
from app.cases.models import Case, CaseAgency, Hearing, TimelineEntry, Victim
from app.core.db import one_of
from app.notifications.models import NotificationPreference
from app.obligations.models import Obligation, ObligationEvidence


def lock_case(session: Session, case_pk: int) -> Case | None:
    """The case, locked for the rest of the transaction (serialises with event ingestion)."""
    return session.scalars(select(Case).where(Case.id == case_pk).with_for_update()).one_or_none()


def get_victim(session: Session, victim_pk: int) -> Victim | None:
    return session.get(Victim, victim_pk)


# Statements on the recomputation path (every event) are built once: building and cache-keying
# a statement costs more CPU than running it. They select plain columns, not ORM objects.
_agency, _case_agency = Agency.__table__, CaseAgency.__table__
_event, _victim, _hearing = ReceivedEvent.__table__, Victim.__table__, Hearing.__table__
_obligation, _evidence = Obligation.__table__, ObligationEvidence.__table__
_preference = NotificationPreference.__table__
_entry = TimelineEntry.__table__

_LINKED_AGENCIES = (
    select(_agency.c.id, _agency.c.kind)
    .join(_case_agency, _case_agency.c.agency_pk == _agency.c.id)
    .where(_case_agency.c.case_pk == bindparam("case_pk"))
    .order_by(_case_agency.c.linked_at, _agency.c.agency_id)
)
_CASE_EVENTS = (
    select(_event.c.id, _event.c.type, _event.c.occurred_at, _event.c.received_at,
           _event.c.agency_pk, _agency.c.agency_id, _agency.c.kind, _event.c.webhook_id,
           _event.c.data)
    .join(_agency, _agency.c.id == _event.c.agency_pk)
    .where(_event.c.case_pk == bindparam("case_pk"))
    .order_by(_event.c.occurred_at, _agency.c.agency_id, _event.c.webhook_id)
)
_VICTIM_CHOICES = (
    select(_victim.c.id, _victim.c.victim_ref, _preference.c.update_interval_days,
           _preference.c.updated_at)
    .outerjoin(_preference, (_preference.c.victim_pk == _victim.c.id)
               & _preference.c.update_interval_days.is_not(None))
    .where(_victim.c.case_pk == bindparam("case_pk"))
    .order_by(_victim.c.id)
)
_HEARING_STARTS = (
    select(_hearing.c.hearing_id, _hearing.c.starts_at, _hearing.c.window_from,
           _hearing.c.status)
    .where(_hearing.c.case_pk == bindparam("case_pk")).order_by(_hearing.c.hearing_id)
)
_EVIDENCE = (
    select(_evidence.c.victim_pk, _evidence.c.event_pk, _evidence.c.kind, _evidence.c.source,
           _evidence.c.at)
    .where(_evidence.c.case_pk == bindparam("case_pk"))
    .order_by(_evidence.c.at, _evidence.c.id)
)
_UNMET = ("open", "breached")


@lru_cache(maxsize=8)
def _awaiting_evidence_statement(rule_ids: tuple[str, ...]) -> Select[Any]:
    """(event, timeline entry) of every entry of the case the victim may see whose event
    triggers an unmet obligation of theirs among `rule_ids` with no evidence of `source` yet.
    Keyed by the case, not by the entries shown: one statement text (prepared by PostgreSQL)
    whatever the timeline's length."""
    return (
        select(_obligation.c.event_pk, _entry.c.id)
        .join(_entry, _entry.c.event_pk == _obligation.c.event_pk)
        .where(_entry.c.case_pk == bindparam("case_pk"),
               or_(_entry.c.victim_pk.is_(None), _entry.c.victim_pk == bindparam("victim_pk")),
               _obligation.c.case_pk == bindparam("case_pk"),
               _obligation.c.victim_pk == bindparam("victim_pk"),
               one_of(_obligation.c.rule_id, rule_ids),
               one_of(_obligation.c.status, _UNMET),
               ~exists().where(_evidence.c.victim_pk == bindparam("victim_pk"),
                               _evidence.c.event_pk == _obligation.c.event_pk,
                               _evidence.c.kind == bindparam("kind"),
                               _evidence.c.source == bindparam("source"))))


_EVENTS_OF_CASE = select(_event.c.id).where(_event.c.id.in_(bindparam("event_pks", expanding=True)),
                                            _event.c.case_pk == bindparam("case_pk"))
_EVIDENCE_OF_EVENTS = (
    select(ObligationEvidence)
    .where(ObligationEvidence.victim_pk == bindparam("victim_pk"),
           ObligationEvidence.event_pk.in_(bindparam("event_pks", expanding=True)),
           ObligationEvidence.kind == bindparam("kind"),
           ObligationEvidence.source == bindparam("source"))
    .order_by(ObligationEvidence.at.desc())  # the earliest per event comes last: it wins
)
# What recomputation compares: the key, the origin and status, and the fields it owns.
COMPUTED_FIELDS = ("event_pk", "owner", "owner_agency_pk", "trigger_at", "due_at", "closes_at",
                   "receipt_due_at", "met_at", "evidence", "enhanced")
_STORED = (
    select(_obligation.c.id, _obligation.c.victim_pk, _obligation.c.rule_id,
           _obligation.c.trigger_key, _obligation.c.origin, _obligation.c.status,
           *(_obligation.c[name] for name in COMPUTED_FIELDS))
    .where(_obligation.c.case_pk == bindparam("case_pk"))
    .order_by(_obligation.c.trigger_at, _obligation.c.id)
)
_INSERT = insert(_obligation)
_UPDATE = (
    update(_obligation).where(_obligation.c.id == bindparam("pk"))
    .values({name: bindparam(name) for name in ("status", *COMPUTED_FIELDS)})
)


# Core statements run on the session's connection (`session.connection().execute`): they need
# nothing from the ORM's execution path, which costs about a quarter of a statement's CPU.

def linked_agencies(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """(agency pk, kind) of every agency linked to the case, first linked first."""
    return session.connection().execute(_LINKED_AGENCIES, {"case_pk": case_pk}).all()


def case_events(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """Every received event of the case with its agency's id and kind: one query."""
    return session.connection().execute(_CASE_EVENTS, {"case_pk": case_pk}).all()


def victims_with_choices(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """(pk, victim_ref, update interval days or None, when chosen) of every victim."""
    return session.connection().execute(_VICTIM_CHOICES, {"case_pk": case_pk}).all()


def hearing_starts(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """(hearing_id, starts_at, window_from, status) of every hearing of the case."""
    return session.connection().execute(_HEARING_STARTS, {"case_pk": case_pk}).all()


def evidence_rows(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """(victim_pk, event_pk, kind, source, at) of the case's evidence, earliest first."""
    return session.connection().execute(_EVIDENCE, {"case_pk": case_pk}).all()


def stored_obligations(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    """The case's obligations as plain rows (id, key, origin, status, computed fields)."""
    return session.connection().execute(_STORED, {"case_pk": case_pk}).all()


def insert_obligations(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(_INSERT, rows)


def update_obligations(session: Session, rows: list[dict[str, Any]]) -> None:
    """Each row: `pk`, `status` and every computed field."""
    if rows:
        session.connection().execute(_UPDATE, rows)


def find_evidence(session: Session, victim_pk: int, event_pk: int | None, kind: str,
                  source: str) -> ObligationEvidence | None:
    query = select(ObligationEvidence).where(
        ObligationEvidence.victim_pk == victim_pk, ObligationEvidence.kind == kind,
        ObligationEvidence.source == source)
    query = query.where(ObligationEvidence.event_pk.is_(None) if event_pk is None
                        else ObligationEvidence.event_pk == event_pk)
    return session.scalars(query.order_by(ObligationEvidence.at).limit(1)).first()


def events_awaiting_evidence(session: Session, case_pk: int, victim_pk: int,
                             entry_pks: Sequence[int], rule_ids: Sequence[str], kind: str,
                             source: str) -> list[int]:
    """Events behind these timeline entries (only entries of the case the victim may see) that
    trigger an open or breached obligation of the victim under one of `rule_ids`, and that have
    no evidence of this kind and source for the victim yet, in order: one statement."""
    if not entry_pks:
        return []
    shown = set(entry_pks)
    rows = session.connection().execute(_awaiting_evidence_statement(tuple(rule_ids)), {
        "case_pk": case_pk, "victim_pk": victim_pk, "kind": kind, "source": source})
    return sorted({event_pk for event_pk, entry_pk in rows if entry_pk in shown})


def events_of_case(session: Session, event_pks: Sequence[int], case_pk: int) -> set[int]:
    """Those of `event_pks` that are events of the case."""
    return set(session.scalars(_EVENTS_OF_CASE, {"event_pks": list(event_pks),
                                                 "case_pk": case_pk}))


def evidence_for_events(session: Session, victim_pk: int, event_pks: Sequence[int], kind: str,
                        source: str) -> dict[int, ObligationEvidence]:
    """The earliest evidence row per event of this victim, kind and source."""
    rows = session.scalars(_EVIDENCE_OF_EVENTS, {"victim_pk": victim_pk,
                                                 "event_pks": list(event_pks), "kind": kind,
                                                 "source": source})
    return {row.event_pk: row for row in rows if row.event_pk is not None}


def obligations_of_case(session: Session, case_pk: int, origin: str | None = None,
                        fresh: bool = False) -> Sequence[Obligation]:
    """`fresh`: overwrite objects already in the session (after a Core write)."""
    query = select(Obligation).where(Obligation.case_pk == case_pk)
    if origin is not None:
        query = query.where(Obligation.origin == origin)
    if fresh:
        query = query.execution_options(populate_existing=True)
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


_obligation = Obligation.__table__
# Built once (building and cache-keying a statement costs more than running it); plain rows
# of what a victim's "What happens next" shows.
_PENDING_FOR_VICTIM = (
    select(_obligation.c.rule_id, _obligation.c.owner, _obligation.c.due_at,
           _obligation.c.closes_at, _obligation.c.enhanced)
    .where(_obligation.c.case_pk == bindparam("case_pk"),
           or_(_obligation.c.victim_pk == bindparam("victim_pk"),
               _obligation.c.victim_pk.is_(None)),
           one_of(_obligation.c.status, _UNMET), _obligation.c.due_at.is_not(None))
    .order_by(_obligation.c.due_at, _obligation.c.id))


def pending_for_victim(session: Session, case_pk: int, victim_pk: int) -> Sequence[Row[Any]]:
    """Open or breached obligations owed to this victim (or to the whole case), soonest due
    first, as (rule_id, owner, due_at, closes_at, enhanced) rows; those not yet started (no
    due date) are left out."""
    return session.connection().execute(_PENDING_FOR_VICTIM,
                                        {"case_pk": case_pk, "victim_pk": victim_pk}).all()


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
