"""OpenID Connect sign-in end to end against a real provider (npm oidc-provider, run with node):
authorization code with PKCE through Authlib, linked to the victim only after a one-time code
proves it once; afterwards the provider alone signs the victim in. Texts go through the real
twilio SDK to a local Twilio, so the new-device alert of a provider sign-in is seen sent (the
dev outbox would capture it inside the service, whatever the route did with it)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.agency_client import Registry
from tests.event_loop_probe import statements_on_an_event_loop
from tests.fake_twilio import fake_twilio, settings_for, wait_for
from tests.live_server import free_port, live_server
from tests.oidc_provider import oidc_provider, through_provider
from tests.portal.helpers import ALEX, open_case, request_code, submit_code

CALLBACK = "/sign-in/oidc/callback"

REF = "01/70003/26"




def test_oidc_sign_in_links_after_a_code_then_signs_in_alone(settings, session):
    if settings.database_url.startswith("postgresql"):
        pytest.skip("one backend is enough for the provider round trip")
    provider_port = free_port()
    with fake_twilio() as fake:
        configured = settings_for(settings, fake).model_copy(update={
            "oidc_server_metadata_url":
                f"http://127.0.0.1:{provider_port}/.well-known/openid-configuration",
            "oidc_client_id": "tmc-portal",
            "oidc_client_secret": "a-test-client-secret-of-enough-length-0123456789"})
        _sign_in_through(configured, provider_port, session, fake)


def _texts(fake, word: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.body for r in fake.received if word in r.body]


def _sign_in_through(configured, provider_port: int, session, fake) -> None:  # type: ignore[no-untyped-def]
    with live_server(configured) as base, \
            oidc_provider(provider_port, [f"{base}/sign-in/oidc/callback"]), \
            httpx.Client(base_url=base, timeout=30) as http:
        police = Registry(session, configured, http).add("met-police", "police", "Met")
        open_case(police, REF, [ALEX])

        seen: list[str] = []
        back = through_provider(http, http.get("/sign-in/oidc"), "alex-subject", seen, CALLBACK)
        authorize = parse_qs(urlparse(seen[0]).query)
        assert authorize["code_challenge_method"] == ["S256"] and authorize["code_challenge"]
        assert back.status_code == 303 and back.headers["location"].startswith("/sign-in")

        # Not linked yet: a one-time code proves who this is, and links the subject.
        assert request_code(http, REF, "1990-05-17").status_code == 303
        assert wait_for(lambda: len(_texts(fake, "security code")) == 1, timeout=10)
        [code_text] = _texts(fake, "security code")
        done = submit_code(http, re.search(r"\b(\d{6})\b", code_text).group(1))
        assert done.status_code == 303 and done.headers["location"] == "/cases"

        http.cookies.clear()  # a new browser: only the provider's sign-in, no code
        with statements_on_an_event_loop() as on_loop:
            back = through_provider(http, http.get("/sign-in/oidc"), "alex-subject", [],
                                    CALLBACK)
        assert back.status_code == 303 and back.headers["location"] == "/cases"
        # Its database work (a session, the links, the grants) ran off the event loop.
        assert on_loop == []
        assert "Burglary" in http.get("/cases").text
        # A browser this identity has not used: the alert goes out after the response.
        assert wait_for(lambda: len(_texts(fake, "new device")) == 1, timeout=10)

        http.cookies.clear()  # another provider account is not linked to anyone
        back = through_provider(http, http.get("/sign-in/oidc"), "someone-else", [], CALLBACK)
        assert back.headers["location"].startswith("/sign-in")
