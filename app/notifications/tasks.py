"""Notification worker jobs: deliver, sweep stuck rows, escalate unacknowledged safety alerts."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.worker import Job
from app.notifications import service
from app.notifications.providers import Provider


def _in_session(work: Callable[[Session], int]) -> Callable[[sessionmaker[Session]], int]:
    def run(factory: sessionmaker[Session]) -> int:
        with factory() as session:
            return work(session)
    return run


def notification_jobs(settings: Settings, providers: dict[str, Provider] | None = None
                      ) -> list[Job]:
    sweep_every = max(1.0, min(15.0, settings.notification_lease_seconds / 4))
    return [
        Job("deliver-notifications", service.Deliverer(settings, providers), idle_interval=1.0),
        Job("sweep-notifications", _in_session(service.sweep), idle_interval=sweep_every),
        Job("escalate-safety-alerts", _in_session(service.escalate_unacknowledged),
            idle_interval=30.0),
    ]
