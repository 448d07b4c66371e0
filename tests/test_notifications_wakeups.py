"""Queued work wakes only the workers' deliverer of its domain: an agency event that queues a
message the notification deliverer, a victim's request to an agency the outbound webhook
deliverer, a staff email the staff email deliverer; never the other domains' deliverers nor the
periodic sweeps (each NOTIFY reaches every thread of every worker process; bench/notify,
session 3). SQLite (woken after the commit, in process) and PostgreSQL (by NOTIFY, as another
process would be)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import select, update

from app.agencies.models import Agency
from app.contact import service as contact
from app.core.worker import _LOCAL_WORKERS, Worker
from app.jobs import all_jobs
from app.outbound import service as outbound
from tests.agency_client import opened
from tests.contact.helpers import OIC_EMAIL, open_case_with_officers, the_case
from tests.entitlements.outbound_helpers import case_with_cps, fresh, set_endpoint, submit


def _counting(jobs, runs: Counter, changed: threading.Condition):
    """The real job list (names, topics), each run only counted, and none due by the clock
    while a test runs: a woken thread also runs whatever its interval made due."""
    def counter(name: str):
        def run(_factory) -> int:
            with changed:
                runs[name] += 1
                changed.notify_all()
            return 0
        return run
    for job in jobs:
        job.run, job.idle_interval = counter(job.name), 60.0
    return jobs


WokenBy = Callable[[Callable[[], object], str], dict[str, int]]


@contextmanager
def counting_worker(engine, settings) -> Iterator[WokenBy]:
    """A worker of the real jobs, started and settled; yields `woken_by(queue_work, job)`: the
    runs of each job that `queue_work` woke, once `job` has run."""
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
            time.sleep(0.5)  # LISTEN is set up

        def woken_by(queue_work: Callable[[], object], job: str) -> dict[str, int]:
            before = Counter(runs)
            queue_work()
            with changed:
                assert changed.wait_for(lambda: runs[job] > before[job], 5.0), f"{job} slept"
            time.sleep(0.3)
            return {name: runs[name] - before[name] for name in runs if runs[name] != before[name]}

        yield woken_by
    finally:
        worker.stop(timeout=5.0)


def test_an_event_wakes_the_notification_deliverer_and_nothing_else(police, engine, settings):
    with counting_worker(engine, settings) as woken_by:
        woken = woken_by(lambda: police.send_ok("case.opened", "01/60608/26", opened()),
                         "deliver-notifications")
    assert woken == {"deliver-notifications": 1}


def _disable_endpoint(engine, agency_id: str) -> None:
    with fresh(engine) as session:
        session.execute(update(Agency).where(Agency.agency_id == agency_id)
                        .values(endpoint_disabled_at=datetime.now(UTC)))
        session.commit()


def _resume_endpoint(engine, agency_id: str) -> None:
    with fresh(engine) as session:
        agency = session.scalars(select(Agency).where(Agency.agency_id == agency_id)).one()
        assert outbound.resume_endpoint(session, agency) == 1
        session.commit()


def test_a_request_to_an_agency_wakes_the_outbound_deliverer_and_nothing_else(
        registry, police, engine, settings):
    case_with_cps(registry, police)
    set_endpoint(engine, "cps-london", "http://127.0.0.1:9/never-called")
    _disable_endpoint(engine, "cps-london")  # as after a 410 Gone
    submit(engine, victim_ref="V2")  # parked until an operator enables the endpoint again
    with counting_worker(engine, settings) as woken_by:
        resumed = woken_by(lambda: _resume_endpoint(engine, "cps-london"),
                           "deliver-outbound-webhooks")
        submitted = woken_by(lambda: submit(engine), "deliver-outbound-webhooks")
    assert resumed == {"deliver-outbound-webhooks": 1}
    assert submitted == {"deliver-outbound-webhooks": 1}


def test_a_staff_email_wakes_the_staff_email_deliverer_and_nothing_else(
        police, session, engine, settings):
    open_case_with_officers(police)
    case_pk = the_case(session).id
    session.commit()

    def queue_email() -> None:
        contact.queue_staff_email(session, case_pk, OIC_EMAIL, "new_message",
                                  datetime.now(UTC))
        session.commit()

    with counting_worker(engine, settings) as woken_by:
        woken = woken_by(queue_email, "deliver-staff-emails")
    assert woken == {"deliver-staff-emails": 1}
