"""Helpers for the notification tests: run the delivery steps at a chosen time, read rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.db import make_sessionmaker, utcnow
from app.notifications import service
from app.notifications.models import (
    ContactTask,
    DevOutboxMessage,
    Notification,
    NotificationAttempt,
    SafetyAlert,
)
from app.notifications.providers import Provider
from tests.live_server import serve


def deliver(engine: Engine, settings: Settings, providers: dict[str, Provider],
            now: datetime | None = None, rounds: int = 50) -> int:
    """Claims and sends until nothing is due at `now`; returns how many sends were made."""
    factory = make_sessionmaker(engine)
    names = {channel: provider.name for channel, provider in providers.items()}
    total = 0
    for _ in range(rounds):
        with factory() as session:
            batch = service.claim(session, settings, names, "test-worker", now=now)
        if not batch:
            return total
        for item in batch:
            outcome = service.send(providers[item.message.channel], item.message)
            with factory() as session:
                service.record_outcome(session, item, outcome, now=now)
                session.commit()
        total += len(batch)
    return total


def rows(engine: Engine, model: Any = Notification, **where: Any) -> list[Any]:
    with make_sessionmaker(engine)() as session:
        query = select(model).order_by(model.id)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(session.scalars(query))


def count(engine: Engine, model: Any) -> int:
    with make_sessionmaker(engine)() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def outbox(engine: Engine) -> list[DevOutboxMessage]:
    return rows(engine, DevOutboxMessage)


def tasks(engine: Engine) -> list[ContactTask]:
    return rows(engine, ContactTask)


def alerts(engine: Engine) -> list[SafetyAlert]:
    return rows(engine, SafetyAlert)


def attempts(engine: Engine, notification_pk: int) -> list[NotificationAttempt]:
    return rows(engine, NotificationAttempt, notification_pk=notification_pk)


def session_of(engine: Engine) -> Session:
    return make_sessionmaker(engine)()


def factory_of(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


def now() -> datetime:
    return utcnow()


def serve_app(settings: Settings):
    """The app on a real socket whose TMC_BASE_URL is its own address (Twilio signs callbacks
    against the public URL). Yields (base_url, settings)."""
    return serve(settings, own_base_url=True)
