"""An agency event that queues a message wakes the workers' notification deliverer only: not
the other domains' deliverers, nor the periodic sweeps (each NOTIFY reaches every thread of
every worker process; bench/notify, session 3). SQLite (woken after the commit, in process)
and PostgreSQL (by NOTIFY, as another process would be)."""

from __future__ import annotations

import threading
import time
from collections import Counter

from app.core.worker import _LOCAL_WORKERS, Worker
from app.jobs import all_jobs
from tests.agency_client import opened


def _counting(jobs, runs: Counter, changed: threading.Condition):
    """The real job list (names, topics, intervals), each run only counted."""
    def counter(name: str):
        def run(_factory) -> int:
            with changed:
                runs[name] += 1
                changed.notify_all()
            return 0
        return run
    for job in jobs:
        job.run = counter(job.name)
    return jobs


def test_an_event_wakes_the_notification_deliverer_and_nothing_else(police, engine, settings):
    runs: Counter[str] = Counter()
    changed = threading.Condition()
    jobs = _counting(all_jobs(settings), runs, changed)
    worker = Worker(engine, jobs, concurrency=2, poll_seconds=30.0)
    worker.start()
    try:
        with changed:  # every job's start-up run
            assert changed.wait_for(lambda: all(runs[job.name] for job in jobs), 5.0)
        time.sleep(0.3)
        if engine.dialect.name == "postgresql":
            _LOCAL_WORKERS.discard(worker)  # only the NOTIFY can wake it
        before = Counter(runs)
        police.send_ok("case.opened", "01/60608/26", opened())
        with changed:
            assert changed.wait_for(
                lambda: runs["deliver-notifications"] > before["deliver-notifications"], 5.0)
        time.sleep(0.3)
        woken = {name for name in runs if runs[name] != before[name]}
        assert woken == {"deliver-notifications"}
        assert runs["deliver-notifications"] == before["deliver-notifications"] + 1
    finally:
        worker.stop(timeout=5.0)
