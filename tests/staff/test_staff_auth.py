"""Staff sign-in (the dev sign-in of the embedded default), sessions, CSRF and roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.config import Settings
from app.core.db import utcnow
from app.staff import service
from app.staff.auth import cookie_name
from app.staff.models import StaffAccount, StaffSession
from tests.staff_helpers import csrf_of, sign_in_staff, staff_csrf


def _count(session, model) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(model))


def test_signed_out_pages_go_to_sign_in(client):
    response = client.get("/staff", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/staff/sign-in"
    htmx = client.get("/staff/cases", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/staff/sign-in"
    page = client.get("/staff/sign-in")
    assert page.status_code == 200 and "/staff/dev-sign-in" in page.text
    assert "Exit this page" not in page.text  # that is for victims


def test_dev_sign_in_starts_a_session_with_the_roles(client, session, settings):
    response = sign_in_staff(client, "Pat.Officer@example.com", roles=("officer", "hub"))
    assert response.headers["location"] == "/staff"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{cookie_name(settings)}=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    home = client.get("/staff")
    assert home.status_code == 200
    assert "Your roles: hub, officer" in home.text
    assert home.headers["cache-control"] == "no-store"
    account = session.scalars(select(StaffAccount)).one()
    assert account.subject == "dev:pat.officer@example.com" and account.roles == ["hub",
                                                                                    "officer"]


@pytest.mark.parametrize("form, field", [
    ({"email": "not-an-email", "name": "Pat", "roles": ["officer"]}, "email"),
    ({"email": "pat@example.com", "name": "", "roles": ["officer"]}, "name"),
    ({"email": "pat@example.com", "name": "Pat", "roles": []}, "roles"),
    ({"email": "pat@example.com", "name": "Pat", "roles": ["officer", "root"]}, "roles"),
])
def test_dev_sign_in_rejects_bad_input_and_changes_nothing(client, session, form, field):
    page = client.get("/staff/dev-sign-in")
    response = client.post("/staff/dev-sign-in", data={"csrf_token": csrf_of(page.text)} | form,
                           follow_redirects=False)
    assert response.status_code == 400
    assert f'href="#{field}"' in response.text
    assert _count(session, StaffAccount) == 0 and _count(session, StaffSession) == 0


def test_dev_sign_in_needs_its_form_token(client, session):
    client.get("/staff/dev-sign-in")
    response = client.post("/staff/dev-sign-in", data={
        "csrf_token": "forged", "email": "pat@example.com", "name": "Pat", "roles": ["admin"]})
    assert response.status_code == 403
    assert _count(session, StaffAccount) == 0


def _production(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "env": "production", "sms_backend": "twilio", "email_backend": "smtp"})


@pytest.mark.parametrize("configure", [
    _production,
    lambda s: s.model_copy(update={
        "staff_oidc_server_metadata_url": "https://login.example.com/.well-known/x",
        "staff_oidc_client_id": "tmc", "staff_oidc_client_secret": "secret"}),
])
def test_dev_sign_in_is_refused_in_production_and_beside_a_provider(settings, configure):
    from app.main import create_app

    configured = configure(settings)
    assert not configured.staff_dev_sign_in
    app = create_app(configured)
    with TestClient(app, base_url="https://testserver") as http:
        assert http.get("/staff/dev-sign-in").status_code == 404
        assert http.post("/staff/dev-sign-in", data={
            "email": "pat@example.com", "name": "Pat", "roles": ["admin"]}).status_code == 404
        assert "/staff/dev-sign-in" not in http.get("/staff/sign-in").text
    app.state.engine.dispose()


def test_sign_out_needs_csrf_and_ends_the_session(client, session):
    sign_in_staff(client, "pat@example.com", roles=("hub",))
    token = staff_csrf(client)
    refused = client.post("/staff/sign-out", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    assert client.get("/staff", follow_redirects=False).status_code == 200  # still signed in
    done = client.post("/staff/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/staff/signed-out"
    assert client.get("/staff", follow_redirects=False).status_code == 303
    row = session.scalars(select(StaffSession)).one()
    assert row.revoked_at is not None


def test_a_new_sign_in_gives_a_new_session_token(client, session):
    first = sign_in_staff(client, "pat@example.com").cookies
    second = sign_in_staff(client, "pat@example.com", roles=("hub",)).cookies
    assert list(first.values()) != list(second.values())
    assert _count(session, StaffAccount) == 1 and _count(session, StaffSession) == 2


def test_sessions_end_when_idle_and_at_their_absolute_limit(session, settings):
    _staff, token = service.sign_in(session, settings, subject="dev:pat@example.com",
                                    email="pat@example.com", name="Pat",
                                    roles=frozenset({"hub"}))
    now = utcnow()
    assert service.live_session(session, settings, token, now=now) is not None
    idle = timedelta(minutes=settings.staff_session_idle_minutes, seconds=1)
    assert service.live_session(session, settings, token, now=now + idle) is None
    for minutes in range(50, 60 * settings.staff_session_max_hours, 50):  # active all day
        assert service.live_session(session, settings, token,
                                    now=now + timedelta(minutes=minutes)) is not None
    late = now + timedelta(hours=settings.staff_session_max_hours, seconds=1)
    assert service.live_session(session, settings, token, now=late) is None
    assert service.live_session(session, settings, "not-a-token", now=now) is None


def test_a_missing_role_is_forbidden_not_hidden(client):
    sign_in_staff(client, "pat@example.com", roles=("officer",))
    response = client.get("/staff/hub")
    assert response.status_code == 403
    assert "You cannot see this page" in response.text


@pytest.mark.parametrize("claim, mapping, expected", [
    (["officer", "hub"], {}, {"officer", "hub"}),
    ("tmc-hub tmc-admin", {"tmc-hub": "hub", "tmc-admin": "admin"}, {"hub", "admin"}),
    ("officer,unknown", {}, {"officer"}),
    (["TMC.Oversight"], {"TMC.Oversight": "oversight"}, {"oversight"}),
    (None, {}, set()),
    (["superuser"], {"superuser": "root"}, set()),  # a mapping to no role of ours is ignored
])
def test_roles_from_the_providers_claim(settings, claim, mapping, expected):
    configured = settings.model_copy(update={"staff_oidc_roles_claim": "groups",
                                             "staff_oidc_role_map": mapping})
    assert service.roles_from_claims(configured, {"groups": claim}) == expected


def test_role_map_from_the_environment(monkeypatch):
    monkeypatch.setenv("TMC_STAFF_OIDC_ROLE_MAP", '{"VictimHub": "hub"}')
    monkeypatch.setenv("TMC_STAFF_OIDC_ROLES_CLAIM", "groups")
    settings = Settings(_env_file=None)
    assert settings.staff_oidc_role_map == {"VictimHub": "hub"}
    assert service.roles_from_claims(settings, {"groups": ["VictimHub"]}) == {"hub"}


def test_the_staff_dependency_gives_its_connection_back_before_the_route(client, settings):
    """The session is read in one worker thread whose database session is closed there: no
    pooled connection is held while the request waits for the route's own thread."""
    from sqlalchemy import inspect

    from app.staff.auth import _live_session

    sessionmaker = client.app.state.sessionmaker
    with sessionmaker() as db:
        _staff, token = service.sign_in(db, settings, subject="dev:pat@example.com",
                                        email="pat@example.com", name="Pat",
                                        roles=frozenset({"hub"}))
    found = _live_session(sessionmaker, client.app.state.settings, token)
    assert found is not None
    row, staff = found
    assert inspect(row).detached and row.csrf_token and staff.roles == frozenset({"hub"})
