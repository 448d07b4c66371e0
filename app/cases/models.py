"""The case projection. Every row here is derivable from `received_event`.

Fields that later events may overwrite carry a version (see `app.cases.projection.Version`) so
that the event with the latest `occurred_at` wins whatever order events arrive in.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, BigId, utcnow

STAGES = ("investigation", "charged", "at_court", "sentenced", "closed")


class Case(Base):
    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    crime_reference: Mapped[str] = mapped_column(String(64), unique=True)
    crime_type: Mapped[str] = mapped_column(String(200))
    offence_group: Mapped[str] = mapped_column(String(32))
    borough: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime]
    stage: Mapped[str] = mapped_column(String(32), default="investigation")
    suspect_status: Mapped[str | None] = mapped_column(String(64))
    bail_conditions: Mapped[list[Any]] = mapped_column(default=list)
    bail_return_date: Mapped[date | None]
    licence_conditions: Mapped[str | None] = mapped_column(Text)
    release: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # field name -> Version string of the event that last set it
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    victims: Mapped[list[Victim]] = relationship(lazy="raise", order_by="Victim.id")


class CaseAgency(Base):
    __tablename__ = "case_agency"
    __table_args__ = (UniqueConstraint("case_pk", "agency_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    linked_at: Mapped[datetime]
    linked_by_agency_pk: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))


class Victim(Base):
    __tablename__ = "victim"
    # Portal sign-in finds a person's victim records by date of birth, then contact details.
    __table_args__ = (UniqueConstraint("case_pk", "victim_ref"),
                      Index("ix_victim_date_of_birth", "date_of_birth"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    victim_ref: Mapped[str] = mapped_column(String(64))
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None]
    email: Mapped[str | None] = mapped_column(String(320))
    mobile: Mapped[str | None] = mapped_column(String(32))  # E.164
    preferred_language: Mapped[str] = mapped_column(String(35), default="en")
    enhanced_categories: Mapped[list[Any]] = mapped_column(default=list)
    sms_allowed: Mapped[bool] = mapped_column(default=True)
    email_allowed: Mapped[bool] = mapped_column(default=True)
    discreet: Mapped[bool] = mapped_column(default=False)
    quiet_from: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" Europe/London
    quiet_to: Mapped[str | None] = mapped_column(String(5))
    needs: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    representative: Mapped[Representative | None] = relationship(lazy="raise", uselist=False)


class Representative(Base):
    """A parent, carer or advocate named by the police who may act for the victim."""

    __tablename__ = "representative"

    id: Mapped[int] = mapped_column(primary_key=True)
    victim_pk: Mapped[int] = mapped_column(
        ForeignKey("victim.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))
    mobile: Mapped[str | None] = mapped_column(String(32))


class OfficerAssignment(Base):
    """Every assignment ever made, per role. The current one is the latest by version."""

    __tablename__ = "officer_assignment"
    __table_args__ = (Index("ix_officer_assignment_case_role", "case_pk", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    rank: Mapped[str | None] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    working_pattern: Mapped[str | None] = mapped_column(String(500))
    assigned_at: Mapped[datetime]
    version: Mapped[str] = mapped_column(String(400))
    event_pk: Mapped[int] = mapped_column(ForeignKey("received_event.id"))


class Hearing(Base):
    __tablename__ = "hearing"
    __table_args__ = (UniqueConstraint("case_pk", "hearing_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    hearing_id: Mapped[str] = mapped_column(String(128))
    hearing_type: Mapped[str | None] = mapped_column(String(32))
    court: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(500))
    starts_at: Mapped[datetime | None]
    window_from: Mapped[date | None]
    window_to: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    outcome: Mapped[str | None] = mapped_column(String(32))
    remand: Mapped[str | None] = mapped_column(String(16))
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TimelineEntry(Base):
    """One line of a victim's timeline. Text is rendered at read time in the reader's language."""

    __tablename__ = "timeline_entry"
    __table_args__ = (Index("ix_timeline_entry_case_occurred", "case_pk", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    event_pk: Mapped[int | None] = mapped_column(ForeignKey("received_event.id"), unique=True)
    event_id: Mapped[str | None] = mapped_column(String(255))  # the agency's webhook-id
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    agency_pk: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    # Set when the entry concerns one victim only: nobody else on the case sees it.
    victim_pk: Mapped[int | None] = mapped_column(ForeignKey("victim.id", ondelete="CASCADE"))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
