"""Staff sign-in, sessions and who may see what. `visible_case_pks` (as a query) and
`can_see_case` (for one case) are THE rule for every staff page that shows a case:

- officer: cases where they are the current officer in charge (`oic`), matched by email;
- supervisor: cases where they are the current `supervisor`, matched by email;
- hub, admin: every case;
- oversight: no case at all (the dashboard has no personal data).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, union
from sqlalchemy.orm import Session

from app.agencies import service as agencies_service
from app.cases.models import Case
from app.core import csrf
from app.core.config import Settings
from app.core.db import utcnow
from app.staff import audit, repository
from app.staff.models import ROLES, StaffAccount, StaffSession
from app.staff.schemas import AgencyForm, StaffUser

ALL_CASES_ROLES = frozenset({"hub", "admin"})
# staff role -> the officer_assignment role whose email must match
ASSIGNMENT_ROLES = {"officer": "oic", "supervisor": "supervisor"}
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def staff_user(account: StaffAccount) -> StaffUser:
    return StaffUser(pk=account.id, subject=account.subject, email=account.email,
                     name=account.name, roles=frozenset(account.roles))


# --- sign-in and sessions --------------------------------------------------------------------

def sign_in(db: Session, settings: Settings, *, subject: str, email: str, name: str,
            roles: frozenset[str], now: datetime | None = None) -> tuple[StaffUser, str]:
    """Records the account (roles refreshed from the provider) and starts a fresh session.
    Returns the staff user and the session cookie's token."""
    now = now or utcnow()
    account = repository.account_by_subject(db, subject)
    if account is None:
        account = StaffAccount(subject=subject, email=email, name=name, created_at=now)
        db.add(account)
    account.email, account.name = email, name
    account.roles = sorted(roles)
    account.last_sign_in_at = now
    db.flush()
    token = secrets.token_urlsafe(32)
    db.add(StaffSession(token_hash=token_hash(token), csrf_token=csrf.new_token(),
                        account_pk=account.id, created_at=now, last_seen_at=now,
                        expires_at=now + timedelta(hours=settings.staff_session_max_hours)))
    db.commit()
    return staff_user(account), token


def live_session(db: Session, settings: Settings, token: str | None,
                 now: datetime | None = None) -> tuple[StaffSession, StaffUser] | None:
    """The session behind a cookie and its member of staff, if still live; a visit counts as
    activity for the idle timeout."""
    if not token:
        return None
    now = now or utcnow()
    found = repository.session_by_token_hash(db, token_hash(token))
    if found is None:
        return None
    row, account = found
    idle = timedelta(minutes=settings.staff_session_idle_minutes)
    if row.revoked_at is not None or row.expires_at <= now or now - row.last_seen_at > idle:
        return None
    if not account.roles:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return row, staff_user(account)


def sign_out(db: Session, session_pk: int, now: datetime | None = None) -> None:
    row = repository.get_session(db, session_pk)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
        db.commit()


def roles_from_claims(settings: Settings, claims: Mapping[str, Any]) -> frozenset[str]:
    """Our roles from the provider's roles claim (a list, or a space/comma separated string),
    through `staff_oidc_role_map`; values that name one of our roles map to themselves."""
    raw = claims.get(settings.staff_oidc_roles_claim) or []
    values = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    mapped = {settings.staff_oidc_role_map.get(str(v), str(v)) for v in values}
    return frozenset(mapped & set(ROLES))


# --- who may see which case --------------------------------------------------------------------

def visible_case_pks(staff: StaffUser) -> Select[Any] | None:
    """A query of the case pks `staff` may see; None means every case."""
    if staff.roles & ALL_CASES_ROLES:
        return None
    parts = [repository.case_pks_assigned_to(ASSIGNMENT_ROLES[role], staff.email)
             for role in sorted(staff.roles) if role in ASSIGNMENT_ROLES]
    if not parts:
        return repository.no_case_pks()
    return parts[0] if len(parts) == 1 else union(*parts)  # type: ignore[return-value]


def cases_visible_to(session: Session, staff: StaffUser, limit: int = 500) -> Sequence[Case]:
    return repository.cases(session, visible_case_pks(staff), limit)


def get_case(session: Session, case_pk: int) -> Case | None:
    return repository.get_case(session, case_pk)


def can_see_case(session: Session, staff: StaffUser, case_pk: int) -> bool:
    if staff.roles & ALL_CASES_ROLES:
        return repository.get_case(session, case_pk) is not None
    return any(repository.is_assigned(session, ASSIGNMENT_ROLES[role], staff.email, case_pk)
               for role in staff.roles if role in ASSIGNMENT_ROLES)


# --- agencies (admin) ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AgencyChange:
    ok: bool
    error: str | None = None
    secret: str | None = None  # a new signing secret: shown once, never stored in the clear


def add_agency(db: Session, settings: Settings, staff: StaffUser, form: AgencyForm
               ) -> AgencyChange:
    try:
        agency, secret = agencies_service.add_agency(
            db, settings.secret_key, form.agency_id, form.kind, form.name,
            form.endpoint_url or None)
    except agencies_service.AgencyError as error:
        db.rollback()
        return AgencyChange(False, str(error))
    audit.record_write(db, staff, what="agency.add", detail=agency.agency_id)
    db.commit()
    return AgencyChange(True, secret=secret)


def rotate_secret(db: Session, settings: Settings, staff: StaffUser, agency_id: str
                  ) -> AgencyChange:
    try:
        _agency, secret = agencies_service.rotate_secret(db, settings.secret_key, agency_id)
    except agencies_service.AgencyError as error:
        db.rollback()
        return AgencyChange(False, str(error))
    audit.record_write(db, staff, what="agency.rotate-secret", detail=agency_id)
    db.commit()
    return AgencyChange(True, secret=secret)


def retire_secrets(db: Session, staff: StaffUser, agency_id: str) -> AgencyChange:
    try:
        retired = agencies_service.retire_secrets(db, agency_id)
    except agencies_service.AgencyError as error:
        db.rollback()
        return AgencyChange(False, str(error))
    audit.record_write(db, staff, what="agency.retire-secrets",
                       detail=f"{agency_id}: {retired} retired")
    db.commit()
    return AgencyChange(True)


def enable_endpoint(db: Session, staff: StaffUser, agency_id: str) -> AgencyChange:
    """Lets outbound webhooks go to an endpoint that answered 410 Gone again, and sends what
    was parked while it was disabled."""
    from app.outbound import service as outbound

    agency = repository.get_agency(db, agency_id)
    if agency is None:
        return AgencyChange(False, f"no agency {agency_id}")
    if agency.endpoint_disabled_at is not None:
        resumed = outbound.resume_endpoint(db, agency)
        audit.record_write(db, staff, what="agency.enable-endpoint",
                           detail=f"{agency_id}: {resumed} deliveries queued again")
        db.commit()
    return AgencyChange(True)
