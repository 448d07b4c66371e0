"""Every job a `tmc worker` (or the in-process worker) runs, gathered from the domains.

One registry, like app/models.py, so no domain has to know about another's jobs."""

from __future__ import annotations

from functools import partial
from typing import Any

from app.core.config import Settings
from app.core.worker import Job
from app.notifications.providers import Provider


def _notification_jobs(settings: Settings, providers: dict[str, Provider] | None) -> list[Job]:
    from app.notifications.tasks import notification_jobs

    return notification_jobs(settings, providers)


def _at_most_every(run: Any, seconds: float) -> Any:
    """Periodic sweeps must not run on every wake-up of every worker thread (see AtMostEvery)."""
    from app.notifications.tasks import AtMostEvery

    return AtMostEvery(run, seconds)


def _obligation_jobs() -> list[Job]:
    from app.obligations import tasks

    return [Job("obligations-breach-sweep",
                _at_most_every(tasks.sweep_breaches, tasks.SWEEP_EVERY_SECONDS),
                idle_interval=tasks.SWEEP_EVERY_SECONDS, wake_on_notify=False)]


def _portal_jobs(settings: Settings) -> list[Job]:
    from app.portal import tasks

    return [Job("portal-purge",
                _at_most_every(partial(tasks.purge, settings), tasks.PURGE_EVERY_SECONDS),
                idle_interval=tasks.PURGE_EVERY_SECONDS, wake_on_notify=False)]


def _outbound_jobs(settings: Settings) -> list[Job]:
    from app.outbound.tasks import outbound_jobs

    return outbound_jobs(settings)


def _contact_jobs(settings: Settings, providers: dict[str, Provider] | None) -> list[Job]:
    from app.contact.tasks import contact_jobs

    return contact_jobs(settings, providers)


def _oversight_jobs() -> list[Job]:
    from app.oversight import tasks

    return [Job("oversight-rollup",
                _at_most_every(tasks.refresh_rollup, tasks.REFRESH_EVERY_SECONDS),
                idle_interval=tasks.REFRESH_EVERY_SECONDS, wake_on_notify=False)]


def all_jobs(settings: Settings, providers: dict[str, Provider] | None = None) -> list[Job]:
    return (_notification_jobs(settings, providers) + _obligation_jobs()
            + _portal_jobs(settings) + _outbound_jobs(settings)
            + _contact_jobs(settings, providers) + _oversight_jobs())
