"""Worker jobs of the portal: forget ended sessions and spent sign-in codes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.db import utcnow
from app.portal import repository

PURGE_EVERY_SECONDS = 300.0
CHALLENGE_KEPT_FOR = timedelta(days=1)  # long enough to look into a sign-in complaint


def purge(settings: Settings, factory: sessionmaker[Session], now: datetime | None = None
          ) -> int:
    now = now or utcnow()
    idle_before = now - timedelta(minutes=settings.portal_session_idle_minutes)
    with factory() as session:
        removed = repository.delete_ended_sessions(session, idle_before, now)
        removed += repository.delete_spent_challenges(session, now - CHALLENGE_KEPT_FOR)
        session.commit()
    return removed
