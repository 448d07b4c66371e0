"""Background work for the oversight dashboard, for the worker (`tmc worker`) to schedule."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.oversight import service

# How often the worker looks for changes to roll up: the dashboard is this fresh.
REFRESH_EVERY_SECONDS = 60


def refresh_rollup(factory: sessionmaker[Session]) -> int:
    """Refreshes the roll-up (committed) unless another worker did within the interval.
    Returns 0 even after rebuilding: a refresh drains no queue, so running again at once would
    only repeat it."""
    with factory() as session:
        service.refresh(session, unless_within=timedelta(seconds=REFRESH_EVERY_SECONDS - 5))
    return 0
