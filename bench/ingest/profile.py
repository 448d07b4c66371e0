"""Where the time of one ingested event goes: round trips, SQL statements, Python functions.

    .venv/bin/python -m bench.ingest.profile --events 3000

Calls `app.agencies.service.ingest` directly (no HTTP, one process, one thread) on the same event
mix as the benchmark, on a scratch PostgreSQL database, after a warm-up. A first pass without
the profiler gives wall and CPU milliseconds per event (wall minus CPU is mostly waiting for
PostgreSQL); a second pass under cProfile (CPU-time timer by default) gives, per event type, the
SQL statements per event, the statements by kind and table, psycopg's own commands (BEGIN,
COMMIT, pings), the self time per package and the hottest functions. Writes the raw stats to
bench/results/ingest-profile.pstats (open with `python -m pstats` or snakeviz).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: make `bench.ingest` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import event as sa_event
from standardwebhooks.webhooks import Webhook

from bench.ingest.journeys import AGENCIES, Event, long_case, make_cases
from bench.ingest.run import ROOT, db_urls, drop_database, recreate_database

_STATEMENT = re.compile(r'^\s*(\w+)(?:.*?\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?)?', re.S | re.I)


def statement_kind(sql: str) -> str:
    match = _STATEMENT.match(sql)
    if not match:
        return sql[:30]
    verb = match.group(1).upper()
    table = sql.split()[1].strip('"') if verb == "UPDATE" else match.group(2) or ""
    return f"{verb} {table}".strip()


def package_of(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/app/" in filename:
        return "app/" + filename.split("/app/", 1)[1].split("/", 1)[0]
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins/C"
    return "stdlib"


def _count_psycopg_commands() -> Counter[str]:
    """Counts the commands psycopg sends by itself (BEGIN, COMMIT, ROLLBACK, pings)."""
    from psycopg._connection_base import BaseConnection

    counts: Counter[str] = Counter()
    original = BaseConnection._exec_command

    def counting(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        text = command.decode() if isinstance(command, bytes) else str(command)
        counts[text.split()[0].upper() if text.strip() else repr(text)] += 1
        return original(self, command, *args, **kwargs)

    BaseConnection._exec_command = counting  # type: ignore[method-assign]
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest.profile",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--db", default="tmc_bench_profile", help="scratch database (dropped!)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--long-case", type=int, default=300, metavar="N",
                        help="also time N updates into one case (0: skip)")
    parser.add_argument("--timer", choices=["cpu", "wall"], default="cpu",
                        help="cProfile clock: process CPU time (default) or wall time")
    args = parser.parse_args(argv)

    from app.agencies import service
    from app.core.config import Settings
    from app.core.db import make_engine, make_sessionmaker
    from app.core.migrations import upgrade_to_head

    recreate_database(args.admin_url, args.db)
    _plain, url = db_urls(args.admin_url, args.db)
    try:
        upgrade_to_head(url)
        settings = Settings(database_url=url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        hooks = {}
        with factory() as session:
            for agency_id, kind, name in AGENCIES:
                _agency, secret = service.add_agency(session, settings.secret_key, agency_id,
                                                     kind, name)
                hooks[agency_id] = Webhook(secret)

        statements: list[str] = []
        sa_event.listen(engine, "before_cursor_execute",
                        lambda _c, _cur, sql, *_a: statements.append(sql))
        commands = _count_psycopg_commands()

        def ingest(ev: Event) -> None:
            now = datetime.now(UTC)
            headers = {"webhook-id": ev.webhook_id, "webhook-timestamp": str(int(now.timestamp())),
                       "webhook-signature": hooks[ev.agency_id].sign(ev.webhook_id, now, ev.body),
                       "content-type": "application/json"}
            with factory() as session:  # what the route does: a session per request
                outcome = service.ingest(session, settings.secret_key, ev.agency_id,
                                         ev.body.encode(), headers)
            assert outcome.status == 202, outcome

        for case in make_cases(args.warmup, "PW", 2):
            for ev in case:
                ingest(ev)

        # Pass 1: no profiler. Wall and CPU time per event.
        plain_cases = make_cases(args.events, "PP", 3)
        n_plain = sum(len(c) for c in plain_cases)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for case in plain_cases:
            for ev in case:
                ingest(ev)
        plain_wall = (time.perf_counter() - wall0) / n_plain * 1000
        plain_cpu = (time.process_time() - cpu0) / n_plain * 1000

        # Per-event cost as one case grows (no profiler).
        growth: list[float] = []
        for ev in long_case(args.long_case) if args.long_case else []:
            cpu_start = time.process_time()
            ingest(ev)
            growth.append((time.process_time() - cpu_start) * 1000)

        # Pass 2: under cProfile, with statements counted.
        per_type_time: dict[str, list[float]] = defaultdict(list)
        per_type_sql: dict[str, list[int]] = defaultdict(list)
        kinds: Counter[str] = Counter()
        commands.clear()
        profiler = cProfile.Profile(time.process_time if args.timer == "cpu"
                                    else time.perf_counter)
        cases = make_cases(args.events, "PM", 1)
        started = time.perf_counter()
        for case in cases:
            for ev in case:
                event_type = ev.body.split('"type":"', 1)[1].split('"', 1)[0]
                statements.clear()
                t0 = time.perf_counter()
                profiler.enable()
                ingest(ev)
                profiler.disable()
                per_type_time[event_type].append(time.perf_counter() - t0)
                per_type_sql[event_type].append(len(statements))
                kinds.update(statement_kind(s) for s in statements)
        wall = time.perf_counter() - started
        engine.dispose()
    finally:
        drop_database(args.admin_url, args.db)

    total = sum(len(v) for v in per_type_time.values())
    sql_total = sum(sum(v) for v in per_type_sql.values())
    print(f"Without profiler: {n_plain} events, one thread: {plain_wall:.2f} ms wall and "
          f"{plain_cpu:.2f} ms CPU per event ({1000 / plain_wall:.0f} events/s; wall - CPU = "
          f"{plain_wall - plain_cpu:.2f} ms waiting, mostly on PostgreSQL)")
    if growth:
        def mean(xs: list[float]) -> float:
            return sum(xs) / len(xs)
        marks = [("events 2-21", growth[1:21])] + [
            (f"events {k - 19}-{k}", growth[k - 20:k]) for k in (100, 200, 300, 500, 1000)
            if k <= len(growth)]
        print("One case growing (CPU ms per event, no profiler): " + ", ".join(
            f"{label}: {mean(xs):.2f}" for label, xs in marks))
    print(f"Under cProfile: {total} events in {wall:.2f}s, {sql_total / total:.1f} SQL statements"
          f" and {sum(commands.values()) / total:.1f} psycopg commands per event "
          "(round trips ~ the sum; the pool does not pre-ping); profiled times are "
          "inflated, compare them with each other\n")
    print(f"{'event type':<24} {'n':>6} {'ms/event':>9} {'SQL/event':>10}")
    for event_type, times in sorted(per_type_time.items(), key=lambda kv: -len(kv[1])):
        sql = per_type_sql[event_type]
        print(f"{event_type:<24} {len(times):>6} {sum(times) / len(times) * 1000:>9.2f} "
              f"{sum(sql) / len(sql):>10.1f}")
    print("\nSQL statements per event by kind:")
    for kind, n in kinds.most_common():
        print(f"  {n / total:6.2f}  {kind}")

    print("psycopg commands per event (outside cursor.execute):")
    for command, n in commands.most_common():
        print(f"  {n / total:6.2f}  {command}")

    stats = pstats.Stats(profiler)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stats.dump_stats(str(out_dir / "ingest-profile.pstats"))
    by_package: Counter[str] = Counter()
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_package[package_of(filename)] += tottime
    grand = sum(by_package.values())
    print(f"\nSelf time by package (cProfile, {args.timer} clock):")
    for package, seconds in by_package.most_common(15):
        print(f"  {seconds / grand * 100:5.1f}%  {seconds / total * 1000:6.3f} ms/event  {package}")
    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\nTop {args.top} by {order}:")
        print(buffer.getvalue().split("\n\n", 2)[-1].rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
