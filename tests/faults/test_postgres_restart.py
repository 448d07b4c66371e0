"""PostgreSQL restarted under load. A private PostgreSQL server (initdb in a temporary folder)
is stopped with `immediate` (as if it crashed) while agencies keep posting signed events to the
app on a real socket, then started again. While it is down the app answers 503 (problem+json)
and /readyz says so; within 5 seconds of the database being back, events are accepted again;
every event that got a 2xx is in the database afterwards (none lost), and agencies that retried
on 503 got every event in exactly once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from app.agencies import service as agencies
from app.agencies.models import ReceivedEvent
from app.core.config import Settings
from app.core.db import make_engine, make_sessionmaker
from app.core.migrations import upgrade_to_head
from tests.agency_client import AgencyClient, opened
from tests.live_server import free_port, live_server

REF = "01/77003/26"
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@dataclass
class PrivatePostgres:
    bin: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"),
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
                  "-w", "start")

    def crash(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")


@pytest.fixture
def private_postgres(tmp_path_factory) -> Iterator[PrivatePostgres]:
    binaries = _pg_bin()
    if binaries is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL server binaries are required in CI")
        pytest.skip("no PostgreSQL server binaries")
    folder = Path("/tmp") / f"tmc-pg-{os.getpid()}-{free_port()}"  # short: socket path limit
    server = PrivatePostgres(binaries, folder, free_port())
    server.init()
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Agency:
    """Posts events one after another, retrying each on 503 as the contract asks."""

    client: AgencyClient
    name: str
    accepted: list[str] = field(default_factory=list)
    unavailable: int = 0
    other: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            body = json.dumps(self.client.envelope(
                "investigation.update", REF, {"message": f"{self.name} update {n}"}))
            headers = self.client.signed_headers(body, webhook_id=f"{self.name}-{n}")
            while True:
                try:
                    status = self.client.post_raw(body, headers).status_code
                except httpx.HTTPError:
                    status = 0
                if status in (200, 202):
                    self.accepted.append(headers["webhook-id"])
                    break
                if status == 503:
                    self.unavailable += 1
                    time.sleep(0.05)
                    continue
                self.other.append(status)
                time.sleep(0.05)
                if self.stop.is_set():
                    return


def test_postgres_restart_under_load_loses_nothing_and_recovers_fast(private_postgres):
    upgrade_to_head(private_postgres.url)
    settings = Settings(env="test", database_url=private_postgres.url, secret_key=SECRET_KEY,
                        base_url="http://testserver", in_process_worker=False)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        _agency, secret = agencies.add_agency(session, SECRET_KEY, "met-police", "police",
                                              "Metropolitan Police Service")
    engine.dispose()

    with live_server(settings) as base, httpx.Client(base_url=base, timeout=10) as http:
        AgencyClient("met-police", "police", secret, http).send_ok(
            "case.opened", REF, opened(), occurred_at="2026-11-20T09:00:00Z")
        posters = [Agency(AgencyClient("met-police", "police", secret,
                                       httpx.Client(base_url=base, timeout=10)), f"a{n}")
                   for n in range(3)]
        threads = [threading.Thread(target=p.run) for p in posters]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        before_crash = sum(len(p.accepted) for p in posters)

        private_postgres.crash()
        time.sleep(0.5)
        assert http.get("/readyz").status_code == 503
        down = AgencyClient("met-police", "police", secret, http).send(
            "investigation.update", REF, {"message": "while down"})
        assert down.status_code == 503
        assert down.headers["content-type"].startswith("application/problem+json")
        time.sleep(1.0)
        accepted_while_down = sum(len(p.accepted) for p in posters)

        private_postgres.start()
        back_at = time.monotonic()
        while sum(len(p.accepted) for p in posters) == accepted_while_down:
            assert time.monotonic() - back_at < 5.0, "not accepting events 5 s after restart"
            time.sleep(0.02)
        recovered_in = time.monotonic() - back_at
        time.sleep(1.0)
        for poster in posters:
            poster.stop.set()
        for thread in threads:
            thread.join(timeout=30)

    accepted = [w for p in posters for w in p.accepted]
    assert before_crash > 0 and sum(p.unavailable for p in posters) > 0
    assert all(p.other == [] for p in posters), [p.other for p in posters]
    check = create_engine(private_postgres.url)
    with check.connect() as connection:
        stored = set(connection.scalars(select(ReceivedEvent.webhook_id).where(
            ReceivedEvent.type == "investigation.update")))
        timeline = connection.scalar(text(
            "SELECT count(*) FROM timeline_entry t JOIN received_event e ON e.id = t.event_pk "
            "WHERE e.type = 'investigation.update'"))
    check.dispose()
    assert set(accepted) <= stored, "an accepted event was lost"
    assert len(stored - set(accepted)) <= len(posters), "only the requests cut off mid-flight"
    assert timeline == len(stored)
    print(f"recovered in {recovered_in:.2f} s; {len(accepted)} accepted")
