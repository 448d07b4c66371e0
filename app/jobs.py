"""Every job a `tmc worker` (or the in-process worker) runs, gathered from the domains.

One registry, like app/models.py, so no domain has to know about another's jobs."""

from __future__ import annotations

from functools import partial

from app.core.config import Settings
from app.core.worker import Job
from app.notifications.providers import Provider


def _notification_jobs(settings: Settings, providers: dict[str, Provider] | None) -> list[Job]:
    from app.notifications.tasks import notification_jobs

    return notification_jobs(settings, providers)


def _obligation_jobs() -> list[Job]:
    from app.obligations import tasks

    return [Job("obligations-breach-sweep", tasks.sweep_breaches,
                idle_interval=tasks.SWEEP_EVERY_SECONDS)]


def _portal_jobs(settings: Settings) -> list[Job]:
    from app.portal import tasks

    return [Job("portal-purge", partial(tasks.purge, settings),
                idle_interval=tasks.PURGE_EVERY_SECONDS)]


def all_jobs(settings: Settings, providers: dict[str, Provider] | None = None) -> list[Job]:
    return (_notification_jobs(settings, providers) + _obligation_jobs()
            + _portal_jobs(settings))
