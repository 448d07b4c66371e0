"""OpenID Connect sign-in is off unless configured; a subject is linked to victim records only
after a one-time code has proven them once, and then signs straight in."""

from __future__ import annotations

from sqlalchemy import select

from app.core.db import make_sessionmaker
from app.portal import service
from app.portal.models import OidcLink, PortalSession
from tests.portal.helpers import ALEX, case_ids, open_case, sign_in


def test_oidc_routes_are_off_by_default(client):
    assert client.get("/sign-in/oidc", follow_redirects=False).status_code == 404
    assert "Sign in with" not in client.get("/sign-in").text


def test_oidc_routes_exist_when_configured(settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    configured = settings.model_copy(update={
        "oidc_server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
        "oidc_client_id": "tmc", "oidc_client_secret": "secret"})
    app = create_app(configured)
    try:
        with TestClient(app) as browser:
            assert "Sign in with GOV.UK One Login" in browser.get("/sign-in").text
    finally:
        app.state.engine.dispose()


def test_subject_is_linked_only_after_a_code_then_signs_straight_in(client, police, engine,
                                                                    settings):
    open_case(police, "01/50001/26", [ALEX])
    client.get("/sign-in")
    with make_sessionmaker(engine)() as db:
        anonymous = db.scalars(select(PortalSession)).one()
        first = service.sign_in_with_links(db, settings, anonymous, "oidc-subject-1", None)
        assert not first.ok  # unknown subject: nothing reached yet
        assert db.scalars(select(OidcLink)).all() == []
    page = sign_in(client, engine, "01/50001/26", "1990-05-17", "+447700900123")
    assert len(case_ids(page.text)) == 1
    with make_sessionmaker(engine)() as db:
        [link] = db.scalars(select(OidcLink)).all()
        assert link.subject == "oidc-subject-1" and link.role == "victim"
        fresh, _token = service.start_session(db, settings)
        again = service.sign_in_with_links(db, settings, fresh, "oidc-subject-1", None)
        assert again.ok and again.session is not None
        reached = service.my_cases(db, service.grants(db, again.session))
        assert [a.case.crime_reference for a in reached] == ["01/50001/26"]
