"""The generic worker loop (app/core/worker.py): a wake-up that arrives while a job is running
and finding nothing must not be lost (the job runs again at once, not after its idle interval)."""

from __future__ import annotations

import threading
import time

from app.core.worker import Job, Worker


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
    worker.start()
    try:
        assert second_run.wait(5.0), "the wake-up was lost: the job waited its idle interval"
    finally:
        worker.stop(timeout=5.0)
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
    worker.start()
    try:
        time.sleep(0.3)
        worker.wake_now()
        assert delivered_again.wait(5.0)
    finally:
        worker.stop(timeout=5.0)
    assert runs["sweep"] == 1
