"""Background work for obligations, for the worker (`tmc worker`) to schedule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from app.obligations import service

# How often the worker should run the sweep.
SWEEP_EVERY_SECONDS = 60


def sweep_breaches(factory: sessionmaker[Session], now: datetime | None = None) -> int:
    """Marks open obligations past due as breached (committed); returns how many. Safe to run
    from any number of workers at once: it is one conditional UPDATE."""
    with factory() as session:
        return service.sweep_breaches(session, now)
