"""All queries on the case record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, exists, insert, or_, select
from sqlalchemy.orm import Session, selectinload

from app.agencies.models import Agency
from app.cases.models import (
    Case,
    CaseAgency,
    Hearing,
    OfficerAssignment,
    Representative,
    TimelineEntry,
    Victim,
)
from app.core.db import upsert_ignore

_LOCK_CASE_FOR_AGENCY = (
    select(Case, exists().where(CaseAgency.case_pk == Case.id,
                                CaseAgency.agency_pk == bindparam("agency_pk")).label("linked"))
    .where(Case.crime_reference == bindparam("crime_reference"))
    .with_for_update(of=Case)
)


def lock_case_for_agency(session: Session, crime_reference: str,
                         agency_pk: int) -> tuple[Case | None, bool]:
    """The case, locked for the rest of the transaction so concurrent events apply one by one,
    and whether the agency is linked to it, in one round trip."""
    row = session.execute(_LOCK_CASE_FOR_AGENCY, {"crime_reference": crime_reference,
                                                  "agency_pk": agency_pk}).one_or_none()
    return (None, False) if row is None else (row[0], bool(row[1]))


def get_case_by_reference(session: Session, crime_reference: str) -> Case | None:
    return session.scalars(
        select(Case).where(Case.crime_reference == crime_reference)
    ).one_or_none()


def is_linked(session: Session, case_pk: int, agency_pk: int) -> bool:
    return session.scalar(
        select(CaseAgency.id).where(CaseAgency.case_pk == case_pk,
                                    CaseAgency.agency_pk == agency_pk)
    ) is not None


def link_agency(session: Session, case_pk: int, agency_pk: int, linked_at, by_agency_pk) -> None:
    upsert_ignore(session, CaseAgency, {
        "case_pk": case_pk, "agency_pk": agency_pk, "linked_at": linked_at,
        "linked_by_agency_pk": by_agency_pk,
    }, conflict_columns=["case_pk", "agency_pk"])


def linked_agencies(session: Session, case_pk: int) -> Sequence[Agency]:
    return session.scalars(
        select(Agency).join(CaseAgency, CaseAgency.agency_pk == Agency.id)
        .where(CaseAgency.case_pk == case_pk).order_by(CaseAgency.linked_at, CaseAgency.id)
    ).all()


def victims_of(session: Session, case_pk: int) -> Sequence[Victim]:
    return session.scalars(
        select(Victim).where(Victim.case_pk == case_pk)
        .options(selectinload(Victim.representative)).order_by(Victim.id)
    ).all()


def get_victim(session: Session, case_pk: int, victim_ref: str) -> Victim | None:
    return session.scalars(
        select(Victim).where(Victim.case_pk == case_pk, Victim.victim_ref == victim_ref)
        .options(selectinload(Victim.representative))
    ).one_or_none()


_victim = Victim.__table__
_VICTIM_PKS = select(_victim.c.victim_ref, _victim.c.id).where(
    _victim.c.case_pk == bindparam("case_pk"))


def victim_pks_by_ref(session: Session, case_pk: int) -> dict[str, int]:
    return {ref: pk for ref, pk in session.connection().execute(_VICTIM_PKS,
                                                               {"case_pk": case_pk})}


def get_representative(session: Session, victim_pk: int) -> Representative | None:
    return session.scalars(
        select(Representative).where(Representative.victim_pk == victim_pk)
    ).one_or_none()


_GET_HEARING = select(Hearing).where(Hearing.case_pk == bindparam("case_pk"),
                                    Hearing.hearing_id == bindparam("hearing_id"))


def get_hearing(session: Session, case_pk: int, hearing_id: str) -> Hearing | None:
    return session.scalars(_GET_HEARING, {"case_pk": case_pk,
                                          "hearing_id": hearing_id}).one_or_none()


_INSERT_TIMELINE_ENTRY = insert(TimelineEntry.__table__)


def add_timeline_entry(session: Session, values: dict[str, Any]) -> None:
    """A plain INSERT, run at once (no ORM object: nothing reads it back in the transaction)."""
    session.connection().execute(_INSERT_TIMELINE_ENTRY, values)


def hearings_of(session: Session, case_pk: int) -> Sequence[Hearing]:
    return session.scalars(
        select(Hearing).where(Hearing.case_pk == case_pk).order_by(Hearing.hearing_id)
    ).all()


def officer_assignments(session: Session, case_pk: int) -> Sequence[OfficerAssignment]:
    """All assignments of the case, oldest version first."""
    return session.scalars(
        select(OfficerAssignment).where(OfficerAssignment.case_pk == case_pk)
        .order_by(OfficerAssignment.version)
    ).all()


def timeline(
    session: Session, case_pk: int, victim_pk: int | None = None, *, everyone: bool = False
) -> Sequence[TimelineEntry]:
    """Timeline entries oldest first. A victim sees shared entries and their own only."""
    query = select(TimelineEntry).where(TimelineEntry.case_pk == case_pk)
    if not everyone:
        query = query.where(or_(TimelineEntry.victim_pk.is_(None),
                                and_(TimelineEntry.victim_pk == victim_pk,
                                     TimelineEntry.victim_pk.is_not(None))))
    return session.scalars(query.order_by(TimelineEntry.occurred_at, TimelineEntry.id)).all()


def agencies_by_pk(session: Session, pks: set[int]) -> dict[int, Agency]:
    if not pks:
        return {}
    return {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(pks)))}
