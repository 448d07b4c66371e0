"""Limits on how much a client may send, and how slowly, checked before the application reads it.

Starlette parses url-encoded forms without a size limit, uvicorn's httptools parser accepts
headers of any size, and neither has a deadline for a request's body: without this a client
could make a worker hold megabytes per request, or hold a request open for ever by trickling
its body. Every request but an agency webhook has its body read here, whole, up to
`max_body_bytes` and within `body_timeout_seconds` of its headers, before the application is
called: a slow client costs a buffer of at most that size, never a route's resources (the
portal's in-flight slots, a database connection), and a request cut off has done no work.
Agency webhooks stream their own body with their own limit and contract-shaped 413
(app/agencies/routes.py); they get the same deadline, raised from `receive` as `BodyTimeout`.
A pure ASGI middleware; its refusals are the app's problem details (app/core/problems.py),
sent by the same response class the exception handlers use, and close the connection."""

from __future__ import annotations

from typing import Any

import anyio

from app.core.problems import (
    Problem,
    body_timeout,
    body_too_large,
    headers_too_large,
    problem_response,
)

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyTimeout(Exception):
    """The request's body did not all arrive before its deadline."""


class _TooLarge(Exception):
    pass


class RequestLimitsMiddleware:
    def __init__(self, app: Any, max_body_bytes: int, max_header_bytes: int,
                 body_timeout_seconds: float, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.body_timeout_seconds = body_timeout_seconds
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if sum(len(k) + len(v) for k, v in scope["headers"]) > self.max_header_bytes:
            await _refuse(scope, receive, send, headers_too_large(
                "The request's headers are larger than this service accepts."))
            return
        if scope["path"].startswith(self.exempt_prefixes):
            await self._call_with_body_deadline(scope, receive, send)
            return
        if _declared_length(scope) > self.max_body_bytes:
            await _refuse(scope, receive, send, self._too_large())
            return
        try:
            with anyio.fail_after(self.body_timeout_seconds):
                request = await self._read_whole_body(receive)
        except _TooLarge:
            await _refuse(scope, receive, send, self._too_large())
            return
        except TimeoutError:
            await _refuse(scope, receive, send, self._too_slow())
            return
        if request is not None:  # else the client went away while sending: no one to answer
            await self.app(scope, _replaying(request, receive), send)

    async def _read_whole_body(self, receive: Any) -> Message | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _call_with_body_deadline(self, scope: Scope, receive: Any, send: Any) -> None:
        """Streams the body to the application, raising BodyTimeout from `receive` once the
        deadline passes; whoever answers that, the connection is closed after the answer."""
        deadline = anyio.current_time() + self.body_timeout_seconds
        body_done = timed_out = started = False

        async def receive_by_deadline() -> Message:
            nonlocal body_done, timed_out
            if body_done:
                return await receive()
            try:
                with anyio.fail_after(max(deadline - anyio.current_time(), 0)):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                raise BodyTimeout from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def closing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if timed_out:  # the rest of the body may still be trickling in
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, receive_by_deadline, closing_send)
        except BodyTimeout:
            if started:
                raise
            await _refuse(scope, receive, send, self._too_slow())

    def _too_large(self) -> Problem:
        return body_too_large(
            f"The request body is larger than {self.max_body_bytes // 1024} KiB.")

    def _too_slow(self) -> Problem:
        return body_timeout(
            f"The request body did not arrive within {self.body_timeout_seconds:g} seconds. "
            "Nothing was done with it.")


def _replaying(request: Message, receive: Any) -> Any:
    """A `receive` that gives the body already read, then whatever the server sends next
    (a disconnect)."""
    pending: Message | None = request

    async def replay() -> Message:
        nonlocal pending
        if pending is None:
            return await receive()
        message, pending = pending, None
        return message

    return replay


def _declared_length(scope: Scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _refuse(scope: Scope, receive: Any, send: Any, problem: Problem) -> None:
    """Answers with the problem; the connection is closed after it (the rest of the request,
    if any, is never read)."""
    await problem_response(problem, headers={"connection": "close"})(scope, receive, send)
