"""Size limits on what a client may send, checked before the application reads it.

Starlette parses url-encoded forms without a size limit and uvicorn's httptools parser accepts
headers of any size, so without this a client could make a worker hold megabytes per request.
Agency webhooks have their own limit and contract-shaped 413 (app/agencies/routes.py); every
other route gets these. A pure ASGI middleware: nothing is buffered."""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]


class _TooLarge(Exception):
    pass


class RequestLimitsMiddleware:
    def __init__(self, app: Any, max_body_bytes: int, max_header_bytes: int,
                 exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if sum(len(k) + len(v) for k, v in scope["headers"]) > self.max_header_bytes:
            await _refuse(send, 431, "Request headers too large",
                          "The request's headers are larger than this service accepts.")
            return
        if scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_body_bytes:
            await _refuse(send, 413, "Request too large", self._too_large_detail())
            return
        await self._call_counting(scope, receive, send)

    async def _call_counting(self, scope: Scope, receive: Any, send: Any) -> None:
        received = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await _refuse(send, 413, "Request too large", self._too_large_detail())

    def _too_large_detail(self) -> str:
        return f"The request body is larger than {self.max_body_bytes // 1024} KiB."


def _declared_length(scope: Scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _refuse(send: Any, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status,
                       "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
