"""What is owed to whom under the Victims' Code, and the evidence that it was met.

Rows with origin "event" are derived from the case's received events (plus evidence) and are
recomputed whole on every change; rows with origin "portal" are raised by things a victim does
in the portal (a review request, a complaint, a message) and met by `service.meet()`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigId, utcnow

STATUSES = ("open", "met", "met_late", "breached", "cancelled")
ORIGINS = ("event", "portal")


class Obligation(Base):
    __tablename__ = "obligation"
    __table_args__ = (
        UniqueConstraint("case_pk", "victim_pk", "rule_id", "trigger_key"),
        Index("ix_obligation_status_due", "status", "due_at"),
        # the oversight roll-up: what changed since its last refresh, and one month's rows
        Index("ix_obligation_updated_at", "updated_at"),
        Index("ix_obligation_trigger_at", "trigger_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    # None for a per-case obligation
    victim_pk: Mapped[int | None] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(8), default="event")
    # agency kind, "victim", or (complaints) the kind of the agency complained about
    owner: Mapped[str] = mapped_column(String(32))
    owner_agency_pk: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    # stable across recomputations: "<agency_id>:<webhook-id>" of the triggering event, or the
    # portal's own key (request id, message id)
    trigger_key: Mapped[str] = mapped_column(String(300))
    event_pk: Mapped[int | None] = mapped_column(ForeignKey("received_event.id"))
    trigger_at: Mapped[datetime]  # when the deadline starts counting
    due_at: Mapped[datetime | None]  # None: not started (a window before the victim is told)
    closes_at: Mapped[datetime | None]  # a window's last day, when later than due_at
    receipt_due_at: Mapped[datetime | None]  # when the sender had to deliver the trigger by
    met_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="open")
    evidence: Mapped[str | None] = mapped_column(String(300))  # what met it
    enhanced: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ObligationEvidence(Base):
    """Something a victim demonstrably had or did: the portal's evidence for the Code.

    kind "informed": the victim (or their representative) had the information of `event_pk`,
    from `source` (delivery_receipt, portal_view or acknowledged). Other kinds are portal
    actions that rules use (vps_page_opened, support_declined); their source is "portal".
    Only the earliest time per (victim, event, kind, source) is kept.
    """

    __tablename__ = "obligation_evidence"
    __table_args__ = (Index("ix_obligation_evidence_victim_event", "victim_pk", "event_pk"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    event_pk: Mapped[int | None] = mapped_column(ForeignKey("received_event.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
