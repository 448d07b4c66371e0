from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, BigId, utcnow

AGENCY_KINDS = ("police", "cps", "witness_care", "court", "probation", "support_service")


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    endpoint_url: Mapped[str | None] = mapped_column(String(2000))
    endpoint_disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    secrets: Mapped[list[AgencySecret]] = relationship(
        back_populates="agency", lazy="raise", order_by="AgencySecret.id"
    )


class AgencySecret(Base):
    """A Standard Webhooks secret, Fernet-encrypted. Several are active during rotation."""

    __tablename__ = "agency_secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    agency: Mapped[Agency] = relationship(back_populates="secrets", lazy="raise")


class ReceivedEvent(Base):
    """Every accepted agency event, as received. The source the case projection is built from."""

    __tablename__ = "received_event"
    __table_args__ = (
        UniqueConstraint("agency_pk", "webhook_id"),
        Index("ix_received_event_case_occurred", "case_pk", "occurred_at"),
        # the oversight dashboard counts cases with an event of one type (vps.recorded)
        Index("ix_received_event_type_case", "type", "case_pk"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    webhook_id: Mapped[str] = mapped_column(String(255))
    body_sha256: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    crime_reference: Mapped[str] = mapped_column(String(64))
    case_pk: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]]
