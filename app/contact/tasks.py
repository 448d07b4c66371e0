"""Background work for messages and escalations: the service-level ladder and staff emails."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from app.contact import service
from app.contact.outbox import StaffEmailDeliverer
from app.core.config import Settings
from app.core.worker import Job, periodic
from app.notifications.providers import Provider

# Deadlines are ends of days or 2 hours ("I feel unsafe"): a minute is soon enough.
LADDER_EVERY_SECONDS = 60


def climb_ladders(factory: sessionmaker[Session], now: datetime | None = None) -> int:
    """Passes every overdue message or escalation to its next holder (committed); returns how
    many moved. Safe from any number of workers at once."""
    with factory() as session:
        return service.climb_ladders(session, now)


def contact_jobs(settings: Settings, providers: dict[str, Provider] | None = None) -> list[Job]:
    email = providers.get("email") if providers else None
    return [periodic("contact-ladder", climb_ladders, LADDER_EVERY_SECONDS),
            Job("deliver-staff-emails", StaffEmailDeliverer(settings, email), idle_interval=5.0,
                topic=service.WAKE_TOPIC)]
