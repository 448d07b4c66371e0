"""Helpers for the notification tests: run the delivery steps at a chosen time, read rows."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import uvicorn
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


@contextmanager
def serve_app(settings: Settings) -> Iterator[tuple[str, Settings]]:
    """The app on a real socket whose TMC_BASE_URL is its own address (Twilio signs callbacks
    against the public URL). Yields (base_url, settings)."""
    from app.main import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = settings.model_copy(update={"base_url": base})
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", lifespan="off",
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield base, settings
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
        app.state.engine.dispose()
