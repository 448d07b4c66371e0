"""Messages between a victim and the officer in charge, escalations, and the steps of their
service levels (who held each, from when, until when).

A thread and an escalation each climb a ladder of holders (officer, supervisor, Victim Care
Hub) defined once in `app.contact.service.LADDERS`: `rung` is the index of the current holder,
`due_at` the end of that holder's time. The worker moves a row one rung up with a conditional
UPDATE on `rung`, so any number of workers move it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigId, utcnow

OFFICER, SUPERVISOR, HUB = "officer", "supervisor", "hub"
HOLDERS = (OFFICER, SUPERVISOR, HUB)
# Who wrote a message. "system" lines are the portal's own (a hand-over).
AUTHORS = ("victim", "representative", "officer", "agency", "hub", "system")
REASONS = ("cant_reach_officer", "something_wrong", "unsafe", "no_reply")
OPEN, RESOLVED = "open", "resolved"
# Staff email outbox statuses.
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class ContactThread(Base):
    """One conversation per victim and case. It waits for a reply from the first unanswered
    victim message (`waiting_since`) until the officer, the Hub or the police agency replies."""

    __tablename__ = "contact_thread"
    __table_args__ = (UniqueConstraint("case_pk", "victim_pk"),
                      Index("ix_contact_thread_waiting", "waiting_since", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"),
                                           index=True)
    # The officer in charge the thread is with (moves on a hand-over).
    officer_pk: Mapped[int | None] = mapped_column(ForeignKey("officer_assignment.id"))
    waiting_since: Mapped[datetime | None]
    rung: Mapped[int] = mapped_column(default=0)
    holder: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContactMessage(Base):
    __tablename__ = "contact_message"
    __table_args__ = (Index("ix_contact_message_thread_created", "thread_pk", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thread_pk: Mapped[int] = mapped_column(ForeignKey("contact_thread.id", ondelete="CASCADE"))
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(16))
    # A staff member's or agency's name as the victim sees it; never the victim's own name.
    author_name: Mapped[str | None] = mapped_column(String(200))
    staff_email: Mapped[str | None] = mapped_column(String(320))  # who replied, for the audit
    body: Mapped[str] = mapped_column(Text)
    # The victim request sent to the police for this message (app.outbound), public uuid.
    request_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    # The agency event that carried a reply: a redelivered event adds nothing.
    event_pk: Mapped[int | None] = mapped_column(ForeignKey("received_event.id"), unique=True)
    replied_at: Mapped[datetime | None]  # victim messages: when they got an answer
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Escalation(Base):
    """"I can't reach my officer", "Something is wrong with my case", "I feel unsafe", or a
    message nobody answered in time ("no_reply"). Resolved with a note the victim reads, then
    the victim says in one tap whether it was resolved."""

    __tablename__ = "contact_escalation"
    __table_args__ = (Index("ix_contact_escalation_open", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # in the victim's URLs
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"),
                                           index=True)
    thread_pk: Mapped[int | None] = mapped_column(ForeignKey("contact_thread.id",
                                                             ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(default=False)
    details: Mapped[str | None] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(16))  # victim | representative | portal
    raised_at: Mapped[datetime]
    rung: Mapped[int] = mapped_column(default=0)
    holder: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    first_due_at: Mapped[datetime]  # the first holder's deadline: the service level
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    request_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))  # the name the victim sees
    resolution: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(String(8))  # yes | no
    feedback_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactStep(Base):
    """One step the victim sees: raised, passed up the ladder, handed over, replied, resolved."""

    __tablename__ = "contact_step"
    __table_args__ = (Index("ix_contact_step_victim", "case_pk", "victim_pk", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    victim_pk: Mapped[int] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    thread_pk: Mapped[int | None] = mapped_column(ForeignKey("contact_thread.id",
                                                             ondelete="CASCADE"), index=True)
    escalation_pk: Mapped[int | None] = mapped_column(ForeignKey("contact_escalation.id",
                                                                 ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # raised | moved | handover | replied | resolved
    holder: Mapped[str | None] = mapped_column(String(16))
    holder_name: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None]
    at: Mapped[datetime]


class StaffEmail(Base):
    """An email to a member of staff (a new message, an escalation). Says only that there is
    something to look at and links to the staff console: never a victim's name or words.
    Delivered by the `deliver-staff-emails` job through the notification providers."""

    __tablename__ = "contact_staff_email"
    __table_args__ = (Index("ix_contact_staff_email_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    to: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)  # structured fields only
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
