"""Portal tables: sessions and what they were proven to reach, sign-in codes, known devices,
OpenID Connect links, opaque public ids for cases, and who did what (victim or representative).

Nothing here stores a secret in the clear: session tokens and codes are stored as hashes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.cases.models import Representative, Victim
from app.core.db import Base, BigId, utcnow

ROLES = ("victim", "representative")


class PortalSession(Base):
    """A browser's server-side session. Anonymous until a code is proven; revocable."""

    __tablename__ = "portal_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie
    csrf_token: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))  # chosen with the switch
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # absolute limit
    signed_in_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The sign-in in progress (codes sent for it) and an OIDC subject waiting to be linked.
    pending_attempt: Mapped[str | None] = mapped_column(String(64))
    pending_oidc_subject: Mapped[str | None] = mapped_column(String(255))


class PortalGrant(Base):
    """What a signed-in session has proven: a recorded contact address of a victim (or of their
    representative) and the victim's date of birth. The cases it reaches are worked out on every
    request from the current case records, so a changed contact address ends the access."""

    __tablename__ = "portal_grant"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_pk: Mapped[int] = mapped_column(
        ForeignKey("portal_session.id", ondelete="CASCADE"), index=True)
    identity_key: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))  # victim | representative
    channel: Mapped[str] = mapped_column(String(8))  # sms | email
    address: Mapped[str] = mapped_column(String(320))
    date_of_birth: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInChallenge(Base):
    """One one-time code sent to one recorded address for one sign-in attempt."""

    __tablename__ = "sign_in_challenge"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attempt_id: Mapped[str] = mapped_column(String(64), index=True)
    throttle_key: Mapped[str] = mapped_column(String(64))  # keyed hash of the crime reference
    role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(320))
    date_of_birth: Mapped[date]
    code_hash: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnownDevice(Base):
    __tablename__ = "known_device"
    __table_args__ = (UniqueConstraint("identity_key", "device_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_key: Mapped[str] = mapped_column(String(64))
    device_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class OidcLink(Base):
    """An OpenID Connect subject linked to what a one-time code proved once."""

    __tablename__ = "oidc_link"
    __table_args__ = (UniqueConstraint("subject", "identity_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), index=True)
    identity_key: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(320))
    date_of_birth: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CasePublicId(Base):
    """The opaque random id a case has in portal URLs (never the crime reference or row id)."""

    __tablename__ = "case_public_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), unique=True)
    public_id: Mapped[str] = mapped_column(String(43), unique=True)


class PortalAction(Base):
    """Who did what in the portal: the victim, or their representative acting for them."""

    __tablename__ = "portal_action"
    # By session too: ending a session sets its actions' session_pk to NULL, and a case page
    # asks whether its session has already recorded a view.
    __table_args__ = (Index("ix_portal_action_victim_at", "victim_pk", "at"),
                      Index("ix_portal_action_session_pk", "session_pk"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    acting_role: Mapped[str | None] = mapped_column(String(16))  # victim | representative
    victim_pk: Mapped[int | None] = mapped_column(ForeignKey("victim.id", ondelete="SET NULL"))
    case_pk: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"))
    representative_name: Mapped[str | None] = mapped_column(String(200))
    session_pk: Mapped[int | None] = mapped_column(
        ForeignKey("portal_session.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# What a grant reaches is looked up by the proven address, compared in lower case
# (repository.victims_reached): indexed here, with the query that needs them.
_victim = Victim.__table__
_representative = Representative.__table__
Index("ix_victim_lower_email", func.lower(_victim.c.email))
Index("ix_victim_lower_mobile", func.lower(_victim.c.mobile))
Index("ix_representative_lower_email", func.lower(_representative.c.email))
Index("ix_representative_lower_mobile", func.lower(_representative.c.mobile))
