"""CSRF: a synchronizer token bound to the server-side session. Forms send it as the
`csrf_token` field; htmx sends it as the X-CSRF-Token header (hx-headers on <body>)."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def submitted_token(request: Request) -> str | None:
    token = request.headers.get(HEADER)
    if token:
        return token
    if request.method in SAFE_METHODS:
        return None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(FIELD)
        return value if isinstance(value, str) else None
    return None


def needs_check(request: Request) -> bool:
    """Every unsafe request, and every htmx request whatever its method."""
    return request.method not in SAFE_METHODS or is_htmx(request)


def matches(given: str | None, expected: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(given, expected))


async def is_valid(request: Request, expected: str | None) -> bool:
    if not needs_check(request):
        return True
    return matches(await submitted_token(request), expected)
