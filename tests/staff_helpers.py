"""Shared steps of the staff console tests: sign in through the dev sign-in (the embedded
default) with any roles, and read the staff session's CSRF token for forms."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in_staff(client: Any, email: str, roles: Iterable[str] = ("officer",),
                  name: str = "Pat Officerperson") -> Any:
    """Signs in to the staff console (a fresh staff session replaces any earlier one) and
    returns the response of the sign-in POST (303 to /staff)."""
    page = client.get("/staff/dev-sign-in")
    assert page.status_code == 200, page.text[:300]
    response = client.post("/staff/dev-sign-in", data={
        "csrf_token": csrf_of(page.text), "email": email, "name": name, "roles": list(roles),
    }, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    return response


def staff_csrf(client: Any) -> str:
    """The signed-in staff session's CSRF token (for POSTs and htmx requests)."""
    page = client.get("/staff")
    assert page.status_code == 200, page.text[:300]
    return csrf_of(page.text)
