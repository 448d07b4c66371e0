"""Staff console tables: staff accounts, their server-side sessions, and the append-only audit
log of every staff read of a victim's data.

Session tokens are stored as SHA-256 hashes. Audit rows carry no foreign keys to cases or
victims: the log outlives a purged case, and nothing may update or delete it (database triggers
added by the migration refuse both).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigId, utcnow

ROLES = ("officer", "supervisor", "hub", "oversight", "admin")


class StaffAccount(Base):
    """A person who signed in to the staff console once. Roles are refreshed at each sign-in
    from the identity provider (the provider is the source of truth)."""

    __tablename__ = "staff_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "oidc:<issuer>|<sub>" or "dev:<email>": unique per identity provider account
    subject: Mapped[str] = mapped_column(String(512), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]


class StaffSession(Base):
    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie
    csrf_token: Mapped[str] = mapped_column(String(64))
    account_pk: Mapped[int] = mapped_column(
        ForeignKey("staff_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # absolute limit
    revoked_at: Mapped[datetime | None]


class StaffAudit(Base):
    """One staff action on victim data or the service's set-up (append-only)."""

    __tablename__ = "staff_audit"
    __table_args__ = (Index("ix_staff_audit_case_at", "case_pk", "at"),
                      Index("ix_staff_audit_account_at", "account_pk", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    account_pk: Mapped[int]  # no foreign key: the log outlives everything it mentions
    staff_email: Mapped[str] = mapped_column(String(320))
    roles: Mapped[str] = mapped_column(String(100))  # the roles held when acting
    action: Mapped[str] = mapped_column(String(16))  # read | write
    what: Mapped[str] = mapped_column(String(100))  # e.g. "case", "hub-queue", "agency.add"
    case_pk: Mapped[int | None]
    victim_pk: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(String(300))  # never personal data
