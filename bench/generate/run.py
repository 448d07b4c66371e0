"""Loads a synthetic London into a fresh PostgreSQL database by bulk COPY.

    .venv/bin/python -m bench.generate --cases 10000 --database tmc_bench_london
    .venv/bin/python -m bench.generate --cases 2250000 --database tmc_bench_london  # full

The bulk path, step by step:
1. drop and create the database, migrate it (`upgrade_to_head`, as `tmc migrate`);
2. register the agencies with the real `app.agencies.service.add_agency` (their signing secrets
   are encrypted with the secret key the load test's servers use: `BENCH_SECRET_KEY`, or
   TMC_SECRET_KEY when set);
3. drop the secondary indexes, unique and foreign-key constraints of the tables it fills (their
   exact definitions are read from the catalogue first), like pg_restore does;
4. per chunk of cases: build each case's journey (bench/generate/journeys.py), turn it into rows
   as the receiver and the projection would (bench/generate/rows.py: the receiver's parser, the
   projection's rules), and COPY them (text format, explicit ids) in one transaction;
5. re-create the indexes and constraints as they were (so the schema is the migrated one:
   `python -m tests.alembic_check` agrees), set every sequence past the ids used, commit;
6. compute Victims' Code obligations with the real engine (`app.obligations.service.recompute`)
   for every `--obligations-every`-th case; VACUUM ANALYZE.
It records the time of each step and the database size in bench/results/generate-<time>.json.

A failure before the commit leaves no rows (one transaction); the database is the scratch one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from app.agencies import service as agencies_service
from app.cases.models import Case
from app.core.db import make_engine, make_sessionmaker
from app.core.migrations import upgrade_to_head
from app.obligations import service as obligations_service
from bench.generate.journeys import AGENCIES, journey
from bench.generate.rows import COLUMNS, TABLES, AgencyRow, Builder
from bench.ingest.run import machine_facts

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("TMC_TEST_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = "tmc_bench_london"
# Encrypts the bench agencies' signing secrets; the load test's servers get the same key.
BENCH_SECRET_KEY = os.environ.get("TMC_SECRET_KEY",
                                  "bench-london-secret-key-not-for-production-0123456789")


def database_url(admin_url: str, name: str) -> str:
    """SQLAlchemy URL of database `name` on the admin URL's server."""
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def recreate(admin_url: str, name: str) -> str:
    with psycopg.connect(libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(admin_url, name)
    upgrade_to_head(url)
    return url


def drop(admin_url: str, name: str) -> None:
    with psycopg.connect(libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def register_agencies(url: str, secret_key: str) -> dict[str, AgencyRow]:
    """The London agencies, through the real registration (existing ones are kept)."""
    from app.agencies.repository import get_agency

    engine = make_engine(url)
    rows = {}
    try:
        with make_sessionmaker(engine)() as session:
            for _key, agency_id, kind, name in AGENCIES:
                agency = get_agency(session, agency_id)
                if agency is None:
                    agency, _secret = agencies_service.add_agency(session, secret_key,
                                                                  agency_id, kind, name)
                rows[agency_id] = AgencyRow(agency.id, agency.agency_id, agency.name)
    finally:
        engine.dispose()
    return rows


def agency_secrets(url: str, secret_key: str) -> dict[str, str]:
    """agency_id -> its newest active signing secret (for agencies that post events)."""
    from app.agencies.repository import get_agency_with_active_secrets

    engine = make_engine(url)
    secrets = {}
    try:
        with make_sessionmaker(engine)() as session:
            for _key, agency_id, _kind, _name in AGENCIES:
                agency = get_agency_with_active_secrets(session, agency_id)
                if agency is not None:
                    secrets[agency_id] = agencies_service.active_secrets(agency, secret_key)[-1]
    finally:
        engine.dispose()
    return secrets


# --- deferred indexes and constraints ---------------------------------------------------------

_CONSTRAINTS = """
    SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
    FROM pg_constraint
    WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('u', 'f')
    ORDER BY contype DESC, conrelid::regclass::text, conname"""
_INDEXES = """
    SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
    FROM pg_index i
    WHERE indrelid = ANY(%s::regclass[])
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    ORDER BY 1"""


def _quoted(table: str) -> str:
    return f'"{table}"'


def drop_secondary(conn: psycopg.Connection) -> tuple[list[tuple], list[tuple]]:
    """Drops (in this transaction) the unique and foreign-key constraints and the plain indexes
    of the tables the bulk path fills, keeping primary keys; returns their definitions."""
    tables = [_quoted(t) for t in TABLES]
    constraints = conn.execute(_CONSTRAINTS, (tables,)).fetchall()
    indexes = conn.execute(_INDEXES, (tables,)).fetchall()
    for table, name, _kind, _definition in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        conn.execute(f"DROP INDEX {name}")
    return constraints, indexes


def restore_secondary(conn: psycopg.Connection, constraints: list[tuple],
                      indexes: list[tuple]) -> None:
    for _name, definition in indexes:
        conn.execute(definition)
    # unique constraints before foreign keys (ordered so by the query)
    for table, name, _kind, definition in constraints:
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def set_sequences(conn: psycopg.Connection) -> None:
    for table in TABLES:
        conn.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                     f"(SELECT max(id) FROM {_quoted(table)}))", (_quoted(table),))


# --- the load ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chunk:
    first: int
    last: int  # inclusive
    agencies: dict[str, AgencyRow]
    seed: int
    until: datetime
    years: int
    total: int
    prefix: str


@dataclass
class Built:
    text: dict[str, str]  # table -> COPY text
    rows: dict[str, int]
    events: int
    stages: dict[str, int]
    seconds: float


def build_chunk(chunk: Chunk) -> Built:
    """The COPY text of cases first..last (runs in a worker process with --jobs > 1)."""
    started = time.perf_counter()
    builder = Builder(chunk.agencies, prefix=chunk.prefix)
    lines: dict[str, list[str]] = {table: [] for table in TABLES}
    events, stages = 0, {}
    for n in range(chunk.first, chunk.last + 1):
        built = builder.case_rows(journey(chunk.seed, n, chunk.until, chunk.years, chunk.total,
                                          chunk.prefix))
        for table in TABLES:
            lines[table] += built.lines[table]
        events += built.events
        stages[built.stage] = stages.get(built.stage, 0) + 1
    return Built({t: "".join(v) for t, v in lines.items()}, {t: len(v) for t, v in lines.items()},
                 events, stages, time.perf_counter() - started)


def copy_chunk(conn: psycopg.Connection, text: dict[str, str]) -> None:
    with conn.cursor() as cur:
        for table in TABLES:
            if not text[table]:
                continue
            columns = ", ".join(f'"{c}"' for c in COLUMNS[table])
            with cur.copy(f"COPY {_quoted(table)} ({columns}) FROM STDIN") as copy:
                copy.write(text[table])


def _built_chunks(chunks: list[Chunk], jobs: int) -> Iterator[Built]:
    if jobs <= 1:
        yield from map(build_chunk, chunks)
        return
    # worker processes build the next chunks while this one COPYs
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(build_chunk, chunks)


def bulk_load(url: str, agencies: dict[str, AgencyRow], cases: int, seed: int, until: datetime,
              years: int, chunk: int = 2000, defer_indexes: bool = True, jobs: int = 1,
              prefix: str = "LDN", progress: bool = True) -> dict[str, Any]:
    """COPYs `cases` generated cases into a migrated database with no cases yet, in one
    transaction. Returns timings and counts."""
    chunks = [Chunk(first, min(first + chunk - 1, cases), agencies, seed, until, years, cases,
                    prefix) for first in range(1, cases + 1, chunk)]
    build_s = copy_s = 0.0
    events = 0
    stages: dict[str, int] = {}
    rows = dict.fromkeys(TABLES, 0)
    started = time.perf_counter()
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        if conn.execute('SELECT count(*) FROM "case"').fetchone()[0]:
            raise SystemExit("the database already has cases: the bulk path needs an empty one")
        constraints, indexes = drop_secondary(conn) if defer_indexes else ([], [])
        for part, built in zip(chunks, _built_chunks(chunks, jobs), strict=True):
            t0 = time.perf_counter()
            copy_chunk(conn, built.text)
            copy_s += time.perf_counter() - t0
            build_s += built.seconds
            events += built.events
            for table in TABLES:
                rows[table] += built.rows[table]
            for stage, count in built.stages.items():
                stages[stage] = stages.get(stage, 0) + count
            if progress:
                elapsed = time.perf_counter() - started
                print(f"  {part.last:,} cases, {events:,} events, "
                      f"{part.last / elapsed:,.0f} cases/s", flush=True)
        t3 = time.perf_counter()
        restore_secondary(conn, constraints, indexes)
        set_sequences(conn)
        t4 = time.perf_counter()
        conn.commit()
        commit_s = time.perf_counter() - t4
    return {"events": events, "rows": rows, "stages": stages,
            "seconds": {"build_rows_python": round(build_s, 2), "copy": round(copy_s, 2),
                        "indexes_and_constraints": round(t4 - t3, 2),
                        "commit": round(commit_s, 2),
                        "total": round(time.perf_counter() - started, 2)}}


def obligations_sample(url: str, every: int) -> dict[str, Any]:
    """Obligations of every `every`-th case, by the real engine."""
    if every <= 0:
        return {"cases": 0, "seconds": 0.0}
    engine = make_engine(url)
    started = time.perf_counter()
    done = 0
    try:
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            last = session.query(Case.id).order_by(Case.id.desc()).limit(1).scalar() or 0
        for first in range(every, last + 1, every * 200):
            with sessions() as session:
                for pk in range(first, min(first + every * 200, last + 1), every):
                    case = session.get(Case, pk)
                    if case is not None:
                        obligations_service.recompute(session, case)
                        done += 1
                session.commit()
    finally:
        engine.dispose()
    return {"cases": done, "every": every, "seconds": round(time.perf_counter() - started, 2)}


def vacuum_analyze(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return round(time.perf_counter() - started, 2)


def sizes(url: str) -> dict[str, Any]:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        tables = {t: conn.execute("SELECT pg_total_relation_size(%s)",
                                  (_quoted(t),)).fetchone()[0]
                  for t in (*TABLES, "obligation")}
        counts = {t: conn.execute(f"SELECT count(*) FROM {_quoted(t)}").fetchone()[0]
                  for t in (*TABLES, "obligation")}
        version = conn.execute("SHOW server_version").fetchone()[0]
    return {"database_bytes": total, "database_mib": round(total / 2**20, 1),
            "table_mib": {t: round(b / 2**20, 1) for t, b in tables.items()},
            "row_counts": counts, "postgresql": version}


def uptime() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().strip()
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def generate(args: argparse.Namespace) -> dict[str, Any]:
    until = args.until
    print(f"[generate] {args.cases:,} cases into {args.database} (seed {args.seed}, "
          f"{args.years} years to {until.date()})", flush=True)
    started = time.perf_counter()
    url = recreate(args.admin_url, args.database)
    migrate_s = time.perf_counter() - started
    agencies = register_agencies(url, args.secret_key)
    loaded = bulk_load(url, agencies, args.cases, args.seed, until, args.years, args.chunk,
                       not args.keep_indexes, args.jobs)
    print(f"[generate] loaded in {loaded['seconds']['total']:.0f} s; obligations ...",
          flush=True)
    obligations = obligations_sample(url, args.obligations_every)
    vacuum_s = vacuum_analyze(url)
    total_s = time.perf_counter() - started
    return {"migrate_and_agencies_s": round(migrate_s, 2), "load": loaded,
            "obligations": obligations, "vacuum_analyze_s": vacuum_s,
            "total_s": round(total_s, 2), "size": sizes(url)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.generate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--database", default=DATABASE, help="scratch database (dropped!)")
    parser.add_argument("--admin-url", default=ADMIN_URL,
                        help="an existing database on the server, used to create the scratch one")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--until", type=_day, default=_today(),
                        help="last day of the period (YYYY-MM-DD; default today)")
    parser.add_argument("--chunk", type=int, default=2000, help="cases per COPY batch")
    parser.add_argument("--obligations-every", type=int, default=10,
                        help="compute obligations for every n-th case (0: none)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes building rows while the main one COPYs (1: none)")
    parser.add_argument("--keep-indexes", action="store_true",
                        help="COPY with every index in place (slower; for comparison)")
    parser.add_argument("--secret-key", default=BENCH_SECRET_KEY)
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    if args.cases < 1:
        parser.error("--cases must be at least 1")
    if not args.database.startswith("tmc_bench"):
        parser.error("--database must start with tmc_bench (it is dropped and re-created)")
    return args


def _day(value: str) -> datetime:
    return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), dtime(0), UTC)


def _today() -> datetime:
    return datetime.combine(datetime.now(UTC).date(), dtime(0), UTC)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    load_before = uptime()
    result = generate(args)
    result |= {
        "started_at": stamp,
        "command": " ".join(["python -m bench.generate", *map(shlex.quote, argv or sys.argv[1:])]),
        "config": {"cases": args.cases, "database": args.database, "seed": args.seed,
                   "years": args.years, "until": args.until.date().isoformat(),
                   "chunk": args.chunk, "jobs": args.jobs,
                   "obligations_every": args.obligations_every,
                   "deferred_indexes": not args.keep_indexes},
        "loadavg_before": load_before, "loadavg_after": uptime(),
        "machine": machine_facts(result["size"]["postgresql"]),
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"generate-{args.cases}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    load = result["load"]
    print(f"[generate] {args.cases:,} cases, {load['events']:,} events "
          f"({load['events'] / args.cases:.1f} per case), stages {load['stages']}; "
          f"total {result['total_s']:.0f} s (rows {load['seconds']['build_rows_python']:.0f} s, "
          f"COPY {load['seconds']['copy']:.0f} s, indexes "
          f"{load['seconds']['indexes_and_constraints']:.0f} s, obligations "
          f"{result['obligations']['seconds']:.0f} s); database "
          f"{result['size']['database_mib']:,.0f} MiB; wrote {path}")
    return 0
