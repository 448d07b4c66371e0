"""Notification worker jobs: deliver, sweep stuck rows, escalate unacknowledged safety alerts,
remind victims who have heard nothing for their chosen interval."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.worker import Job
from app.notifications import service
from app.notifications.providers import Provider

REMINDERS_EVERY_SECONDS = 300.0  # intervals are days long: a few minutes late is nothing
Run = Callable[[sessionmaker[Session]], int]


def _in_session(work: Callable[[Session], int]) -> Run:
    def run(factory: sessionmaker[Session]) -> int:
        with factory() as session:
            return work(session)
    return run


class AtMostEvery:
    """A periodic job that does not run more often than every `seconds` (per process), however
    many threads find it due. A run that found work may run again at once, to drain it."""

    def __init__(self, run: Run, seconds: float) -> None:
        self.run, self.seconds = run, seconds
        self._next = 0.0
        self._lock = threading.Lock()

    def __call__(self, factory: sessionmaker[Session]) -> int:
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                return 0
            self._next = now + self.seconds
        handled = self.run(factory)
        if handled:
            self._next = 0.0
        return handled


def _periodic(name: str, run: Run, seconds: float) -> Job:
    return Job(name, AtMostEvery(run, seconds), idle_interval=seconds, wake_on_notify=False)


def notification_jobs(settings: Settings, providers: dict[str, Provider] | None = None
                      ) -> list[Job]:
    sweep_every = max(1.0, min(15.0, settings.notification_lease_seconds / 4))
    return [
        Job("deliver-notifications", service.Deliverer(settings, providers), idle_interval=1.0,
            topic=service.WAKE_TOPIC),
        _periodic("sweep-notifications", _in_session(service.sweep), sweep_every),
        _periodic("escalate-safety-alerts", _in_session(service.escalate_unacknowledged), 30.0),
        _periodic("update-reminders", _in_session(service.send_update_reminders),
                  REMINDERS_EVERY_SECONDS),
    ]
