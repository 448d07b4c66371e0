"""All queries of the staff console: accounts, sessions, audit, the cases a member of staff
may see, and the Hub's queues."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, false, func, select
from sqlalchemy.orm import Session, aliased

from app.agencies.models import Agency, AgencySecret
from app.cases.models import Case, OfficerAssignment
from app.notifications.models import ContactTask, SafetyAlert
from app.staff.models import StaffAccount, StaffAudit, StaffSession

# --- accounts and sessions ----------------------------------------------------------------


def account_by_subject(session: Session, subject: str) -> StaffAccount | None:
    return session.scalars(select(StaffAccount).where(StaffAccount.subject == subject)).first()


def session_by_token_hash(session: Session, token_hash: str) -> Row[Any] | None:
    """(StaffSession, StaffAccount) behind a cookie."""
    return session.execute(
        select(StaffSession, StaffAccount)
        .join(StaffAccount, StaffAccount.id == StaffSession.account_pk)
        .where(StaffSession.token_hash == token_hash)
    ).first()


def get_session(session: Session, pk: int) -> StaffSession | None:
    return session.get(StaffSession, pk)


# --- audit -----------------------------------------------------------------------------------


def audit_entries(session: Session, *, case_pk: int | None = None,
                  limit: int = 200) -> Sequence[StaffAudit]:
    query = select(StaffAudit).order_by(StaffAudit.at.desc(), StaffAudit.id.desc()).limit(limit)
    if case_pk is not None:
        query = query.where(StaffAudit.case_pk == case_pk)
    return session.scalars(query).all()


# --- which cases a member of staff may see -----------------------------------------------------


def _current_assignment_emails(role: str) -> Select[Any]:
    """(case_pk, lower(email)) of the current assignment per case for `role`: the one with the
    highest version (assignments keep their whole history)."""
    newer = aliased(OfficerAssignment)
    return (
        select(OfficerAssignment.case_pk.label("case_pk"),
               func.lower(OfficerAssignment.email).label("email"))
        .where(OfficerAssignment.role == role)
        .where(~select(newer.id).where(
            newer.case_pk == OfficerAssignment.case_pk, newer.role == role,
            newer.version > OfficerAssignment.version).exists())
    )


def case_pks_assigned_to(role: str, email: str) -> Select[Any]:
    current = _current_assignment_emails(role).subquery()
    return select(current.c.case_pk).where(current.c.email == email.lower())


def no_case_pks() -> Select[Any]:
    return select(Case.id).where(false())


def is_assigned(session: Session, role: str, email: str, case_pk: int) -> bool:
    current = _current_assignment_emails(role).where(
        OfficerAssignment.case_pk == case_pk).subquery()
    return session.scalar(
        select(func.count()).select_from(current).where(current.c.email == email.lower())
    ) > 0


def cases(session: Session, restrict_to: Select[Any] | None, limit: int = 500
          ) -> Sequence[Case]:
    """Cases, newest report first; only those whose pk is in `restrict_to` when given."""
    query = select(Case).order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit)
    if restrict_to is not None:
        query = query.where(Case.id.in_(restrict_to))
    return session.scalars(query).all()


def get_case(session: Session, case_pk: int) -> Case | None:
    return session.get(Case, case_pk)


# --- the Hub's queues ------------------------------------------------------------------------


def unacknowledged_safety_alerts(session: Session, limit: int = 200) -> Sequence[Row[Any]]:
    """Safety alerts nobody acknowledged, earliest deadline first, with their case."""
    return session.execute(
        select(SafetyAlert.id, SafetyAlert.case_pk, SafetyAlert.due_at, SafetyAlert.created_at,
               SafetyAlert.escalated_at, Case.crime_reference)
        .join(Case, Case.id == SafetyAlert.case_pk)
        .where(SafetyAlert.acknowledged_at.is_(None))
        .order_by(SafetyAlert.due_at, SafetyAlert.id).limit(limit)
    ).all()


def open_contact_tasks(session: Session, limit: int = 200) -> Sequence[Row[Any]]:
    """Unresolved contact tasks (a victim could not be reached), earliest deadline first."""
    return session.execute(
        select(ContactTask.id, ContactTask.case_pk, ContactTask.reason, ContactTask.due_at,
               ContactTask.created_at, Case.crime_reference)
        .join(Case, Case.id == ContactTask.case_pk)
        .where(ContactTask.resolved_at.is_(None))
        .order_by(ContactTask.due_at, ContactTask.id).limit(limit)
    ).all()


# --- agencies (admin) --------------------------------------------------------------------------


def agencies_with_secret_counts(session: Session) -> Sequence[Row[Any]]:
    """Every agency with how many signing secrets are active."""
    active = func.count(AgencySecret.id)
    return session.execute(
        select(Agency, active.label("active_secrets"))
        .outerjoin(AgencySecret, and_(AgencySecret.agency_pk == Agency.id,
                                      AgencySecret.retired_at.is_(None)))
        .group_by(Agency.id).order_by(Agency.kind, Agency.agency_id)
    ).all()


def get_agency(session: Session, agency_id: str) -> Agency | None:
    return session.scalars(select(Agency).where(Agency.agency_id == agency_id)).first()
