"""Victim requests to agencies and their outbound webhook deliveries (contract section 6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigId, utcnow

REQUEST_KINDS = ("vps", "vrr", "special_measures", "rj_interest", "vcs_preference",
                 "support_referral", "message", "escalation")
# A request's status only moves forward: submitted -> acknowledged -> completed.
SUBMITTED, ACKNOWLEDGED, COMPLETED = "submitted", "acknowledged", "completed"
REQUEST_STATUSES = (SUBMITTED, ACKNOWLEDGED, COMPLETED)

# Delivery statuses. `pending` waits for a worker (first try or a retry), `delivering` is claimed
# by one (lease in claimed_until); the other three are final.
PENDING, DELIVERING, DELIVERED = "pending", "delivering", "delivered"
EXHAUSTED, DISABLED = "exhausted", "disabled"
DELIVERY_STATUSES = (PENDING, DELIVERING, DELIVERED, EXHAUSTED, DISABLED)
FINAL_DELIVERY_STATUSES = frozenset({DELIVERED, EXHAUSTED, DISABLED})
# Why a delivery was handed to the Hub (`outbound_task.reason`).
TASK_EXHAUSTED, TASK_NO_ENDPOINT, TASK_ENDPOINT_DISABLED = (
    "exhausted", "no-endpoint", "endpoint-disabled")


class AgencyRequest(Base):
    """Something a victim asked an agency to do (a VPS, a review, a message ...) and the
    agency's replies (`request.acknowledged`, `request.completed`)."""

    __tablename__ = "agency_request"
    __table_args__ = (Index("ix_agency_request_case_kind", "case_pk", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)  # public, uuid4
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    victim_pk: Mapped[int | None] = mapped_column(
        ForeignKey("victim.id", ondelete="CASCADE"), index=True)
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what was sent
    status: Mapped[str] = mapped_column(String(16), default=SUBMITTED)
    decision: Mapped[str | None] = mapped_column(String(16))
    explanation: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class OutboundWebhook(Base):
    """One delivery of one request to the agency's endpoint. Every retry reuses `webhook_id`."""

    __tablename__ = "outbound_webhook"
    __table_args__ = (Index("ix_outbound_webhook_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)  # msg_...
    request_pk: Mapped[int] = mapped_column(
        ForeignKey("agency_request.id", ondelete="CASCADE"), index=True)
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(64), default="request.submitted")
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    first_attempt_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(300))  # no personal data
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboundAttempt(Base):
    """One try at delivering an outbound webhook."""

    __tablename__ = "outbound_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_pk: Mapped[int] = mapped_column(
        ForeignKey("outbound_webhook.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # delivered | retry | gone | exhausted | abandoned (lease expired)
    outcome: Mapped[str | None] = mapped_column(String(16))
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int | None]


class OutboundTask(Base):
    """A request that could not reach its agency: a person at the Victim Care Hub must pass it
    on by other means (shown in the staff console's Hub queue)."""

    __tablename__ = "outbound_task"
    __table_args__ = (Index("ix_outbound_task_open", "resolved_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_pk: Mapped[int] = mapped_column(
        ForeignKey("outbound_webhook.id", ondelete="CASCADE"), unique=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("agency_request.id", ondelete="CASCADE"))
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # TASK_*: exhausted | no-endpoint | ...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
