"""The generic worker loop (app/core/worker.py): a wake-up that arrives while a job is running
and finding nothing must not be lost (the job runs again at once, not after its idle interval);
a wake-up runs the jobs of its topic on one thread, not every job on every thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.worker import _LOCAL_WORKERS, Job, Worker, notify_workers, periodic


@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=5.0)


def test_a_wake_up_during_an_idle_run_is_not_lost(engine):
    runs: list[float] = []
    second_run = threading.Event()

    def job(_factory) -> int:
        runs.append(time.monotonic())
        if len(runs) == 1:
            worker.wake_now()  # work queued while this run was looking (and found nothing)
        else:
            second_run.set()
        return 0

    worker = Worker(engine, [Job("probe", job, idle_interval=30.0)], poll_seconds=30.0)
    with running(worker):
        assert second_run.wait(5.0), "the wake-up was lost: the job waited its idle interval"
    assert runs[1] - runs[0] < 1.0


def test_an_idle_job_waits_its_interval_without_wake_ups(engine):
    runs: list[float] = []
    worker = Worker(engine, [Job("probe", lambda _f: runs.append(time.monotonic()) or 0,
                                 idle_interval=30.0)], poll_seconds=0.05)
    worker.start()
    time.sleep(0.5)
    worker.stop(timeout=5.0)
    assert len(runs) == 1


def test_wake_ups_run_the_deliverers_not_the_periodic_sweeps(engine):
    runs = {"deliver": 0, "sweep": 0}
    delivered_again = threading.Event()

    def deliver(_factory) -> int:
        runs["deliver"] += 1
        if runs["deliver"] > 1:
            delivered_again.set()
        return 0

    def sweep(_factory) -> int:
        runs["sweep"] += 1
        return 0

    worker = Worker(engine, [Job("deliver", deliver, idle_interval=30.0),
                             Job("sweep", sweep, idle_interval=30.0, wake_on_notify=False)],
                    poll_seconds=30.0)
    with running(worker):
        time.sleep(0.3)
        worker.wake_now()
        assert delivered_again.wait(5.0)
    assert runs["sweep"] == 1


def test_a_periodic_job_runs_once_per_period_unless_it_found_work():
    found = iter([2, 0, 5])  # what each run finds to do

    def sweep(_factory) -> int:
        return next(found)

    job = periodic("sweep", sweep, seconds=3600.0)
    assert not job.wake_on_notify and job.idle_interval == 3600.0
    # Found work: may run again at once, to drain it; found none: not again within the hour,
    # whichever of the worker's threads finds it due.
    assert [job.run(None) for _ in range(4)] == [2, 0, 0, 0]  # type: ignore[arg-type]
    assert next(found) == 5


class Runs:
    """Counts a job's runs; `slow` seconds each after the first `fast` runs."""

    def __init__(self, slow: float = 0.0, fast: int = 1) -> None:
        self.count, self.slow, self.fast = 0, slow, fast
        self.changed = threading.Condition()

    def __call__(self, _factory) -> int:
        with self.changed:
            self.count += 1
            number = self.count
            self.changed.notify_all()
        if number > self.fast:
            time.sleep(self.slow)
        return 0

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= count, timeout)


def _settle() -> None:
    time.sleep(0.3)  # the start-up run of every job, on every thread, is over


def test_a_wake_up_runs_the_job_on_one_thread_not_on_every_thread(engine):
    # Every worker process gets every NOTIFY: waking all of its threads made each queued message
    # cost one claim per thread, most of them finding nothing (bench/notify, session 3).
    runs = Runs(slow=0.2)
    worker = Worker(engine, [Job("deliver", runs, idle_interval=30.0)], concurrency=4,
                    poll_seconds=30.0)
    with running(worker):
        _settle()
        before = runs.count
        worker.wake_now()
        assert runs.wait_for(before + 1)
        time.sleep(0.5)  # while that run is slow, the three other threads stay asleep
        assert runs.count == before + 1


def test_a_wake_up_while_every_thread_is_busy_is_taken_by_the_first_to_finish(engine):
    started, release = threading.Event(), threading.Event()
    runs = Runs()

    def busy(_factory) -> int:
        if not started.is_set():
            started.set()
            release.wait(5.0)
        return 0

    worker = Worker(engine, [Job("deliver", runs, idle_interval=30.0),
                             Job("busy", busy, idle_interval=30.0, wake_on_notify=False)],
                    poll_seconds=30.0)
    with running(worker):
        assert started.wait(5.0)  # "deliver" ran once; the only thread is now in "busy"
        worker.wake_now()
        release.set()
        assert runs.wait_for(2), "the wake-up was lost: the job waited its idle interval"


def test_a_job_that_handled_a_partial_batch_runs_again_at_once(engine):
    runs: list[float] = []
    again = threading.Event()

    def job(_factory) -> int:
        runs.append(time.monotonic())
        if len(runs) == 2:
            again.set()
        return 3 if len(runs) == 1 else 0  # fewer than a batch: more may have come meanwhile

    worker = Worker(engine, [Job("deliver", job, idle_interval=30.0)], poll_seconds=30.0)
    with running(worker):
        assert again.wait(5.0), "the job slept after handling work"


def _topic_jobs() -> tuple[dict[str, Runs], list[Job]]:
    runs = {"x": Runs(), "other": Runs(), "sweep": Runs()}
    return runs, [Job("deliver-x", runs["x"], idle_interval=30.0, topic="x"),
                  Job("deliver-other", runs["other"], idle_interval=30.0),
                  Job("sweep", runs["sweep"], idle_interval=30.0, wake_on_notify=False)]


def test_a_wake_up_naming_a_topic_runs_only_that_topics_jobs(engine):
    runs, jobs = _topic_jobs()
    worker = Worker(engine, jobs, concurrency=2, poll_seconds=30.0)
    with running(worker):
        _settle()
        before = {name: r.count for name, r in runs.items()}
        worker.wake_now("x")
        assert runs["x"].wait_for(before["x"] + 1)
        _settle()
        worker.wake_now()  # no topic: every job that wakes on NOTIFY
        assert runs["other"].wait_for(before["other"] + 1)
        assert runs["x"].wait_for(before["x"] + 2)
        time.sleep(0.2)
        assert runs["other"].count == before["other"] + 1
        assert runs["sweep"].count == before["sweep"]


def test_notify_workers_topic_reaches_the_jobs_of_that_topic(engine, session):
    """On PostgreSQL by NOTIFY from any process (here a separate connection, as another app
    process would); on SQLite directly, after the commit."""
    runs, jobs = _topic_jobs()
    worker = Worker(engine, jobs, concurrency=2, poll_seconds=30.0)
    with running(worker):
        _settle()
        before = {name: r.count for name, r in runs.items()}
        if engine.dialect.name == "postgresql":
            _LOCAL_WORKERS.discard(worker)  # only the NOTIFY can wake it
            time.sleep(0.5)  # LISTEN is set up
        notify_workers(session, "x")
        assert runs["x"].count == before["x"]  # not before the commit
        session.commit()
        assert runs["x"].wait_for(before["x"] + 1)
        time.sleep(0.2)
        assert runs["other"].count == before["other"]
        assert runs["sweep"].count == before["sweep"]
