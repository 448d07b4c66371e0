"""All queries of the portal."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from app.agencies.models import Agency
from app.cases.models import Case, Hearing, OfficerAssignment, Representative, TimelineEntry, Victim
from app.core.db import upsert_ignore
from app.portal.models import (
    CasePublicId,
    KnownDevice,
    OidcLink,
    PortalAction,
    PortalGrant,
    PortalSession,
    SignInChallenge,
)

# --- sessions -----------------------------------------------------------------------------

def _record_type(model: type[Any]) -> Any:
    """A named tuple of every column of `model`, by its attribute name: a plain row for records
    the portal only reads (an ORM object costs about twice the CPU)."""
    return namedtuple(f"{model.__name__}Record", [c.key for c in model.__table__.c])


_grant = PortalGrant.__table__
GrantRecord = _record_type(PortalGrant)  # a session's grants are only read
# Built once (building and cache-keying a statement costs more than running it).
_SESSION_WITH_GRANTS = (
    select(PortalSession, *_grant.c)
    .outerjoin(_grant, _grant.c.session_pk == PortalSession.id)
    .where(PortalSession.token_hash == bindparam("token_hash")).order_by(_grant.c.id))
_GRANT_END = 1 + len(_grant.c)


def _grants_in(rows: Sequence[Row[Any]]) -> list[Any]:
    """The GrantRecords of rows that start with the session and then a grant's columns (a
    grant repeats on rows that join it to more than one row of something else)."""
    grants: dict[int, Any] = {}
    for row in rows:
        if row[1] is not None:  # a session without grants has one row, of NULLs
            grants.setdefault(row[1], GrantRecord._make(row[1:_GRANT_END]))
    return list(grants.values())


def session_with_grants(session: Session,
                        token_hash: str) -> tuple[PortalSession | None, list[Any]]:
    """The session behind a cookie (an ORM object: requests change it) and its grants
    (GrantRecords, oldest first), in one statement."""
    rows = session.execute(_SESSION_WITH_GRANTS, {"token_hash": token_hash}).all()
    if not rows:
        return None, []
    return rows[0][0], _grants_in(rows)


def grants_of(session: Session, session_pk: int) -> Sequence[PortalGrant]:
    return session.scalars(
        select(PortalGrant).where(PortalGrant.session_pk == session_pk).order_by(PortalGrant.id)
    ).all()


def revoke_sessions_with_identities(session: Session, identity_keys: set[str],
                                    now: datetime) -> int:
    holders = select(PortalGrant.session_pk).where(PortalGrant.identity_key.in_(identity_keys))
    result = session.execute(
        update(PortalSession)
        .where(PortalSession.id.in_(holders), PortalSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount or 0


# --- sign-in codes ------------------------------------------------------------------------

def case_by_reference(session: Session, crime_reference: str) -> Case | None:
    return session.scalars(
        select(Case).where(Case.crime_reference == crime_reference)
    ).one_or_none()


def victims_born_on(session: Session, case_pk: int, born: date) -> Sequence[Victim]:
    return session.scalars(
        select(Victim).where(Victim.case_pk == case_pk, Victim.date_of_birth == born)
        .order_by(Victim.id)
    ).all()


def representative_of(session: Session, victim_pk: int) -> Representative | None:
    return session.scalars(
        select(Representative).where(Representative.victim_pk == victim_pk)
    ).one_or_none()


def spend_try(session: Session, attempt_id: str, now: datetime,
              max_tries: int) -> list[tuple[int, str]]:
    """Counts one try on every live code of the attempt, atomically; the ones that could still
    be tried (id, code hash). A code past its expiry, used, or out of tries is not returned."""
    rows = session.execute(
        update(SignInChallenge)
        .where(SignInChallenge.attempt_id == attempt_id, SignInChallenge.used_at.is_(None),
               SignInChallenge.expires_at > now, SignInChallenge.tries < max_tries)
        .values(tries=SignInChallenge.tries + 1)
        .returning(SignInChallenge.id, SignInChallenge.code_hash)
    ).all()
    return [(row[0], row[1]) for row in rows]


def use_challenge(session: Session, challenge_pk: int, now: datetime) -> SignInChallenge | None:
    """Marks the code used; None if another request used it first (single use)."""
    used = session.execute(
        update(SignInChallenge)
        .where(SignInChallenge.id == challenge_pk, SignInChallenge.used_at.is_(None))
        .values(used_at=now).returning(SignInChallenge.id)
    ).scalar_one_or_none()
    if used is None:
        return None
    return session.get(SignInChallenge, challenge_pk)


def end_attempt(session: Session, attempt_id: str, now: datetime) -> None:
    session.execute(
        update(SignInChallenge)
        .where(SignInChallenge.attempt_id == attempt_id, SignInChallenge.used_at.is_(None))
        .values(used_at=now)
    )


def throttle_key_of_attempt(session: Session, attempt_id: str) -> str | None:
    return session.scalars(
        select(SignInChallenge.throttle_key).where(SignInChallenge.attempt_id == attempt_id)
        .limit(1)
    ).first()


# --- what a grant reaches ------------------------------------------------------------------

_victim, _case, _representative = Victim.__table__, Case.__table__, Representative.__table__
_action, _public_id = PortalAction.__table__, CasePublicId.__table__
# What a grant reaches: the portal only reads victim and case records.
VictimRecord = _record_type(Victim)
CaseRecord = _record_type(Case)
_VICTIM_END = len(_victim.c)
_CASE_END = _VICTIM_END + len(_case.c)


def _records(row: Row[Any]) -> tuple[Any, Any]:
    """(victim, case) of a row that starts with every column of each."""
    return VictimRecord._make(row[:_VICTIM_END]), CaseRecord._make(row[_VICTIM_END:_CASE_END])


def _address_column(channel: str, table: Any) -> Any:
    return func.lower(table.c.mobile if channel == "sms" else table.c.email)


def _reached_by(role: str, channel: str) -> Select[Any]:
    """Victim records (with their case) whose recorded contact is the proven address and whose
    date of birth is the proven one: as the victim, or through their representative. Binds
    `born` and `address` (lower case)."""
    query = (select(*_victim.c, *_case.c)
             .select_from(_victim.join(_case, _case.c.id == _victim.c.case_pk))
             .where(_victim.c.date_of_birth == bindparam("born")))
    if role == "victim":
        return query.where(_address_column(channel, _victim) == bindparam("address"))
    return query.join(_representative, _representative.c.victim_pk == _victim.c.id).where(
        _address_column(channel, _representative) == bindparam("address"))


def _grant_params(grant: PortalGrant) -> dict[str, Any]:
    return {"born": grant.date_of_birth, "address": grant.address.lower()}


@lru_cache(maxsize=8)
def _victims_reached_statement(role: str, channel: str) -> Select[Any]:
    return _reached_by(role, channel).order_by(_case.c.reported_at.desc(), _victim.c.id)


def victims_reached(session: Session, grant: PortalGrant) -> list[tuple[Any, Any]]:
    """(VictimRecord, CaseRecord) of every victim record the grant reaches, newest report
    first."""
    rows = session.connection().execute(_victims_reached_statement(grant.role, grant.channel),
                                        _grant_params(grant)).all()
    return [_records(row) for row in rows]


def _address_proven(table: Any) -> Any:
    """The grant's proven address is this table's recorded one, on the grant's channel."""
    proven = func.lower(_grant.c.address)
    return or_(*(and_(_grant.c.channel == channel, _address_column(channel, table) == proven)
                 for channel in ("sms", "email")))


# The victims of the case a path names that a grant reaches: `_reached_by` with the grant's
# columns in place of its bound values (the victim's own address, or their representative's).
# The case is found first, by its public id alone (a subquery run once), so its few victims
# are read by case rather than every victim born on the grant's day.
_IN_NAMED_CASE = (_victim.join(_case, _case.c.id == _victim.c.case_pk)
                  .outerjoin(_representative, _representative.c.victim_pk == _victim.c.id))
_NAMED_CASE_PK = select(_public_id.c.case_pk).where(
    _public_id.c.public_id == bindparam("public_id")).scalar_subquery()
_GRANT_REACHES = and_(
    _victim.c.case_pk == _NAMED_CASE_PK,
    _victim.c.date_of_birth == _grant.c.date_of_birth,
    or_(and_(_grant.c.role == "victim", _address_proven(_victim)),
        and_(_grant.c.role != "victim", _address_proven(_representative))))
_VIEWED_BY_SESSION = exists().where(_action.c.victim_pk == _victim.c.id,
                                    _action.c.session_pk == PortalSession.id,
                                    _action.c.action == bindparam("action"))
# `_SESSION_WITH_GRANTS`, each grant's row joined to the victims it reaches in that case.
_SESSION_GRANTS_AND_CASE = (
    _SESSION_WITH_GRANTS.add_columns(*_victim.c, *_case.c, _VIEWED_BY_SESSION)
    .outerjoin(_IN_NAMED_CASE, _GRANT_REACHES).order_by(_victim.c.id))


def session_with_grants_and_case(session: Session, token_hash: str, public_id: str,
                                 action: str) -> tuple[PortalSession | None, list[Any],
                                                       tuple[Any, Any, Any, bool] | None]:
    """`session_with_grants`, and in the same statement the first victim record (by id) that
    the first grant (oldest first) reaching the case with this public id reaches: (that
    GrantRecord, VictimRecord, CaseRecord, whether this session has recorded `action` for the
    victim), or None. One round trip for every request of a case's pages."""
    rows = session.execute(_SESSION_GRANTS_AND_CASE, {
        "token_hash": token_hash, "public_id": public_id, "action": action}).all()
    if not rows:
        return None, [], None
    grants = _grants_in(rows)
    # Rows come oldest grant first, then by victim: the first with a victim is the answer.
    first = next((row for row in rows if row[_GRANT_END] is not None), None)
    if first is None:
        return rows[0][0], grants, None
    grant = next(g for g in grants if g.id == first[1])
    return rows[0][0], grants, (grant, *_records(first[_GRANT_END:]), bool(first[-1]))


# --- public ids -----------------------------------------------------------------------------

def public_ids(session: Session, case_pks: set[int]) -> dict[int, str]:
    if not case_pks:
        return {}
    rows = session.execute(
        select(CasePublicId.case_pk, CasePublicId.public_id)
        .where(CasePublicId.case_pk.in_(case_pks))
    ).all()
    return {row[0]: row[1] for row in rows}


def add_public_id(session: Session, case_pk: int, public_id: str) -> None:
    upsert_ignore(session, CasePublicId, {"case_pk": case_pk, "public_id": public_id},
                  conflict_columns=["case_pk"])


def case_pk_by_public_id(session: Session, public_id: str) -> int | None:
    return session.scalars(
        select(CasePublicId.case_pk).where(CasePublicId.public_id == public_id)
    ).one_or_none()


# --- the case as the victim reads it (plain rows: the page only reads them) -------------------
# Run on the session's connection: Core statements need nothing from the ORM's execution path.

_entry = TimelineEntry.__table__
_agency = Agency.__table__
_assignment = OfficerAssignment.__table__
_hearing = Hearing.__table__
_ENTRY_COLUMNS = (_entry.c.id, _entry.c.case_pk, _entry.c.type, _entry.c.occurred_at,
                  _entry.c.agency_pk, _entry.c.victim_pk, _entry.c.params,
                  _agency.c.name.label("agency_name"))
_ENTRIES = select(*_ENTRY_COLUMNS).select_from(
    _entry.outerjoin(_agency, _agency.c.id == _entry.c.agency_pk))
# A victim sees the case's shared entries and their own, oldest first.
_TIMELINE = _ENTRIES.where(
    _entry.c.case_pk == bindparam("case_pk"),
    or_(_entry.c.victim_pk.is_(None), _entry.c.victim_pk == bindparam("victim_pk")),
).order_by(_entry.c.occurred_at, _entry.c.id)
_ENTRY = _ENTRIES.where(_entry.c.id == bindparam("entry_pk"))
# Every assignment of the case, oldest version first, with its agency's name.
_OFFICERS = select(
    _assignment.c.role, _assignment.c.name, _assignment.c.rank, _assignment.c.team,
    _assignment.c.email, _assignment.c.phone, _assignment.c.working_pattern,
    _assignment.c.assigned_at, _agency.c.name.label("agency_name"),
).join(_agency, _agency.c.id == _assignment.c.agency_pk).where(
    _assignment.c.case_pk == bindparam("case_pk")).order_by(_assignment.c.version)
_HEARINGS = select(
    _hearing.c.hearing_id, _hearing.c.hearing_type, _hearing.c.court, _hearing.c.address,
    _hearing.c.starts_at, _hearing.c.window_from, _hearing.c.window_to, _hearing.c.status,
).where(_hearing.c.case_pk == bindparam("case_pk")).order_by(_hearing.c.hearing_id)


def timeline_rows(session: Session, case_pk: int, victim_pk: int) -> Sequence[Row[Any]]:
    return session.connection().execute(_TIMELINE, {"case_pk": case_pk,
                                                    "victim_pk": victim_pk}).all()


def timeline_row(session: Session, entry_pk: int) -> Row[Any] | None:
    return session.connection().execute(_ENTRY, {"entry_pk": entry_pk}).first()


def officer_rows(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    return session.connection().execute(_OFFICERS, {"case_pk": case_pk}).all()


def hearing_rows(session: Session, case_pk: int) -> Sequence[Row[Any]]:
    return session.connection().execute(_HEARINGS, {"case_pk": case_pk}).all()


# The newest entry the victim may see (what a timeline poll compares with `seen`).
_LATEST_ENTRY = select(func.max(_entry.c.id)).where(
    _entry.c.case_pk == bindparam("case_pk"),
    or_(_entry.c.victim_pk.is_(None), _entry.c.victim_pk == bindparam("victim_pk")))


def latest_entry_pk(session: Session, case_pk: int, victim_pk: int) -> int:
    return session.connection().scalar(
        _LATEST_ENTRY, {"case_pk": case_pk, "victim_pk": victim_pk}) or 0


# --- devices, OIDC links, actions -----------------------------------------------------------

def add_known_device(session: Session, identity_key: str, device_hash: str) -> bool:
    """True when the device was new for this identity."""
    return upsert_ignore(session, KnownDevice, {"identity_key": identity_key,
                                                "device_hash": device_hash},
                         conflict_columns=["identity_key", "device_hash"]) is not None


def has_known_devices(session: Session, identity_key: str) -> bool:
    return session.scalar(
        select(KnownDevice.id).where(KnownDevice.identity_key == identity_key).limit(1)
    ) is not None


def oidc_links(session: Session, subject: str) -> Sequence[OidcLink]:
    return session.scalars(
        select(OidcLink).where(OidcLink.subject == subject).order_by(OidcLink.id)
    ).all()


def add_oidc_link(session: Session, values: dict) -> None:  # type: ignore[type-arg]
    upsert_ignore(session, OidcLink, values, conflict_columns=["subject", "identity_key"])


def actions_of_victim(session: Session, victim_pk: int) -> Sequence[PortalAction]:
    return session.scalars(
        select(PortalAction).where(PortalAction.victim_pk == victim_pk)
        .order_by(PortalAction.at, PortalAction.id)
    ).all()


def delete_ended_sessions(session: Session, idle_before: datetime, now: datetime) -> int:
    """Sessions revoked, past their absolute limit or idle too long (grants cascade; recorded
    actions keep their row with the session set to NULL)."""
    result = session.execute(delete(PortalSession).where(or_(
        PortalSession.revoked_at.is_not(None), PortalSession.expires_at < now,
        PortalSession.last_seen_at < idle_before)))
    return result.rowcount or 0


def delete_spent_challenges(session: Session, before: datetime) -> int:
    """Sign-in codes that expired before `before` (used or not): only a hash was ever kept."""
    result = session.execute(delete(SignInChallenge).where(SignInChallenge.expires_at < before))
    return result.rowcount or 0
