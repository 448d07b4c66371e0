"""Case-page cost at two (or more) database sizes, measured alternately within one run.

    .venv/bin/python -m bench.load.cost --databases tmc_bench_london,tmc_bench_london_100k

For each database: the app in-process (`create_app`, Starlette's test client: no sockets, no
other requests), `--sessions` victims signed in by the portal's service functions (as in
bench/load/run.py), then `--rounds` rounds that each fetch one case page from every database in
turn, so a busy machine slows every size alike. Per request: wall time, this process's CPU
time, and the SQL statements and their time (SQLAlchemy cursor events). Reports medians and
p95 per database and the ratios of each to the first (issue 8: at most 1.25 from 10,000 to
2.25 million cases), and EXPLAIN ANALYZE of the slowest statement of one request per database.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bench.generate import run as generate
from bench.load.run import case_count, settings_for, victim_sessions

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATIO = 1.25
# page: (path after /cases/{public_id}, fetched by htmx, expected status)
PAGES = {"case": ("", False, 200), "timeline": ("/timeline", True, 200),
         "poll": ("/timeline?seen={seen}", True, 204)}


class Probe:
    """One database's app, sessions and per-request measurements."""

    def __init__(self, admin_url: str, database: str, sessions: int, secret_key: str,
                 tag: str) -> None:
        from fastapi.testclient import TestClient

        from app.main import create_app

        self.database = database
        self.cases = case_count(admin_url, database) or 0
        if not self.cases:
            raise SystemExit(f"{database} has no cases: run python -m bench.generate first")
        settings = settings_for(generate.database_url(admin_url, database), secret_key)
        self.sessions = victim_sessions(settings, self.cases, sessions, 1, tag)
        self.app = create_app(settings)
        self.client = TestClient(self.app)
        self.client.__enter__()
        self.statements: list[tuple[float, str, Any]] = []
        engine = self.app.state.engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        self.samples: list[dict[str, float]] = []

    def _before(self, conn, _cursor, _statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, _cursor, statement, params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        self.statements.append((time.perf_counter() - conn.info["bench_t0"], statement, params))

    def fetch(self, i: int, page: str = "case") -> None:
        """The i-th session's `page` (PAGES: the case page, its htmx timeline fragment, or the
        timeline's background poll when nothing is new), measured."""
        s = self.sessions[i % len(self.sessions)]
        suffix, htmx, status = PAGES[page]
        headers = {"Cookie": f"tmc_session={s['token']}"}
        if htmx:
            headers |= {"HX-Request": "true", "X-CSRF-Token": s["csrf"]}
        self.statements.clear()
        cpu0, t0 = time.process_time(), time.perf_counter()
        response = self.client.get(f"/cases/{s['public_id']}" + suffix.format(seen=s["seen"]),
                                   headers=headers)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if response.status_code != status:
            raise RuntimeError(f"{self.database}: {page} answered {response.status_code}")
        self.samples.append({"wall_ms": wall * 1000, "cpu_ms": cpu * 1000,
                             "sql_ms": sum(s[0] for s in self.statements) * 1000,
                             "statements": len(self.statements)})

    def slowest_statement_plan(self) -> dict[str, Any]:
        self.fetch(0)
        seconds, statement, params = max(self.statements, key=lambda s: s[0])
        engine = self.app.state.engine
        with engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT TEXT) " + statement,
                                        params).scalars().all()
            conn.execute(text("SELECT 1"))
        return {"ms": round(seconds * 1000, 2), "statement": " ".join(statement.split())[:300],
                "plan": plan}

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"database": self.database, "cases": self.cases,
                               "requests": len(self.samples)}
        for key in ("wall_ms", "cpu_ms", "sql_ms", "statements"):
            values = sorted(s[key] for s in self.samples)
            out[key] = {"median": round(statistics.median(values), 2),
                        "p95": round(values[max(0, int(len(values) * 0.95) - 1)], 2)}
        return out

    def close(self) -> None:
        self.client.__exit__(None, None, None)


def add_probe_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a run of Probes (this module's and bench/load/versus.py's)."""
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--admin-url", default=generate.ADMIN_URL)
    parser.add_argument("--secret-key", default=generate.BENCH_SECRET_KEY)
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.cost",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--databases", required=True,
                        help="comma-separated generated databases, smallest first")
    add_probe_arguments(parser)
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    loadavg_before = Path("/proc/loadavg").read_text().split()[:3]
    probes = [Probe(args.admin_url, name.strip(), args.sessions, args.secret_key, stamp)
              for name in args.databases.split(",") if name.strip()]
    try:
        for i in range(args.warmup):
            for probe in probes:
                probe.fetch(i)
        for probe in probes:
            probe.samples.clear()
        for i in range(args.rounds):
            for probe in probes:
                probe.fetch(i)
        summaries = [p.summary() for p in probes]
        plans = {p.database: p.slowest_statement_plan() for p in probes}
    finally:
        for probe in probes:
            probe.close()
    base = summaries[0]
    ratios = {s["database"]: {key: round(s[key]["median"] / base[key]["median"], 2)
                              for key in ("wall_ms", "cpu_ms", "sql_ms")}
              for s in summaries[1:]}
    result = {"started_at": stamp, "loadavg_before": loadavg_before,
              "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
              "rounds": args.rounds, "sizes": summaries, "ratios_to_first": ratios,
              "target_ratio": TARGET_RATIO, "slowest_statement": plans}
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"case-cost-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    for s in summaries:
        print(f"{s['database']} ({s['cases']:,} cases): wall median {s['wall_ms']['median']} ms "
              f"p95 {s['wall_ms']['p95']} ms, CPU {s['cpu_ms']['median']} ms, SQL "
              f"{s['sql_ms']['median']} ms in {s['statements']['median']:.0f} statements")
    print(f"ratios to {base['database']}: {ratios}; wrote {path}")
    for name, plan in plans.items():
        print(f"{name}: slowest statement {plan['ms']} ms: {plan['statement'][:120]}")
        print("   " + "\n   ".join(plan["plan"][:6]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
