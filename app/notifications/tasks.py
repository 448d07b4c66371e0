"""Notification worker jobs: deliver, sweep stuck rows, escalate unacknowledged safety alerts,
remind victims who have heard nothing for their chosen interval."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.worker import Job, periodic
from app.notifications import service
from app.notifications.providers import Provider

REMINDERS_EVERY_SECONDS = 300.0  # intervals are days long: a few minutes late is nothing
Run = Callable[[sessionmaker[Session]], int]


def _in_session(work: Callable[[Session], int]) -> Run:
    def run(factory: sessionmaker[Session]) -> int:
        with factory() as session:
            return work(session)
    return run


def notification_jobs(settings: Settings, providers: dict[str, Provider] | None = None
                      ) -> list[Job]:
    sweep_every = max(1.0, min(15.0, settings.notification_lease_seconds / 4))
    deliver = service.Deliverer(settings, providers)
    return [
        Job("deliver-notifications", deliver, idle_interval=1.0, topic=service.WAKE_TOPIC,
            warm_up=deliver.warm_up),
        periodic("sweep-notifications", _in_session(service.sweep), sweep_every),
        periodic("escalate-safety-alerts", _in_session(service.escalate_unacknowledged), 30.0),
        periodic("update-reminders", _in_session(service.send_update_reminders),
                  REMINDERS_EVERY_SECONDS),
    ]
