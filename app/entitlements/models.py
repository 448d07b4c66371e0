"""A victim's rights on a case: each right's stored state and every move it made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigId, utcnow


class Entitlement(Base):
    """One right of one victim (one per decision for VRR: `key`). Created the first time the
    victim or an agency moves it; until then its state is derived from the case alone."""

    __tablename__ = "entitlement"
    __table_args__ = (UniqueConstraint("victim_pk", "right", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    right: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(300), default="")  # VRR: the decision's trigger key
    state: Mapped[str] = mapped_column(String(24))
    # The request the current state is about (its replies move the right).
    request_pk: Mapped[int | None] = mapped_column(
        ForeignKey("agency_request.id", ondelete="SET NULL"))
    # Work in progress the victim saved (a VPS draft); personal data, shown only to them.
    draft: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EntitlementTransition(Base):
    """Every move of a right: the progress the victim sees, and the audit of who moved it."""

    __tablename__ = "entitlement_transition"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entitlement_pk: Mapped[int] = mapped_column(
        ForeignKey("entitlement.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    trigger: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(16))  # victim | representative | agency | portal
    request_pk: Mapped[int | None] = mapped_column(
        ForeignKey("agency_request.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
