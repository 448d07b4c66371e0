"""The first texts of a freshly started worker: from the commit that queues an SMS to the local
Twilio-compatible server receiving it, for the first message after start and the next ones.

    .venv/bin/python -m bench.notify.first_send [--runs 5] [--messages 3] [--threads 4]

Each run is a new Python process (the twilio SDK's lazy imports are paid once per process)
that does what `tmc worker` does: builds every job and starts a `Worker` on a scratch SQLite
database (woken in process after the commit, so the poll interval plays no part), waits for
the start-up runs to finish, then queues one SMS at a time and waits for it to arrive.
Prints, per run, how long `Worker.start()` took and each message's latency, then the medians.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

ROOT = Path(__file__).resolve().parents[2]
SETTLE_SECONDS = 1.0  # the start-up run of every job is over


def _one_case(factory: Any) -> tuple[int, int]:
    from bench.notify.seed import one_case_and_victim

    with factory() as session:
        keys = one_case_and_victim(session, "F/1")
        session.commit()
        return keys


def _queue_sms(factory: Any, case_pk: int, victim_pk: int, number: int) -> float:
    """One SMS due now, queued as the app does (the wake-up after the commit); the commit's
    time."""
    from app.core.worker import notify_workers
    from app.notifications.models import Notification
    from app.notifications.service import WAKE_TOPIC

    now = datetime.now(UTC)
    with factory() as session:
        session.add(Notification(
            case_pk=case_pk, victim_pk=victim_pk, recipient="victim", channel="sms",
            to=f"+4477009{number:05d}", template="investigation.update", language="en",
            discreet=False, params={}, status="created", next_attempt_at=now, created_at=now))
        notify_workers(session, WAKE_TOPIC)
        session.commit()
        return time.time()


def child(database: Path, messages: int, threads: int) -> dict[str, Any]:
    """One fresh worker process; its timings."""
    import app.models  # noqa: F401 - every table, as `tmc worker` imports them
    from app.core.config import Settings
    from app.core.db import make_engine
    from app.core.worker import Worker
    from app.jobs import all_jobs
    from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, fake_twilio, wait_for

    with fake_twilio() as fake:
        settings = Settings(env="test", database_url=f"sqlite:///{database}",
                            secret_key="x" * 40, in_process_worker=False,
                            sms_backend="twilio", twilio_api_base_url=fake.base_url,
                            twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                            twilio_from_number=FROM_NUMBER, notification_digest_seconds=0,
                            sms_hourly_limit=100000, sms_identical_hourly_limit=100000)
        engine = make_engine(settings.database_url)
        jobs = all_jobs(settings)
        started = time.perf_counter()
        worker = Worker(engine, jobs, concurrency=threads)
        worker.start()
        start_ms = (time.perf_counter() - started) * 1000
        try:
            time.sleep(SETTLE_SECONDS)
            assert not fake.received, "the worker sent something at start"
            case_pk, victim_pk = _one_case(worker.sessionmaker)
            latencies = []
            for k in range(messages):
                committed = _queue_sms(worker.sessionmaker, case_pk, victim_pk, k)
                assert wait_for(lambda k=k: len(fake.received) > k, timeout=30), "not sent"
                latencies.append(round((fake.received[k].at - committed) * 1000, 1))
                time.sleep(0.2)
        finally:
            worker.stop(timeout=10.0)
            engine.dispose()
    return {"start_ms": round(start_ms, 1), "latency_ms": latencies}


def _template(directory: Path) -> Path:
    from app.core.migrations import upgrade_to_head

    path = directory / "template.sqlite3"
    upgrade_to_head(f"sqlite:///{path}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh worker processes")
    parser.add_argument("--messages", type=int, default=3, help="texts queued one by one")
    parser.add_argument("--threads", type=int, default=4, help="tmc worker --concurrency")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.messages, args.threads)))
        return
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        template = _template(Path(scratch))
        for number in range(args.runs):
            database = Path(scratch) / f"run-{number}.sqlite3"
            shutil.copy(template, database)
            out = subprocess.run(
                [sys.executable, "-m", "bench.notify.first_send", "--child", str(database),
                 "--messages", str(args.messages), "--threads", str(args.threads)],
                cwd=ROOT, check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out.splitlines()[-1]))
            print(f"run {number + 1}: Worker.start() {runs[-1]['start_ms']} ms; latency of "
                  f"texts 1..{args.messages}: {runs[-1]['latency_ms']} ms")
    print(f"median of {args.runs} runs: Worker.start() "
          f"{statistics.median(r['start_ms'] for r in runs):.1f} ms; latency of texts 1.."
          f"{args.messages}: "
          + ", ".join(f"{statistics.median(r['latency_ms'][k] for r in runs):.1f}"
                      for k in range(args.messages)) + " ms")


if __name__ == "__main__":
    main()
