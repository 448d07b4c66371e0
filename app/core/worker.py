"""The background worker: runs each domain's jobs (deliveries, sweeps) until told to stop.

Jobs are plain functions `run(sessionmaker) -> int` returning how many items they handled; a job
that handled something runs again at once, an idle one waits for its interval or a wake-up.
On PostgreSQL, wake-ups come by LISTEN/NOTIFY on the `tmc_work` channel, so a notification
queued by any app process on any machine is picked up at once; on SQLite the worker polls.
Any number of workers may run against one PostgreSQL database: jobs claim rows with
FOR UPDATE SKIP LOCKED, so no row is handled twice.

A wake-up names a topic (the NOTIFY payload) and runs only the jobs of that topic (a wake-up
without one runs every job that wakes on NOTIFY), on one idle thread: every NOTIFY reaches every
worker process, and waking every job of every thread made each queued message cost a dozen
empty claims, which on a busy machine was the latency tail (bench/notify).
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

from app.core.db import make_sessionmaker

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
    # The wake-ups that run it: those naming this topic (`notify_workers(session, topic)`) and
    # those naming none.
    topic: str | None = None
    # Run once by `Worker.start`, before any thread runs a job: builds what the first run would
    # otherwise build while a message waits (a provider's client and the modules it imports).
    warm_up: Callable[[sessionmaker[Session]], None] | None = None
    next_run: float = field(default=0.0)
    wakes: int = field(default=0)  # wake-ups for this job so far (see Worker._run_due_jobs)

    def wakes_for(self, topic: str | None) -> bool:
        return self.wake_on_notify and (topic is None or topic == self.topic)


class AtMostEvery:
    """A periodic job that does not run more often than every `seconds` (per process), however
    many threads find it due. A run that found work may run again at once, to drain it."""

    def __init__(self, run: Callable[[sessionmaker[Session]], int], seconds: float) -> None:
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


def periodic(name: str, run: Callable[[sessionmaker[Session]], int], seconds: float) -> Job:
    """A sweep that runs every `seconds`, not on wake-ups, at most once per process per period."""
    return Job(name, AtMostEvery(run, seconds), idle_interval=seconds, wake_on_notify=False)


# Workers running in this process (the in-process worker of `tmc serve` on SQLite): woken
# directly after a commit that queued work, so SQLite needs no fast polling.
_LOCAL_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()


def _wake_local_workers(topics: set[str | None]) -> None:
    for worker in list(_LOCAL_WORKERS):
        for topic in topics:
            worker.wake_now(topic)


def notify_workers(session: Session, topic: str | None = None) -> None:
    """Wake workers after this transaction commits: by NOTIFY on PostgreSQL (every process on
    every machine), and directly for workers in this process. `topic` (the domain whose work
    was queued, as its jobs' `Job.topic`) wakes only those jobs; None wakes every deliverer."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :topic)"),
                        {"channel": WAKE_CHANNEL, "topic": topic or ""})
    if not _LOCAL_WORKERS:
        return
    topics = session.info.get("tmc_wake_topics")
    if topics is not None:
        topics.add(topic)
        return
    session.info["tmc_wake_topics"] = {topic}

    def after_commit(committed: Session) -> None:
        _wake_local_workers(committed.info.pop("tmc_wake_topics", set()))

    def after_rollback(rolled_back: Session) -> None:
        rolled_back.info.pop("tmc_wake_topics", None)

    event.listen(session, "after_commit", after_commit, once=True)
    event.listen(session, "after_soft_rollback", after_rollback, once=True)


class Worker:
    def __init__(self, engine: Engine, jobs: Sequence[Job], concurrency: int = 1,
                 poll_seconds: float = 1.0) -> None:
        self.engine = engine
        self.sessionmaker = make_sessionmaker(engine)
        self.jobs = list(jobs)
        self.concurrency = max(1, concurrency)
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        # Guards the jobs' next_run and wakes, and the wake-ups not yet taken by a thread.
        self._idle = threading.Condition()
        self._pending = 0
        self._threads: list[threading.Thread] = []

    def wake_now(self, topic: str | None = None) -> None:
        """Makes the jobs of `topic` due and hands the wake-up to one idle thread (or to the
        next thread to finish what it is doing). One thread, not all: every worker process
        gets every NOTIFY, and the thread that claims finds everything due by then."""
        with self._idle:
            woken = [job for job in self.jobs if job.wakes_for(topic)]
            for job in woken:
                job.next_run = 0.0
                job.wakes += 1
            if woken:
                self._pending = min(self._pending + 1, self.concurrency)
                self._idle.notify()

    def start(self) -> None:
        self._warm_up()
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
        with self._idle:
            self._idle.notify_all()
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

    def _warm_up(self) -> None:
        for job in self.jobs:
            if job.warm_up is None:
                continue
            try:
                job.warm_up(self.sessionmaker)
            except Exception:  # its first run tries again, and logs why it fails
                log.exception("warming up job %s failed", job.name)

    def _run_job(self, job: Job) -> int:
        try:
            return job.run(self.sessionmaker)
        except Exception:
            log.exception("job %s failed", job.name)
            return 0

    def _loop(self) -> None:
        while not self.stopping.is_set():
            if not self._run_due_jobs():
                self._wait_for_work()

    def _run_due_jobs(self) -> bool:
        """Runs every job that is due; whether any handled something."""
        busy = False
        for job in self.jobs:
            if self.stopping.is_set():
                break
            started = time.monotonic()
            with self._idle:
                if started < job.next_run:
                    continue
                wakes = job.wakes
            handled = self._run_job(job)
            busy = busy or handled > 0
            with self._idle:  # under the lock: a wake-up cannot slip in before next_run is set
                woken_meanwhile = job.wakes != wakes
                job.next_run = started if handled or woken_meanwhile \
                    else started + job.idle_interval
        return busy

    def _wait_for_work(self) -> None:
        """Sleeps until this thread takes a wake-up, or for the poll interval (periodic jobs,
        rows that came due by the clock). A wake-up handed out while every thread was busy is
        taken at once by the first to finish."""
        deadline = time.monotonic() + self.poll_seconds
        with self._idle:
            while not self._pending and not self.stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._idle.wait(remaining)
            if self._pending:
                self._pending -= 1

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
                    topics = {notification.payload or None
                              for notification in raw.notifies(timeout=0, stop_after=100)}
                    for topic in topics:
                        self.wake_now(topic)
