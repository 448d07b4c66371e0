"""Where a notification worker's time goes, without HTTP ingestion or extra processes:
queues N SMS rows in a scratch PostgreSQL database, then runs the Deliverer in this process
(T threads, like `tmc worker --concurrency T`) against the local Twilio-compatible server and
reports notifications/s, SQL statements and transactions per notification, and (with
--cprofile) the top functions by CPU time.

    .venv/bin/python -m bench.notify.profile [--notifications 2000] [--threads 4] [--cprofile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import event, insert

from app.core.config import Settings
from app.core.db import make_engine, make_sessionmaker
from app.core.migrations import upgrade_to_head
from app.notifications import service
from app.notifications.models import Notification
from app.notifications.providers import TwilioSms
from bench.notify.run import scratch_database
from bench.notify.seed import one_case_and_victim
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, fake_twilio


def queue(engine, n: int) -> None:
    """One case and victim, and n SMS rows due now to n different numbers."""
    now = datetime.now(UTC)
    with make_sessionmaker(engine)() as session:
        case_pk, victim_pk = one_case_and_victim(session, "P/1")
        session.execute(insert(Notification), [
            {"case_pk": case_pk, "victim_pk": victim_pk, "recipient": "victim",
             "channel": "sms", "to": f"+447700{i:06d}", "template": "investigation.update",
             "language": "en", "discreet": False, "params": {}, "status": "created",
             "next_attempt_at": now, "created_at": now} for i in range(n)])
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    url = scratch_database("tmc_bench_notify_profile")
    upgrade_to_head(url)
    engine = make_engine(url)
    queue(engine, args.notifications)
    statements: Counter[str] = Counter()
    commits = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, _params, _context, _many) -> None:
        statements[" ".join(statement.split()[:3])[:60]] += 1

    @event.listens_for(engine, "commit")
    def committed(_conn) -> None:
        commits[0] += 1

    with fake_twilio() as fake:
        settings = Settings(env="test", database_url=url, secret_key="x" * 40,
                            sms_backend="twilio", twilio_api_base_url=fake.base_url,
                            twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                            twilio_from_number=FROM_NUMBER, notification_digest_seconds=0,
                            sms_hourly_limit=100000, sms_identical_hourly_limit=100000)
        deliverer = service.Deliverer(settings, {"sms": TwilioSms(settings),
                                                 "email": TwilioSms(settings)})
        factory = make_sessionmaker(engine)
        profiler = cProfile.Profile() if args.cprofile else None

        def loop() -> None:
            while deliverer(factory):
                pass

        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        if args.threads == 1:  # in this thread, so that cProfile sees it
            loop()
        else:
            threads = [threading.Thread(target=loop) for _ in range(args.threads)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        sent = len(fake.received)
    n = args.notifications
    print(f"{sent} sent of {n} in {elapsed:.2f} s: {sent / elapsed:.0f} notifications/s "
          f"with {args.threads} thread(s); {sum(statements.values()) / n:.2f} statements and "
          f"{commits[0] / n:.2f} commits per notification; {cpu / n * 1000:.2f} ms of CPU per "
          f"notification in this process (workers and the Twilio-compatible server)")
    for statement, times in statements.most_common(12):
        print(f"  {times / n:6.2f}  {statement}")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
    engine.dispose()



if __name__ == "__main__":
    main()
