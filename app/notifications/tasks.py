"""The worker's jobs: deliver notifications, sweep stuck rows, escalate unacknowledged safety
alerts (and, when the obligations engine provides one, its breach sweep)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

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


def _obligation_jobs() -> list[Job]:
    from app.obligations import tasks

    return [Job("obligations-breach-sweep", tasks.sweep_breaches,
                idle_interval=tasks.SWEEP_EVERY_SECONDS)]


def _portal_jobs(settings: Settings) -> list[Job]:
    from app.portal import tasks

    return [Job("portal-purge", partial(tasks.purge, settings),
                idle_interval=tasks.PURGE_EVERY_SECONDS)]


def all_jobs(settings: Settings, providers: dict[str, Provider] | None = None) -> list[Job]:
    """Every job a `tmc worker` (or the in-process worker) runs."""
    return notification_jobs(settings, providers) + _obligation_jobs() + _portal_jobs(settings)
