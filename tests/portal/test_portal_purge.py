"""The worker forgets ended sessions and spent codes, and keeps live ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.core.db import make_sessionmaker, utcnow
from app.portal import tasks
from app.portal.models import PortalSession, SignInChallenge
from tests.portal.helpers import ALEX, open_case, sign_in

REF = "01/70002/26"


def _count(engine, model) -> int:
    with make_sessionmaker(engine)() as db:
        return db.scalar(select(func.count()).select_from(model))


def test_purge_removes_only_ended_sessions_and_old_codes(client, police, engine, settings):
    open_case(police, REF, [ALEX])
    assert sign_in(client, engine, REF, "1990-05-17", "+447700900123").status_code == 200
    factory = make_sessionmaker(engine)
    sessions, challenges = _count(engine, PortalSession), _count(engine, SignInChallenge)
    assert sessions >= 1 and challenges == 1

    assert tasks.purge(settings, factory) == 1  # only the revoked pre-sign-in session
    assert client.get("/cases").status_code == 200  # the live session survives

    later = utcnow() + timedelta(minutes=settings.portal_session_idle_minutes + 1)
    assert tasks.purge(settings, factory, now=later) == 1  # the now-idle session
    assert _count(engine, SignInChallenge) == 1  # a spent code is kept for a day
    assert tasks.purge(settings, factory, now=utcnow() + timedelta(days=2)) == 1
    assert _count(engine, PortalSession) == 0 and _count(engine, SignInChallenge) == 0
