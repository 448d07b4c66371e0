"""Staff sign-in through OpenID Connect against a real provider (npm oidc-provider, run with
node): authorization code with PKCE through Authlib, roles from the provider's `roles` claim
mapped through TMC_STAFF_OIDC_ROLE_MAP. No mocked endpoint anywhere."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select

from app.staff.models import StaffAccount
from tests.live_server import free_port, live_server
from tests.oidc_provider import (
    STAFF_CLIENT_ID,
    STAFF_CLIENT_SECRET,
    oidc_provider,
    through_provider,
)

CALLBACK = "/staff/sign-in/oidc/callback"

ACCOUNTS = {
    "olivia": {"email": "olivia.oic@example.com", "name": "Olivia Example",
               "roles": ["tmc-officer"]},
    "hana": {"email": "hana.hub@example.com", "name": "Hana Example",
             "roles": ["VictimHub", "tmc-officer", "unrelated-group"]},
    "nobody": {"email": "nobody@example.com", "name": "No Role", "roles": ["unrelated-group"]},
}




def test_staff_sign_in_with_a_real_provider(settings, session):
    if settings.database_url.startswith("postgresql"):
        pytest.skip("one backend is enough for the provider round trip")
    port = free_port()
    configured = settings.model_copy(update={
        "staff_oidc_server_metadata_url":
            f"http://127.0.0.1:{port}/.well-known/openid-configuration",
        "staff_oidc_client_id": STAFF_CLIENT_ID, "staff_oidc_client_secret": STAFF_CLIENT_SECRET,
        "staff_oidc_scope": "openid email profile roles",
        "staff_oidc_role_map": {"tmc-officer": "officer", "VictimHub": "hub"}})
    with live_server(configured) as base, \
            oidc_provider(port, [f"{base}/sign-in/oidc/callback"],
                          staff_redirect_uris=[f"{base}/staff/sign-in/oidc/callback"],
                          accounts=ACCOUNTS), \
            httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/staff/dev-sign-in").status_code == 404  # a real provider is set
        assert 'href="/staff/sign-in/oidc"' in http.get("/staff/sign-in").text

        seen: list[str] = []
        back = through_provider(http, http.get("/staff/sign-in/oidc"), "olivia", seen, CALLBACK)
        authorize = parse_qs(urlparse(seen[0]).query)
        assert authorize["code_challenge_method"] == ["S256"] and authorize["code_challenge"]
        assert authorize["client_id"] == [STAFF_CLIENT_ID]
        assert back.status_code == 303 and back.headers["location"] == "/staff"
        home = http.get("/staff")
        assert home.status_code == 200 and "Your roles: officer" in home.text
        assert http.get("/staff/hub").status_code == 403

        http.cookies.clear()  # a new browser, another account: roles mapped, unknown ignored
        back = through_provider(http, http.get("/staff/sign-in/oidc"), "hana", [], CALLBACK)
        assert back.headers["location"] == "/staff"
        assert "Your roles: hub, officer" in http.get("/staff").text
        assert http.get("/staff/hub").status_code == 200

        http.cookies.clear()  # an account with no role of ours gets no session
        back = through_provider(http, http.get("/staff/sign-in/oidc"), "nobody", [], CALLBACK)
        assert back.headers["location"] == "/staff/sign-in?error=no-role"
        assert http.get("/staff", follow_redirects=False).status_code == 303

        http.cookies.clear()  # a callback without the state cookie is refused
        forged = http.get("/staff/sign-in/oidc/callback", params={"code": "x", "state": "y"})
        assert forged.headers["location"] == "/staff/sign-in?error=provider"

    accounts = {a.email: a for a in session.scalars(select(StaffAccount))}
    assert set(accounts) == {"olivia.oic@example.com", "hana.hub@example.com"}
    assert accounts["olivia.oic@example.com"].subject == \
        f"oidc:http://127.0.0.1:{port}|olivia"
    assert accounts["olivia.oic@example.com"].name == "Olivia Example"
