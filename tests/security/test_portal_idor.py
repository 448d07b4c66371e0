"""IDOR over every victim route: a signed-in victim who asks for another victim's case, timeline
entry, escalation or review (by swapping any identifier in any URL) gets the same 404 as for
something that does not exist, sees none of the other victim's data, and changes nothing.

The routes are read from the app's own router, so a new route with an identifier fails this
test until its identifier is mapped below."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.cases.models import Case, TimelineEntry
from app.core.db import Base, make_sessionmaker
from app.portal.service import entry_public_id
from tests.agency_client import AgencyClient
from tests.portal.helpers import ALEX, CHRIS, case_ids, csrf_of, open_case, sign_in

REF_A, REF_B = "01/70001/26", "01/70002/26"
REVIEW_LINK = re.compile(r"/cases/[A-Za-z0-9_-]+/rights/review/([0-9a-f]{16})")
ESCALATION = re.compile(r"/cases/[A-Za-z0-9_-]+/escalations/([A-Za-z0-9_-]+)")
# Routes that carry no victim identifier, or are not the portal's (agencies sign, staff have
# their own matrix in tests/staff/test_role_matrix.py, receipts are signed by the provider).
NOT_PORTAL = ("/staff", "/api/staff", "/webhooks/", "/notifications/", "/static", "/ack/")
CHRIS_DATA = ("Chris", "Otherperson", "chris.o@example.com", REF_B, "900321")


@pytest.fixture
def two_victims(app, client, engine, settings, police: AgencyClient) -> dict[str, Any]:
    open_case(police, REF_A, [ALEX])
    open_case(police, REF_B, [CHRIS])
    for ref in (REF_A, REF_B):
        police.send_ok("investigation.closed", ref, {
            "outcome": "no_further_action", "explanation": "No further action.",
            "vrr_eligible": True}, occurred_at="2026-11-20T10:00:00Z")
    chris = TestClient(app)
    b_case = case_ids(sign_in(chris, engine, REF_B, "1985-03-27", "+447700900321").text)[0]
    escalate = chris.get(f"/cases/{b_case}/escalate")
    raised = chris.post(f"/cases/{b_case}/escalate", data={
        "csrf_token": csrf_of(escalate.text), "reason": "cant_reach_officer"},
        follow_redirects=False)
    assert raised.status_code == 303, raised.text
    b_ids = {"public_id": b_case,
             "entry_id": _latest_entry_of(engine, settings, REF_B),
             "token": REVIEW_LINK.search(chris.get(f"/cases/{b_case}/rights").text).group(1),
             "escalation_id": ESCALATION.search(raised.headers["location"]).group(1)}
    a_case = case_ids(sign_in(client, engine, REF_A, "1990-05-17", "+447700900123").text)[0]
    return {"alex": client, "chris": chris, "a_case": a_case, "b": b_ids}


def _latest_entry_of(engine, settings, reference: str) -> str:
    """The public id of the case's latest timeline entry (as the notifications link to it)."""
    with make_sessionmaker(engine)() as session:
        entry_pk = session.scalar(
            select(func.max(TimelineEntry.id)).join(Case, Case.id == TimelineEntry.case_pk)
            .where(Case.crime_reference == reference))
    return entry_public_id(settings.secret_key, entry_pk)


def portal_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if "{" in path and not path.startswith(NOT_PORTAL):
            found += [(m, path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def row_counts(engine) -> dict[str, int]:
    with make_sessionmaker(engine)() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables
                if t.name not in {"portal_session", "staff_session", "rate_limit"}}


def urls_for(path: str, a_case: str, b: dict[str, str]) -> list[str]:
    """The other victim's identifiers in every slot: all of them, and one at a time under the
    signed-in victim's own case."""
    names = re.findall(r"{(\w+)}", path)
    unknown = set(names) - set(b) - {"slug"}
    assert not unknown, f"map the identifier(s) {unknown} of {path} in this test"
    slug = {"slug": "special-measures"}
    urls = [path.format(**(b | slug))]
    for name in names:
        if name not in ("public_id", "slug"):
            urls.append(path.format(**({"public_id": a_case} | slug | {k: b[k] for k in b
                                                                      if k != "public_id"})))
            break
    return urls


def test_no_victim_route_reveals_or_changes_another_victims_data(app, engine, two_victims):
    alex, a_case, b = two_victims["alex"], two_victims["a_case"], two_victims["b"]
    routes = portal_routes(app)
    assert ("GET", "/cases/{public_id}") in routes and len(routes) >= 15
    before = row_counts(engine)
    token = csrf_of(alex.get("/cases").text)
    for method, path in routes:
        for url in urls_for(path, a_case, b):
            if method == "GET":
                response = alex.get(url, follow_redirects=False)
            else:
                response = alex.post(url, data={
                    "csrf_token": token, "action": "request", "reasons": "x", "answer": "yes",
                    "reason": "cant_reach_officer", "body": "hello", "message": "hello"},
                    follow_redirects=False)
            assert response.status_code == 404, (method, url, response.status_code)
            for secret in CHRIS_DATA:
                assert secret not in response.text, (method, url, secret)
    assert row_counts(engine) == before


def test_the_same_urls_work_for_their_owner(app, two_victims):
    """The control: the identifiers used above are real, so the 404s above mean refusal."""
    chris, b = two_victims["chris"], two_victims["b"]
    for method, path in portal_routes(app):
        if method == "GET":
            url = urls_for(path, two_victims["a_case"], b)[0]
            assert chris.get(url, follow_redirects=False).status_code == 200, url
