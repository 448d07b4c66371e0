"""Shared steps of the portal tests: open cases as the police would, sign in as a victim or
representative with the code the dev outbox captured, and read pages."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Engine

from app.core.db import make_sessionmaker
from app.notifications import dev_outbox
from tests.agency_client import AgencyClient, opened, victim

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CASE_LINK = re.compile(r'href="/cases/([A-Za-z0-9_-]{16,})"')
CODE = re.compile(r"\b(\d{6})\b")


def is_code_message(body: str) -> bool:
    """A sign-in code message, in English or Welsh ("security code" / "cod diogelwch")."""
    return ("security code" in body or "cod diogelwch" in body) and bool(CODE.search(body))

ALEX = victim("V1", given_name="Alex", family_name="Testperson", email="alex.t@example.com",
              mobile="07700 900123", date_of_birth="1990-05-17")
SAM = victim("V2", given_name="Sam", family_name="Exampleton", email="sam.e@example.com",
             mobile="07700 900456", date_of_birth="2011-02-03",
             representative={"name": "Jo Exampleton", "relationship": "parent",
                             "email": "jo.e@example.com", "mobile": "07700 900789"})
CHRIS = victim("V1", given_name="Chris", family_name="Otherperson", email="chris.o@example.com",
               mobile="07700 900321", date_of_birth="1985-03-27")


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def open_case(police: AgencyClient, reference: str, victims: list[dict[str, Any]],
              occurred_at: str = "2026-11-19T19:00:00Z", **overrides: Any) -> None:
    police.send_ok("case.opened", reference, opened(victims=victims, **overrides),
                   occurred_at=occurred_at)


def latest_code(engine: Engine, to: str) -> str:
    with make_sessionmaker(engine)() as session:
        messages = dev_outbox.messages(session, to)
    codes = [m for m in messages if is_code_message(m.body)]
    assert codes, f"no code captured for {to}"
    match = CODE.search(codes[0].body)
    assert match, codes[0].body
    return match.group(1)


def codes_sent(engine: Engine, to: str | None = None) -> int:
    """Sign-in codes captured (other notifications of the case are not counted)."""
    with make_sessionmaker(engine)() as session:
        return sum(1 for m in dev_outbox.messages(session, to) if is_code_message(m.body))


def request_code(client: Any, reference: str, born: str, role: str = "victim",
                 channel: str = "sms") -> Any:
    page = client.get("/sign-in")
    year, month, day = born.split("-")
    return client.post("/sign-in", data={
        "csrf_token": csrf_of(page.text), "crime_reference": reference, "dob-day": day,
        "dob-month": month, "dob-year": year, "role": role, "channel": channel,
    }, follow_redirects=False)


def submit_code(client: Any, code: str) -> Any:
    page = client.get("/sign-in/code")
    return client.post("/sign-in/code", data={"csrf_token": csrf_of(page.text), "code": code},
                       follow_redirects=False)


def sign_in(client: Any, engine: Engine, reference: str, born: str, to: str,
            role: str = "victim", channel: str = "sms") -> Any:
    """Signs in and returns the 'your cases' page."""
    response = request_code(client, reference, born, role, channel)
    assert response.status_code == 303, response.text
    done = submit_code(client, latest_code(engine, to))
    assert done.status_code == 303 and done.headers["location"] == "/cases", done.text
    return client.get("/cases")


def case_ids(html: str) -> list[str]:
    return list(dict.fromkeys(CASE_LINK.findall(html)))
