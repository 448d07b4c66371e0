"""The background worker: runs each domain's jobs (deliveries, sweeps) until told to stop.

Jobs are plain functions `run(sessionmaker) -> int` returning how many items they handled; a job
that handled something runs again at once, an idle one waits for its interval or a wake-up.
On PostgreSQL, wake-ups come by LISTEN/NOTIFY on the `tmc_work` channel, so a notification
queued by any app process on any machine is picked up at once; on SQLite the worker polls.
Any number of workers may run against one PostgreSQL database: jobs claim rows with
FOR UPDATE SKIP LOCKED, so no row is handled twice.
"""

from __future__ import annotations

import logging
import select
import signal
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("tmc.worker")
WAKE_CHANNEL = "tmc_work"


@dataclass
class Job:
    name: str
    run: Callable[[sessionmaker[Session]], int]
    idle_interval: float  # seconds between runs while there is nothing to do
    # Deliverers wake when work is queued; periodic sweeps keep to their interval (waking every
    # job of every thread on each NOTIFY made a busy queue slow to drain).
    wake_on_notify: bool = True
    next_run: float = field(default=0.0)


# Workers running in this process (the in-process worker of `tmc serve` on SQLite): woken
# directly after a commit that queued work, so SQLite needs no fast polling.
_LOCAL_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()


def _wake_local_workers(_session: Session) -> None:
    for worker in list(_LOCAL_WORKERS):
        worker.wake_now()


def notify_workers(session: Session) -> None:
    """Wake workers after this transaction commits: by NOTIFY on PostgreSQL (every process on
    every machine), and directly for workers in this process."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {WAKE_CHANNEL}"))
    if _LOCAL_WORKERS and not session.info.get("tmc_wake_registered"):
        session.info["tmc_wake_registered"] = True

        def after_commit(committed: Session) -> None:
            committed.info.pop("tmc_wake_registered", None)
            _wake_local_workers(committed)

        def after_rollback(rolled_back: Session) -> None:
            rolled_back.info.pop("tmc_wake_registered", None)

        event.listen(session, "after_commit", after_commit, once=True)
        event.listen(session, "after_soft_rollback", after_rollback, once=True)


class Worker:
    def __init__(self, engine: Engine, jobs: Sequence[Job], concurrency: int = 1,
                 poll_seconds: float = 1.0) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self.jobs = list(jobs)
        self.concurrency = max(1, concurrency)
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.wake = threading.Event()
        # Counts wake-ups, so one that arrives while a job runs is not lost when that job, having
        # found nothing, sets its own next run (or when the wake event is cleared).
        self._wakes = 0
        self._threads: list[threading.Thread] = []

    def wake_now(self) -> None:
        self._wakes += 1
        for job in self.jobs:
            if job.wake_on_notify:
                job.next_run = 0.0
        self.wake.set()

    def start(self) -> None:
        _LOCAL_WORKERS.add(self)
        for number in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"tmc-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.engine.dialect.name == "postgresql":
            listener = threading.Thread(target=self._listen, name="tmc-worker-listen", daemon=True)
            listener.start()
            self._threads.append(listener)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the item in hand, then return (SIGTERM does this)."""
        _LOCAL_WORKERS.discard(self)
        self.stopping.set()
        self.wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def run_until_signalled(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stopping.set())
        self.start()
        log.info("worker started: %d thread(s), %d job(s)", self.concurrency, len(self.jobs))
        while not self.stopping.wait(0.5):
            pass
        log.info("worker stopping")
        self.stop()

    def run_once(self) -> int:
        """Runs every job once (tests and `tmc` commands use this)."""
        return sum(self._run_job(job) for job in self.jobs)

    def _run_job(self, job: Job) -> int:
        try:
            return job.run(self.sessionmaker)
        except Exception:
            log.exception("job %s failed", job.name)
            return 0

    def _loop(self) -> None:
        while not self.stopping.is_set():
            busy = False
            wakes_before = self._wakes
            for job in self.jobs:
                if self.stopping.is_set():
                    return
                now = time.monotonic()
                if now < job.next_run:
                    continue
                wakes_at_start = self._wakes
                handled = self._run_job(job)
                busy = busy or handled > 0
                woken_meanwhile = self._wakes != wakes_at_start
                job.next_run = now if handled or woken_meanwhile else now + job.idle_interval
            if not busy and self._wakes == wakes_before:
                self.wake.wait(self.poll_seconds)
                self.wake.clear()

    def _listen(self) -> None:
        while not self.stopping.is_set():
            try:
                self._listen_once()
            except Exception:
                log.warning("LISTEN connection lost; polling until it is back")
                self.stopping.wait(2.0)

    def _listen_once(self) -> None:
        with self.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text(f"LISTEN {WAKE_CHANNEL}"))
            raw = connection.connection.dbapi_connection
            assert raw is not None
            while not self.stopping.is_set():
                ready, _, _ = select.select([raw.fileno()], [], [], 1.0)
                if ready:
                    for _notification in raw.notifies(timeout=0, stop_after=100):
                        pass
                    self.wake_now()
