"""Overload: many victims opening their case page at once on a real server with a tiny database
pool. Every request is answered promptly, with the page or with a quick 503 and Retry-After;
none waits out the pool's timeout while the CPU idles. A database that gives no connection is a
503 after the pool's short timeout.

Before: the portal's dependency took a pooled connection in one worker thread and held it while
the route waited for another, so with more requests than connections every worker thread ended
up waiting for a connection held by a request waiting for a thread, until the pool's 30 s
timeout (issue 8, finding 2)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.live_server import serve
from tests.portal.helpers import ALEX, case_ids, open_case, sign_in

REF = "01/80001/26"
CONCURRENT = 60
PROMPTLY_SECONDS = 10.0  # generous: the stall lasted the pool timeout (30 s), the work ~1 s


async def _fetch_all(base: str, path: str, cookie: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        return await asyncio.gather(*(http.get(path, headers={"Cookie": cookie})
                                      for _ in range(CONCURRENT)))


@pytest.fixture
def signed_in(client, police, engine) -> tuple[str, str]:
    """(case page path, session cookie) of a signed-in victim."""
    open_case(police, REF, [ALEX])
    public_id = case_ids(sign_in(client, engine, REF, "1990-05-17", "+447700900123").text)[0]
    return f"/cases/{public_id}", f"tmc_session={client.cookies['tmc_session']}"


def _burst(settings, path: str, cookie: str) -> tuple[float, list[httpx.Response], int]:
    """A burst of concurrent case pages on a real server whose pool has 1 + 1 connections:
    (seconds until the last answer, the answers, the status of one more request after it)."""
    tiny = settings.model_copy(update={"db_pool_size": 1})
    with serve(tiny) as (base, _settings):
        started = time.monotonic()
        responses = asyncio.run(_fetch_all(base, path, cookie))
        elapsed = time.monotonic() - started
        again = httpx.get(f"{base}{path}", headers={"Cookie": cookie}, timeout=30)
    return elapsed, responses, again.status_code


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_no_connection_is_held_while_waiting_for_a_thread(signed_in, settings, monkeypatch):
    """With no admission limit, 60 requests on 2 connections and 40 threads: all served."""
    from app.portal import routes

    monkeypatch.setattr(routes, "IN_FLIGHT_PER_CONNECTION", 1000)
    elapsed, responses, after = _burst(settings, *signed_in)
    statuses = [r.status_code for r in responses]
    assert elapsed < PROMPTLY_SECONDS, (elapsed, statuses)
    assert statuses == [200] * CONCURRENT
    assert all("Your case" in r.text for r in responses)
    assert after == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_requests_beyond_what_the_pool_serves_promptly_are_refused_at_once(signed_in, settings):
    elapsed, responses, after = _burst(settings, *signed_in)
    statuses = [r.status_code for r in responses]
    assert elapsed < PROMPTLY_SECONDS, (elapsed, statuses)
    assert set(statuses) == {200, 503}, statuses
    for refused in (r for r in responses if r.status_code == 503):
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["cache-control"] == "no-store"
    assert after == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_no_connection_coming_free_is_a_quick_503_not_a_hang(signed_in, settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    path, cookie = signed_in
    app = create_app(settings.model_copy(update={"db_pool_size": 1}))
    taken = [app.state.engine.connect() for _ in range(2)]  # the pool's 1 + 1 connections
    try:
        with TestClient(app) as http:
            started = time.monotonic()
            refused = http.get(path, headers={"Cookie": cookie})
            elapsed = time.monotonic() - started
    finally:
        for connection in taken:
            connection.close()
        app.state.engine.dispose()
    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) > 0
    assert elapsed < PROMPTLY_SECONDS  # the pool's timeout, not SQLAlchemy's default 30 s
    # A victim gets a page, not JSON, and is told nothing was changed.
    assert refused.headers["content-type"].startswith("text/html")
    assert "Sorry, the service is busy" in refused.text
    assert "Nothing was changed" in refused.text


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_agency_event_that_gets_no_connection_is_a_503_it_retries(police, settings, engine):
    """The contract's 503 ("the portal cannot commit right now; the agency retries"), not a
    500, when every pooled connection stays busy for the pool's timeout; nothing is stored."""
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from app.agencies.models import ReceivedEvent
    from app.main import create_app

    app = create_app(settings.model_copy(update={"db_pool_size": 1}))
    taken = [app.state.engine.connect() for _ in range(2)]
    try:
        with TestClient(app) as http:
            agency = police.__class__(police.agency_id, police.kind, police.secret, http)
            body = (f'{{"type": "case.opened", "occurred_at": "2026-11-20T10:00:00Z", '
                    f'"crime_reference": "{REF}", "data": {{}}}}')
            refused = agency.post_raw(body, agency.signed_headers(body))
    finally:
        for connection in taken:
            connection.close()
        app.state.engine.dispose()
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("database-unavailable")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ReceivedEvent)) == 0


def test_no_connection_coming_free_inside_a_route_is_the_same_503(signed_in, client,
                                                                 monkeypatch):
    """The session was read, then the page's own queries found the pool empty."""
    from sqlalchemy.exc import TimeoutError as SqlPoolTimeout

    from app.portal import service

    path, _cookie = signed_in

    def pool_empty(*_args: object, **_kwargs: object) -> None:
        raise SqlPoolTimeout("QueuePool limit reached")

    with monkeypatch.context() as m:
        m.setattr(service, "case_page", pool_empty)
        refused = client.get(path)
    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["cache-control"] == "no-store"
    assert "Sorry, the service is busy" in refused.text
    assert client.get(path).status_code == 200  # its in-flight slot was given back
