"""Slow requests (slowloris) against a real uvicorn server: a body that does not all arrive within
TMC_REQUEST_BODY_TIMEOUT_SECONDS of its headers is answered 408 and does nothing, on the portal's
forms and on the agency webhook; and clients holding connections open with unfinished requests
do not stop the server answering everyone else (app/core/request_limits.py)."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlencode

import httpx
import pytest

from app.core.problems import PROBLEM_TYPE_BASE
from app.core.security_headers import CONTENT_SECURITY_POLICY
from tests.agency_client import opened
from tests.journeys import row_counts
from tests.live_server import live_server
from tests.portal.helpers import ALEX, codes_sent, csrf_of, open_case

REF = "01/20001/26"
DEADLINE_SECONDS = 1.0


@pytest.fixture
def slow_settings(settings):
    return settings.model_copy(update={"request_body_timeout_seconds": DEADLINE_SECONDS})


def test_a_form_body_trickled_past_the_deadline_is_408_and_signs_nobody_in(
        slow_settings, police, engine):
    open_case(police, REF, [ALEX])
    with live_server(slow_settings) as base, httpx.Client(base_url=base, timeout=30) as http:
        page = http.get("/sign-in")
        form = urlencode({"csrf_token": csrf_of(page.text), "crime_reference": REF,
                          "dob-day": "17", "dob-month": "05", "dob-year": "1990",
                          "role": "victim", "channel": "sms"})
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        before = row_counts(engine)
        status, headers, body = _trickled(base, "/sign-in", form.encode(), {
            "content-type": "application/x-www-form-urlencoded", "cookie": cookie})
        assert status == 408
        assert headers["content-type"] == "application/problem+json"
        assert headers["connection"] == "close"
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        problem = json.loads(body)
        assert problem["status"] == 408 and problem["type"] == PROBLEM_TYPE_BASE + "body-timeout"
        assert row_counts(engine) == before
        assert codes_sent(engine) == 0
        # The same form sent at an ordinary pace does sign in: the 408 is what stopped it.
        sent = http.post("/sign-in", content=form, follow_redirects=False, headers={
            "content-type": "application/x-www-form-urlencoded"})
        assert sent.status_code == 303, sent.text
        assert codes_sent(engine) == 1


def test_a_webhook_body_trickled_past_the_deadline_is_408_and_stores_nothing(
        slow_settings, police, engine):
    event = json.dumps(police.envelope("case.opened", REF, opened(victims=[ALEX])))
    signed = police.signed_headers(event)
    path = f"/webhooks/agencies/{police.agency_id}/events"
    with live_server(slow_settings) as base:
        before = row_counts(engine)
        status, headers, body = _trickled(base, path, event.encode(), signed)
        assert status == 408
        assert headers["content-type"] == "application/problem+json"
        assert headers["connection"] == "close"
        problem = json.loads(body)
        assert problem["status"] == 408 and problem["type"].endswith("body-timeout"), problem
        assert row_counts(engine) == before  # received_event included
        # The agency's retry of the same event, sent at an ordinary pace, is accepted.
        retried = httpx.post(base + path, content=event, headers=signed, timeout=30)
        assert retried.status_code == 202, retried.text


def test_the_server_answers_while_fifty_slow_clients_hold_connections(settings):
    """Ten clients stop half-way through their headers and forty half-way through a form body,
    more than the portal's in-flight slots (app/portal/routes.py): a liveness check, not a
    timing. Bodies are read before the application is called, so none holds a slot."""
    with live_server(settings) as base, ExitStack() as stack:
        half_headers = [stack.enter_context(_connection(base)) for _ in range(10)]
        half_bodies = [stack.enter_context(_connection(base)) for _ in range(40)]
        for sock in half_headers:
            sock.sendall(b"POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: applica")
        for sock in half_bodies:
            sock.sendall(_head("/sign-in", 1000, {
                "content-type": "application/x-www-form-urlencoded"}) + b"csrf_token=")
        started = time.monotonic()
        with httpx.Client(base_url=base, timeout=5) as http:
            assert http.get("/sign-in").status_code == 200
            assert http.get("/healthz").status_code == 200
        assert time.monotonic() - started < 5
        readable, _, _ = select.select(half_headers + half_bodies, [], [], 0)
        assert readable == [], "the slow clients were answered: they held nothing open"


def _trickled(base: str, path: str, body: bytes, headers: dict[str, str]
              ) -> tuple[int, dict[str, str], bytes]:
    """Sends the headers at once, then the body in six parts 0.4 s apart (2.4 s in all, past the
    deadline), stopping as soon as the server answers; returns the answer."""
    with _connection(base) as sock:
        sock.sendall(_head(path, len(body), headers))
        size = -(-len(body) // 6)
        for start in range(0, len(body), size):
            answered, _, _ = select.select([sock], [], [], 0.4)
            if answered:
                break
            try:
                sock.sendall(body[start:start + size])
            except OSError:  # closed by the server after its answer
                break
        return _read_answer(sock)


@contextmanager
def _connection(base: str) -> Iterator[socket.socket]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        yield sock


def _head(path: str, length: int, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The whole answer, up to the server closing the connection."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = (line.partition(":") for line in lines)
    return (int(status_line.split()[1]),
            {name.strip().lower(): value.strip() for name, _, value in fields}, body)
