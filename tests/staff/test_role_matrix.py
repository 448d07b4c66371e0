"""Role isolation: every route under /staff (and the staff JSON API), read from the app's own
router so that a new route fails this test until it is added to the table below, for every role
and signed out. An officer asking for another officer's case gets 404, as if it did not exist.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.cases.models import Case, Victim
from tests.staff.cases import OLIVIA, OMAR, REF_A, SUE, two_cases
from tests.staff_helpers import sign_in_staff, staff_csrf

ROLES = ("officer", "supervisor", "hub", "oversight", "admin")
EVERYONE = frozenset(ROLES)
CASES = frozenset({"officer", "supervisor", "hub", "admin"})
PUBLIC = "public"  # no sign-in needed
EMAILS = {"officer": OLIVIA, "supervisor": SUE}  # Olivia is the OIC of case A, Sue supervises

# (method, path) -> who may use it
MATRIX: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/staff/sign-in"): PUBLIC,
    ("GET", "/staff/dev-sign-in"): PUBLIC,
    ("POST", "/staff/dev-sign-in"): PUBLIC,
    ("GET", "/staff/signed-out"): PUBLIC,
    ("POST", "/staff/sign-out"): EVERYONE,
    ("GET", "/staff"): EVERYONE,
    ("GET", "/staff/cases"): CASES,
    ("GET", "/staff/cases/{case_pk}"): CASES,
    ("GET", "/staff/hub"): frozenset({"hub", "admin"}),
    ("GET", "/staff/audit"): frozenset({"admin"}),
    ("GET", "/staff/agencies"): frozenset({"admin"}),
    ("POST", "/staff/agencies"): frozenset({"admin"}),
    ("POST", "/staff/agencies/{agency_id}/rotate"): frozenset({"admin"}),
    ("POST", "/staff/agencies/{agency_id}/retire"): frozenset({"admin"}),
    ("POST", "/staff/agencies/{agency_id}/enable"): frozenset({"admin"}),
    ("GET", "/staff/oversight"): frozenset({"oversight"}),
    ("GET", "/staff/oversight/{key}.csv"): frozenset({"oversight"}),
    ("GET", "/api/staff/obligations"): frozenset({"officer", "supervisor", "hub", "oversight",
                                                  "admin"}),
    # app/contact's staff pages
    ("GET", "/staff/cases/{case_pk}/messages"): CASES,
    ("POST", "/staff/cases/{case_pk}/messages/{victim_pk}"): CASES,
    ("GET", "/staff/escalations"): frozenset({"supervisor", "hub", "admin"}),
    ("GET", "/staff/escalations/{escalation_pk}"): CASES,
    ("POST", "/staff/escalations/{escalation_pk}/resolve"): CASES,
}


def staff_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if path.startswith(("/staff", "/api/staff")):
            found |= {(method, path) for method in (route.methods or ()) if method != "HEAD"}
    return found


def test_every_staff_route_is_in_the_matrix(app):
    routes = staff_routes(app)
    assert routes - MATRIX.keys() == set(), "add the new staff routes to MATRIX"
    assert MATRIX.keys() - routes == set(), "MATRIX names routes that no longer exist"


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _signed_in(app, role: str) -> TestClient:
    client = TestClient(app)
    sign_in_staff(client, EMAILS.get(role, f"{role}.person@example.com"), roles=(role,),
                  name=f"{role.title()} Person")
    return client


def _call(client: TestClient, method: str, url: str, token: str | None):
    if method == "GET":
        return client.get(url, params={"crime_reference": REF_A}, follow_redirects=False)
    return client.post(url, data={"csrf_token": token or ""}, follow_redirects=False)


def _values(session) -> dict[str, str]:
    case_pk = session.scalar(select(Case.id).where(Case.crime_reference == REF_A))
    victim_pk = session.scalar(select(Victim.id).where(Victim.case_pk == case_pk))
    session.commit()
    return {"case_pk": str(case_pk), "victim_pk": str(victim_pk), "agency_id": "met-police",
            "key": "compliance-borough", "escalation_pk": "999999"}


def test_role_matrix(app, client, session, police):
    two_cases(police)
    values = _values(session)
    for (method, path), allowed in sorted(MATRIX.items()):
        url = _fill(path, values)
        signed_out = _call(TestClient(app), method, url, None)
        if allowed == PUBLIC:
            assert signed_out.status_code < 500, (method, path)
            continue
        if path.startswith("/api/"):
            assert signed_out.status_code == 401, (method, path)
        elif method == "GET":
            assert (signed_out.status_code, signed_out.headers.get("location")) == \
                (303, "/staff/sign-in"), (method, path)
        else:  # no staff session: no CSRF token either, nothing happens
            assert signed_out.status_code in (303, 403), (method, path)
        for role in ROLES:
            client = _signed_in(app, role)
            response = _call(client, method, url, staff_csrf(client))
            if role in allowed:
                assert response.status_code not in (401, 403), (method, path, role)
                assert response.headers.get("location") != "/staff/sign-in", (method, path, role)
            else:
                assert response.status_code == 403, (method, path, role, response.status_code)
            client.close()


@pytest.mark.parametrize("method, path", sorted(k for k in MATRIX if "{case_pk}" in k[1]))
def test_another_officers_case_is_not_found(app, session, police, method, path):
    two_cases(police)
    values = _values(session)
    client = _signed_in(app, "officer")
    own = _call(client, method, _fill(path, values), staff_csrf(client))
    assert own.status_code != 404, (method, path)
    sign_in_staff(client, OMAR, roles=("officer",))  # Omar is not on case A
    other = _call(client, method, _fill(path, values), staff_csrf(client))
    missing = _call(client, method, _fill(path, values | {"case_pk": "999999"}),
                    staff_csrf(client))
    assert other.status_code == missing.status_code == 404, (method, path)
    client.close()
