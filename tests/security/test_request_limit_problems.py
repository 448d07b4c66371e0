"""RequestLimitsMiddleware's refusals (413, 431, 408) are the app's problem details: a
urn:tmc:problem: type from app/core/problems.py, the same type and title as the agency webhook's
own 413 and 408 for the same problem, application/problem+json, and the connection closed."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from app.core.problems import PROBLEM_TYPE_BASE
from app.core.request_limits import RequestLimitsMiddleware

Message = dict[str, Any]


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The application behind the middleware: reads the whole body, answers 200."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(path: str, headers: list[tuple[bytes, bytes]], messages: list[Message],
          hang_after: bool = False) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request through the middleware (limits: 1 KiB body, 2 KiB headers, 0.2 s for the
    body; /hooks/ streams its own body); returns the status, headers and parsed body."""
    middleware = RequestLimitsMiddleware(_echo, max_body_bytes=1024, max_header_bytes=2048,
                                         body_timeout_seconds=0.2, exempt_prefixes=("/hooks/",))
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    pending = list(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if hang_after:  # a client trickling its body: nothing more arrives
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        await middleware(scope, receive, send)

    anyio.run(run)
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


def _chunk(size: int, more: bool) -> Message:
    return {"type": "http.request", "body": b"x" * size, "more_body": more}


@pytest.mark.parametrize("case,status,slug,title", [
    ("declared-too-large", 413, "body-too-large", "Request too large"),
    ("streamed-too-large", 413, "body-too-large", "Request too large"),
    ("headers-too-large", 431, "headers-too-large", "Request headers too large"),
    ("body-too-slow", 408, "body-timeout", "Request timeout"),
    ("webhook-body-too-slow", 408, "body-timeout", "Request timeout"),
])
def test_refusals_are_the_apps_problem_details(case, status, slug, title):
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    calls = {
        "declared-too-large": lambda: _call("/sign-in", [*form, (b"content-length", b"5000")],
                                            [_chunk(5000, False)]),
        "streamed-too-large": lambda: _call("/sign-in", form,
                                            [_chunk(600, True), _chunk(600, False)]),
        "headers-too-large": lambda: _call("/sign-in", [(b"x-flood", b"a" * 3000)], []),
        "body-too-slow": lambda: _call("/sign-in", form, [_chunk(10, True)], hang_after=True),
        # the webhook streams its own body; a deadline it does not answer itself is answered
        # here the same way
        "webhook-body-too-slow": lambda: _call("/hooks/x", [], [_chunk(10, True)],
                                               hang_after=True),
    }
    got_status, headers, body = calls[case]()
    problem = json.loads(body)
    assert got_status == status
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"connection"] == b"close"
    assert problem["type"] == PROBLEM_TYPE_BASE + slug, problem
    assert problem["title"] == title and problem["status"] == status
    assert problem["detail"]


def test_a_small_request_on_time_reaches_the_application():
    status, _headers, body = _call("/sign-in", [], [_chunk(10, False)])
    assert (status, body) == (200, b"ok")


def test_a_form_and_the_webhook_refuse_a_large_body_with_one_problem_type(client):
    """The portal's 413 (the middleware) and the webhook's contract-shaped 413 (its own) are
    one problem: same type, same title."""
    big = b"x" * (300 * 1024)  # over both limits (forms 128 KiB, webhook 256 KiB)
    form = client.post("/sign-in", content=big, headers={
        "content-type": "application/x-www-form-urlencoded"})
    webhook = client.post("/webhooks/agencies/met-police/events", content=big,
                          headers={"content-type": "application/json"})
    assert form.status_code == webhook.status_code == 413
    for response in (form, webhook):
        assert response.headers["content-type"] == "application/problem+json"
    assert form.json()["type"] == webhook.json()["type"] == PROBLEM_TYPE_BASE + "body-too-large"
    assert form.json()["title"] == webhook.json()["title"] == "Request too large"
