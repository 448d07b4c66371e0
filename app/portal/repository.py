"""All queries of the portal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.cases.models import Case, Representative, TimelineEntry, Victim
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

def session_by_token_hash(session: Session, token_hash: str) -> PortalSession | None:
    return session.scalars(
        select(PortalSession).where(PortalSession.token_hash == token_hash)
    ).one_or_none()


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

def _address_column(channel: str, model: type[Victim] | type[Representative]):
    return func.lower(model.mobile if channel == "sms" else model.email)


def victims_reached(session: Session, grant: PortalGrant) -> Sequence[tuple[Victim, Case]]:
    """Victim records (with their case) whose recorded contact is the proven address and whose
    date of birth is the proven one: as the victim, or through their representative."""
    query = (select(Victim, Case).join(Case, Case.id == Victim.case_pk)
             .where(Victim.date_of_birth == grant.date_of_birth))
    if grant.role == "victim":
        query = query.where(_address_column(grant.channel, Victim) == grant.address.lower())
    else:
        query = query.join(Representative, Representative.victim_pk == Victim.id).where(
            _address_column(grant.channel, Representative) == grant.address.lower())
    rows = session.execute(query.order_by(Case.reported_at.desc(), Victim.id)).all()
    return [(row[0], row[1]) for row in rows]


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


def timeline_entry(session: Session, entry_pk: int) -> TimelineEntry | None:
    return session.get(TimelineEntry, entry_pk)


def latest_entry_pk(session: Session, case_pk: int, victim_pk: int) -> int:
    from sqlalchemy import or_

    return session.scalar(
        select(func.coalesce(func.max(TimelineEntry.id), 0))
        .where(TimelineEntry.case_pk == case_pk,
               or_(TimelineEntry.victim_pk.is_(None), TimelineEntry.victim_pk == victim_pk))
    ) or 0


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
