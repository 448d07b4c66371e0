from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigId, utcnow

CHANNELS = ("sms", "email")


class DevOutboxMessage(Base):
    """An SMS or email the embedded default captured instead of sending (`tmc outbox`)."""

    __tablename__ = "dev_outbox_message"
    __table_args__ = (Index("ix_dev_outbox_message_recipient_created", "recipient", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms | email
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the outbox (issue 5) -------------------------------------------------------------------
# Status vocabulary of GOV.UK Notify. `created` waits for a worker (first try, retry or a hold
# for quiet hours / a digest window); `sending` is claimed by a worker (claimed_until set) or
# handed to the provider and awaiting its receipt; the other four are final and never change.
CREATED, SENDING, DELIVERED = "created", "sending", "delivered"
TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE = (
    "temporary-failure", "permanent-failure", "technical-failure")
STATUSES = (CREATED, SENDING, DELIVERED, TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE)
FINAL_STATUSES = frozenset(STATUSES[2:])


class Notification(Base):
    """One message to one recipient on one channel: the victim's "messages we sent you" and the
    Code's evidence that they were informed. Written in the transaction of the event causing it.
    """

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_recipient_sent", "channel", "to", "sent_at"),
        Index("ix_notification_victim_created", "victim_pk", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    event_pk: Mapped[int | None] = mapped_column(ForeignKey("received_event.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(16))  # victim | representative
    channel: Mapped[str] = mapped_column(String(8))  # sms | email
    to: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(64))  # an event type, or a template key
    language: Mapped[str] = mapped_column(String(8))
    discreet: Mapped[bool]
    safety_critical: Mapped[bool] = mapped_column(default=False)
    urgent: Mapped[bool] = mapped_column(default=False)  # ignores quiet hours (offender.escaped)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)  # structured fields only
    status: Mapped[str] = mapped_column(String(24), default=CREATED)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]  # the lease of the worker holding it
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    first_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]  # last handed to a provider
    status_at: Mapped[datetime | None]  # when the current status was reached
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)  # what was sent, as sent
    body_hash: Mapped[str | None] = mapped_column(String(16))
    # Set on rows folded into another row's digest: that row carries their content.
    digest_pk: Mapped[int | None] = mapped_column(ForeignKey("notification.id"), index=True)
    # Set on a try on the victim's other channel after this one failed.
    fallback_of_pk: Mapped[int | None] = mapped_column(ForeignKey("notification.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationAttempt(Base):
    """One try at handing a notification to a provider."""

    __tablename__ = "notification_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_pk: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    worker: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # accepted | retry | permanent-failure | technical-failure | abandoned (lease expired)
    outcome: Mapped[str | None] = mapped_column(String(24))
    error: Mapped[str | None] = mapped_column(String(300))  # provider's code; no personal data
    provider_ref: Mapped[str | None] = mapped_column(String(100))


class ContactTask(Base):
    """A person must phone the victim (shown in the staff console)."""

    __tablename__ = "contact_task"
    __table_args__ = (Index("ix_contact_task_open", "resolved_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    # undeliverable | no-channel | safety-ack-overdue | sms-opt-out | update-overdue (the
    # officer in charge is asked to update a victim who has heard nothing for their interval)
    reason: Mapped[str] = mapped_column(String(32))
    event_pk: Mapped[int | None] = mapped_column(ForeignKey("received_event.id"))
    notification_pk: Mapped[int | None] = mapped_column(ForeignKey("notification.id"))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class SafetyAlert(Base):
    """A safety-critical event the victim must acknowledge (link token or replying OK)."""

    __tablename__ = "safety_alert"
    __table_args__ = (UniqueConstraint("victim_pk", "event_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    event_pk: Mapped[int] = mapped_column(ForeignKey("received_event.id"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]  # a person calls if not acknowledged by then
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(16))  # link | sms-reply
    escalated_at: Mapped[datetime | None]


class SmsOptOut(Base):
    """A number that replied STOP. Nothing is sent to it until it replies START."""

    __tablename__ = "sms_opt_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # E.164
    opted_out_at: Mapped[datetime]


class NotificationPreference(Base):
    """What the victim chose in the portal. Unset fields fall back to what the police sent."""

    __tablename__ = "notification_preference"

    id: Mapped[int] = mapped_column(primary_key=True)
    victim_pk: Mapped[int] = mapped_column(
        ForeignKey("victim.id", ondelete="CASCADE"), unique=True)
    sms: Mapped[bool | None]
    email: Mapped[bool | None]
    language: Mapped[str | None] = mapped_column(String(8))
    quiet_from: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" Europe/London
    quiet_to: Mapped[str | None] = mapped_column(String(5))
    discreet: Mapped[bool | None]
    # How often to hear from us when nothing has happened (the regular-update interval).
    update_interval_days: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UpdateReminder(Base):
    """"No news is not forgotten": the victim's chosen interval passed with no police update
    (the obligations engine's regular-update obligation is overdue), so the victim was told and
    the officer in charge nudged. One row per interval: the unique key makes it happen once
    whatever number of workers look at the same moment."""

    __tablename__ = "update_reminder"
    __table_args__ = (UniqueConstraint("obligation_pk", "number"),
                      Index("ix_update_reminder_next", "obligation_pk", "next_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    obligation_pk: Mapped[int] = mapped_column(
        BigId, ForeignKey("obligation.id", ondelete="CASCADE"))
    number: Mapped[int]  # 1 when the interval first passed, 2 one interval later, ...
    due_at: Mapped[datetime]  # when this reminder became due
    next_at: Mapped[datetime]  # when the next one is due if still nothing has happened
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
