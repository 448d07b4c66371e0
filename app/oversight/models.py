"""The oversight roll-up: counts the dashboard reads instead of scanning every obligation.

Obligation counts and decision-to-informed durations are partitioned by the month (UTC) their
obligations were triggered in: a refresh rebuilds whole months, so it is exact for every month
it rebuilds and idempotent (app/oversight/service.py). Nothing here can name a victim: the
rows are counts by non-personal dimensions only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigId


class ObligationCount(Base):
    """Obligations that are not cancelled, counted per group, in their trigger month."""

    __tablename__ = "oversight_obligation_count"
    __table_args__ = (Index("ix_oversight_obligation_count_month", "trigger_month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trigger_month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, UTC
    due_month: Mapped[str | None] = mapped_column(String(7))  # None: deadline not started
    rule_id: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(32))
    owner_agency_pk: Mapped[int | None]  # no foreign key: a count outlives nothing it names
    borough: Mapped[str] = mapped_column(String(100))
    offence_group: Mapped[str] = mapped_column(String(32))
    enhanced: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))
    n: Mapped[int]


class DurationCount(Base):
    """A histogram of decision-to-informed durations (met obligations of the decision rules)
    per trigger month: `tenths` is the duration in tenths of an hour, rounded to its bucket
    (service.DURATION_BUCKETS)."""

    __tablename__ = "oversight_duration_count"
    __table_args__ = (Index("ix_oversight_duration_count_month", "trigger_month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trigger_month: Mapped[str] = mapped_column(String(7))
    rule_id: Mapped[str] = mapped_column(String(40))
    tenths: Mapped[int]
    n: Mapped[int]


class NotificationCount(Base):
    """Notifications (digest members left out) per channel and status, recounted whole."""

    __tablename__ = "oversight_notification_count"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    n: Mapped[int]


class RollupState(Base):
    """One row (id 1): how far the roll-up has got. Its row lock is the refresh's lease."""

    __tablename__ = "oversight_rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # obligations updated after this may not be counted yet
    watermark: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]  # the figures are as at this time
    full_at: Mapped[datetime | None]  # the last rebuild of every month
