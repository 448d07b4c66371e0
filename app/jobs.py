"""Every job a `tmc worker` (or the in-process worker) runs, gathered from the domains.

One registry, like app/models.py, so no domain has to know about another's jobs."""

from __future__ import annotations

from functools import partial

from app.core.config import Settings
from app.core.worker import Job, periodic
from app.notifications.providers import Provider


def _notification_jobs(settings: Settings, providers: dict[str, Provider] | None) -> list[Job]:
    from app.notifications.tasks import notification_jobs

    return notification_jobs(settings, providers)


def _obligation_jobs() -> list[Job]:
    from app.obligations import tasks

    return [periodic("obligations-breach-sweep", tasks.sweep_breaches, tasks.SWEEP_EVERY_SECONDS)]


def _portal_jobs(settings: Settings) -> list[Job]:
    from app.portal import tasks

    return [periodic("portal-purge", partial(tasks.purge, settings), tasks.PURGE_EVERY_SECONDS)]


def _outbound_jobs(settings: Settings) -> list[Job]:
    from app.outbound.tasks import outbound_jobs

    return outbound_jobs(settings)


def _contact_jobs(settings: Settings, providers: dict[str, Provider] | None) -> list[Job]:
    from app.contact.tasks import contact_jobs

    return contact_jobs(settings, providers)


def _oversight_jobs() -> list[Job]:
    from app.oversight import tasks

    return [periodic("oversight-rollup", tasks.refresh_rollup, tasks.REFRESH_EVERY_SECONDS)]


def all_jobs(settings: Settings, providers: dict[str, Provider] | None = None) -> list[Job]:
    return (_notification_jobs(settings, providers) + _obligation_jobs()
            + _portal_jobs(settings) + _outbound_jobs(settings)
            + _contact_jobs(settings, providers) + _oversight_jobs())
