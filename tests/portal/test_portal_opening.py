"""Every portal route reads the browser session and checks the CSRF token before it does
anything (`Portal.open`, called by `PortalRoute` in the route's own thread), and a route that
was not opened cannot use the database or the session."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.portal.routes import Portal, PortalRoute, passive_portal, portal
from tests.portal.helpers import case_ids, csrf_of, sign_in
from tests.portal.test_portal_case import REF, build_case

PORTAL_DEPENDENCIES = (portal, passive_portal)


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every API route, including those of included routers (which this FastAPI keeps as
    routers rather than copying their routes into the app)."""
    found: list[APIRoute] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += _api_routes(included.routes)
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def _takes_a_portal(route: APIRoute) -> bool:
    return any(d.call in PORTAL_DEPENDENCIES for d in route.dependant.dependencies)


def test_every_route_that_takes_a_portal_opens_it(app):
    routes = [route for route in _api_routes(app.routes) if _takes_a_portal(route)]
    assert len(routes) >= 30  # the portal, rights, messages, preferences and sign-in routes
    assert [r.path for r in routes if not isinstance(r, PortalRoute)] == []
    assert any(r.path == "/cases/{public_id}" for r in routes)


def test_a_route_that_did_not_open_its_portal_cannot_use_it(app):
    plain = APIRouter()

    @plain.get("/not-opened")
    def not_opened(p: Portal = Depends(portal)) -> str:
        return str(p.db)

    app.include_router(plain)
    with pytest.raises(RuntimeError, match="not opened"):
        TestClient(app).get("/not-opened")


@pytest.mark.parametrize("token", ["", "forged", "another session's"])
def test_htmx_requests_need_their_own_sessions_csrf_token(app, client, engine, agencies, token):
    build_case(agencies)
    page = sign_in(client, engine, REF, "1990-05-17", "+447700900123")
    [public_id] = case_ids(page.text)
    if token == "another session's":
        token = csrf_of(TestClient(app).get("/sign-in").text)
    for path in (f"/cases/{public_id}/timeline", f"/cases/{public_id}/timeline?seen=0"):
        response = client.get(path, headers={"HX-Request": "true", "X-CSRF-Token": token})
        assert response.status_code == 403
        assert response.headers["HX-Refresh"] == "true"
    own = csrf_of(client.get(f"/cases/{public_id}").text)
    assert client.get(f"/cases/{public_id}/timeline",
                      headers={"HX-Request": "true", "X-CSRF-Token": own}).status_code == 200
