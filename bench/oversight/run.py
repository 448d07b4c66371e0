"""Oversight dashboard at scale: loads N cases' worth of rows (default 1,000,000) into a scratch
PostgreSQL database, builds the oversight roll-up (a full rebuild, then an incremental refresh
after changes in one month, then one with nothing to do), then times every dashboard table the
way the page builds it (from the roll-up), with EXPLAIN (ANALYZE, BUFFERS) of each SQL statement
it runs; `--before` also times them straight from the rows (what the page did before the
roll-up: about a minute at a million cases).

    .venv/bin/python -m bench.oversight.run [--cases 1000000] [--skip-load] [--runs 3] [--before]

The rows are made by the server (INSERT ... SELECT over generate_series), so the load measures
PostgreSQL, not a Python loop. Per case: one victim (every 5th with enhanced rights), Victims'
Code obligations (support-referral, inform-police-decision, regular-update and vps-offer for
every case, inform-cps-decision for every 2nd, vrr-police-done for every 20th: ~4.6 per case)
with a spread of statuses and met times, one notification; every 5th case a vps.recorded event;
every 100th an escalation; every 200th a review request. Results go to bench/results/ as JSON
and Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

from app.core.db import make_sessionmaker
from app.oversight import service
from bench.generate import run as generate

DATABASE = "tmc_bench_oversight"
RESULTS = Path(__file__).resolve().parents[1] / "results"

BOROUGHS = ["Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "Croydon",
            "Ealing", "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey",
            "Harrow", "Havering", "Hillingdon", "Hounslow", "Islington",
            "Kensington and Chelsea", "Kingston upon Thames", "Lambeth", "Lewisham", "Merton",
            "Newham", "Redbridge", "Richmond upon Thames", "Southwark", "Sutton",
            "Tower Hamlets", "Waltham Forest", "Wandsworth", "Westminster"]
OFFENCES = ["burglary", "theft", "violence", "sexual", "domestic_abuse", "criminal_damage",
            "fraud", "stalking_harassment"]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


# status from a hash of (case, rule): 70% met, 10% met late, 12% breached, 5% open, 3% cancelled
STATUS = """CASE WHEN h < 70 THEN 'met' WHEN h < 80 THEN 'met_late' WHEN h < 92 THEN 'breached'
                 WHEN h < 97 THEN 'open' ELSE 'cancelled' END"""

LOAD = [
    ("agencies", """
        INSERT INTO agency (id, agency_id, kind, name, created_at) VALUES
        (1, 'met-police', 'police', 'Metropolitan Police Service', now()),
        (2, 'cps-london', 'cps', 'CPS London', now()),
        (3, 'wcu-london', 'witness_care', 'Witness Care London', now()),
        (4, 'support-vs', 'support', 'Victim Support', now())"""),
    ("cases", f"""
        INSERT INTO "case" (id, crime_reference, crime_type, offence_group, borough, reported_at,
                            stage, bail_conditions, release, versions, opened_at, created_at,
                            updated_at)
        SELECT g, 'B/' || g, 'Bench offence', ({_array(OFFENCES)})[1 + g % 8],
               ({_array(BOROUGHS)})[1 + (g * 7) % 32], ts, 'investigation', '[]', '{{}}', '{{}}',
               ts, ts, ts
        FROM generate_series(1, :n) g,
             LATERAL (SELECT timestamptz '2024-01-01' + (g % 730) * interval '1 day'
                      + (g % 24) * interval '1 hour' AS ts) t"""),
    ("victims", """
        INSERT INTO victim (id, case_pk, victim_ref, given_name, family_name,
                            preferred_language, enhanced_categories, sms_allowed, email_allowed,
                            discreet, needs, version, created_at)
        SELECT g, g, 'V1', 'Bench', 'Person', 'en',
               CASE WHEN g % 5 = 0 THEN '["vulnerable"]'::jsonb ELSE '[]'::jsonb END,
               true, true, false, '[]', 'v', now()
        FROM generate_series(1, :n) g"""),
    ("obligations", f"""
        INSERT INTO obligation (case_pk, victim_pk, rule_id, origin, owner, owner_agency_pk,
                                trigger_key, trigger_at, due_at, met_at, status, enhanced,
                                created_at, updated_at)
        SELECT g, g, r.rule_id, 'event', r.owner, r.agency, 'bench:' || g, ts,
               ts + interval '5 days',
               CASE WHEN s IN ('met', 'met_late')
                    THEN ts + ((h * 37) % 96 + CASE WHEN s = 'met_late' THEN 130 ELSE 1 END)
                         * interval '1 hour' END,
               s, g % 5 = 0, ts, ts
        FROM generate_series(1, :n) g
        CROSS JOIN (VALUES ('support-referral', 'police', 1, 1, 11),
                           ('inform-police-decision', 'police', 1, 1, 23),
                           ('regular-update', 'police', 1, 1, 37),
                           ('vps-offer', 'police', 1, 1, 41),
                           ('inform-cps-decision', 'cps', 2, 2, 53),
                           ('vrr-police-done', 'police', 1, 20, 67))
             AS r(rule_id, owner, agency, every, salt),
        LATERAL (SELECT timestamptz '2024-01-01' + (g % 730) * interval '1 day' AS ts,
                        ((g::bigint * 2654435761 + r.salt) % 100)::int AS h) t,
        LATERAL (SELECT {STATUS} AS s) st
        WHERE g % r.every = 0"""),
    ("notifications", """
        INSERT INTO notification (case_pk, victim_pk, recipient, channel, "to", template,
                                  language, discreet, safety_critical, urgent, params, status,
                                  next_attempt_at, attempts, created_at)
        SELECT g, g, 'victim', CASE WHEN g % 3 = 0 THEN 'email' ELSE 'sms' END, '+447700900000',
               'case.opened', 'en', false, false, false, '{}',
               CASE WHEN g % 50 = 0 THEN 'permanent-failure'
                    WHEN g % 40 = 0 THEN 'temporary-failure' ELSE 'delivered' END,
               now(), 1, now()
        FROM generate_series(1, :n) g"""),
    ("vps_recorded_events", """
        INSERT INTO received_event (agency_pk, webhook_id, body_sha256, type, crime_reference,
                                    case_pk, occurred_at, received_at, data)
        SELECT 1, 'bench-vps-' || g, 'x', 'vps.recorded', 'B/' || g, g, now(), now(), '{}'
        FROM generate_series(5, :n, 5) g"""),
    ("escalations", """
        INSERT INTO contact_escalation (public_id, case_pk, victim_pk, reason, urgent, raised_by,
                                        raised_at, rung, holder, due_at, first_due_at, status,
                                        resolved_at, feedback, created_at)
        SELECT 'bench-' || g, g, g,
               (ARRAY['cant_reach_officer', 'something_wrong', 'unsafe', 'no_reply'])[1 + g % 4],
               g % 4 = 2, 'victim', ts, 0, 'officer', ts + interval '2 days',
               ts + interval '2 days', CASE WHEN g % 700 = 0 THEN 'open' ELSE 'resolved' END,
               CASE WHEN g % 700 = 0 THEN NULL
                    ELSE ts + ((g % 5) * 15) * interval '1 hour' END,
               (ARRAY['yes', 'no', NULL])[1 + g % 3], ts
        FROM generate_series(100, :n, 100) g,
             LATERAL (SELECT timestamptz '2024-01-01' + (g % 730) * interval '1 day' AS ts) t"""),
    ("review_requests", """
        INSERT INTO agency_request (request_id, case_pk, victim_pk, agency_pk, kind, details,
                                    status, decision, created_at)
        SELECT 'bench-' || g, g, g, 1, 'vrr', '{}',
               CASE WHEN g % 600 = 0 THEN 'submitted' ELSE 'completed' END,
               CASE WHEN g % 600 = 0 THEN NULL WHEN g % 1000 = 0 THEN 'upheld'
                    ELSE 'not_upheld' END, now()
        FROM generate_series(200, :n, 200) g"""),
]


def load(url: str, cases: int) -> dict[str, float]:
    timings = {}
    engine = create_engine(url)
    with engine.begin() as connection:
        for name, sql in LOAD:
            start = time.perf_counter()
            connection.execute(text(sql), {"n": cases})
            timings[name] = time.perf_counter() - start
            print(f"  {name}: {timings[name]:.1f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        start = time.perf_counter()
        connection.execute(text("VACUUM ANALYZE"))
        timings["vacuum_analyze"] = time.perf_counter() - start
    engine.dispose()
    return timings


def _statements(engine: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    return seen


# One month's change for the incremental refresh: open obligations of June 2025 met late.
TOUCH_ONE_MONTH = """
    UPDATE obligation SET status = 'met_late', met_at = due_at + interval '1 day',
                          updated_at = now()
    WHERE id IN (SELECT id FROM obligation WHERE status = 'open'
                 AND trigger_at >= '2025-06-01T00:00:00Z' AND trigger_at < '2025-07-01T00:00:00Z'
                 ORDER BY id LIMIT 100)"""


def build_rollup(url: str) -> dict[str, Any]:
    """Times the roll-up's full rebuild, an incremental refresh after changes in one month, and
    a refresh with nothing to do."""
    engine = create_engine(url)
    sessions = make_sessionmaker(engine)
    timings: dict[str, Any] = {}
    with sessions() as session:
        start = time.perf_counter()
        full = service.refresh(session, full=True)
        timings["full_seconds"] = time.perf_counter() - start
        assert full is not None
    with engine.begin() as connection:
        timings["touched_obligations"] = connection.execute(text(TOUCH_ONE_MONTH)).rowcount
    # as if a refresh ran just past the look-back: the next one then has nothing to do
    later = datetime.now(UTC) + service.COMMIT_LAG + timedelta(seconds=1)
    with sessions() as session:
        start = time.perf_counter()
        one = service.refresh(session, now=later)
        timings["incremental_seconds"] = time.perf_counter() - start
        assert one is not None
        timings["incremental_months"] = one.months
    with sessions() as session:
        start = time.perf_counter()
        idle = service.refresh(session, now=later + service.COMMIT_LAG * 2)
        timings["nothing_to_do_seconds"] = time.perf_counter() - start
        assert idle is not None and idle.months == []
    with engine.connect() as connection:
        timings["rollup_rows"] = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                                  for t in ("oversight_obligation_count",
                                            "oversight_duration_count",
                                            "oversight_notification_count")}
    engine.dispose()
    print(f"  roll-up: full {timings['full_seconds']:.1f} s, one month "
          f"{timings['incremental_seconds']:.2f} s {timings['incremental_months']}, nothing to do "
          f"{timings['nothing_to_do_seconds']:.3f} s; rows {timings['rollup_rows']}", flush=True)
    return timings


def measure(url: str, runs: int, source: service.Source) -> list[dict[str, Any]]:
    engine = create_engine(url)
    recorded = _statements(engine)
    sessions = make_sessionmaker(engine)
    results = []
    # the six compliance tables share one query (the cube): time it once
    for key in ("compliance-obligation", *service.OTHER_BUILDERS):
        walls = []
        for _ in range(runs):
            recorded.clear()
            with sessions() as session:
                start = time.perf_counter()
                table = service.table(session, key, source)
                walls.append(time.perf_counter() - start)
        statements = list(recorded)
        plans = []
        with engine.connect() as connection:
            for statement, parameters in statements:
                raw = connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
                plan = raw.scalar()
                plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
                plans.append({"execution_ms": plan["Execution Time"],
                              "planning_ms": plan["Planning Time"],
                              "top_node": plan["Plan"]["Node Type"]})
        assert table is not None
        results.append({"table": key, "rows": len(table.rows),
                        "wall_ms_median": statistics.median(walls) * 1000,
                        "wall_ms_runs": [w * 1000 for w in walls], "statements": plans})
        in_sql = ", ".join(f"{p['execution_ms']:.0f}" for p in plans)
        print(f"  {key}: {statistics.median(walls) * 1000:.0f} ms ({in_sql} ms in SQL)",
              flush=True)
    walls = []
    for _ in range(runs):
        with sessions() as session:
            start = time.perf_counter()
            service.dashboard(session, source)
            walls.append(time.perf_counter() - start)
    results.append({"table": "whole dashboard", "rows": None,
                    "wall_ms_median": statistics.median(walls) * 1000,
                    "wall_ms_runs": [w * 1000 for w in walls], "statements": []})
    print(f"  whole dashboard: {statistics.median(walls) * 1000:.0f} ms", flush=True)
    engine.dispose()
    return results


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                 for t in ("case", "victim", "obligation", "notification", "received_event",
                           "contact_escalation", "agency_request")}
    engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    parser.add_argument("--before", action="store_true",
                        help="also time the tables straight from the rows (once each)")
    args = parser.parse_args()
    url = generate.database_url(generate.ADMIN_URL, DATABASE)
    report: dict[str, Any] = {"cases": args.cases, "started": datetime.now(UTC).isoformat(),
                              "load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    if not args.skip_load:
        print(f"loading {args.cases} cases into {DATABASE}", flush=True)
        url = generate.recreate(generate.ADMIN_URL, DATABASE)
        start = time.perf_counter()
        report["load_seconds"] = load(url, args.cases)
        report["load_total_seconds"] = time.perf_counter() - start
    report["row_counts"] = counts(url)
    print("building the roll-up", flush=True)
    report["rollup"] = build_rollup(url)
    if args.before:
        print("measuring from the rows (before the roll-up)", flush=True)
        report["tables_from_rows"] = measure(url, 1, service.ROWS)
    print("measuring from the roll-up", flush=True)
    report["tables"] = measure(url, args.runs, service.ROLLUP)
    report["dashboard_wall_ms"] = report["tables"][-1]["wall_ms_median"]
    report["load_average_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"oversight-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"whole dashboard: {report['dashboard_wall_ms']:.0f} ms; results in {path}")


if __name__ == "__main__":
    main()
