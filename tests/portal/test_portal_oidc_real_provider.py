"""OpenID Connect sign-in end to end against a real provider (npm oidc-provider, run with node):
authorization code with PKCE through Authlib, linked to the victim only after a one-time code
proves it once; afterwards the provider alone signs the victim in."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import pytest

from tests.agency_client import Registry
from tests.live_server import live_server
from tests.oidc_provider import free_port, oidc_provider
from tests.portal.helpers import ALEX, latest_code, open_case, request_code, submit_code

REF = "01/70003/26"
FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


def _through_provider(http: httpx.Client, response: httpx.Response, login: str,
                      seen: list[str]) -> httpx.Response:
    """Follows redirects, filling the provider's login and consent forms, until the provider
    sends the browser back to the portal."""
    for _step in range(20):
        if response.is_redirect:
            url = urljoin(str(response.url), response.headers["location"])
            seen.append(url)
            if "/sign-in/oidc/callback" in url:
                return http.get(url)
            response = http.get(url)
            continue
        match = FORM.search(response.text)
        assert match, response.text[:500]
        action, body = match.groups()
        data = {name: unescape(value) for name, value in HIDDEN.findall(body)}
        if 'name="login"' in body:
            data |= {"login": login, "password": "any"}
        response = http.post(urljoin(str(response.url), unescape(action)), data=data)
    raise AssertionError("the provider never sent the browser back")


def test_oidc_sign_in_links_after_a_code_then_signs_in_alone(settings, session):
    if settings.database_url.startswith("postgresql"):
        pytest.skip("one backend is enough for the provider round trip")
    provider_port = free_port()
    configured = settings.model_copy(update={
        "oidc_server_metadata_url":
            f"http://127.0.0.1:{provider_port}/.well-known/openid-configuration",
        "oidc_client_id": "tmc-portal",
        "oidc_client_secret": "a-test-client-secret-of-enough-length-0123456789"})
    with live_server(configured) as base, \
            oidc_provider(provider_port, [f"{base}/sign-in/oidc/callback"]), \
            httpx.Client(base_url=base, timeout=30) as http:
        police = Registry(session, configured, http).add("met-police", "police", "Met")
        open_case(police, REF, [ALEX])
        engine = session.get_bind()

        seen: list[str] = []
        back = _through_provider(http, http.get("/sign-in/oidc"), "alex-subject", seen)
        authorize = parse_qs(urlparse(seen[0]).query)
        assert authorize["code_challenge_method"] == ["S256"] and authorize["code_challenge"]
        assert back.status_code == 303 and back.headers["location"].startswith("/sign-in")

        # Not linked yet: a one-time code proves who this is, and links the subject.
        assert request_code(http, REF, "1990-05-17").status_code == 303
        done = submit_code(http, latest_code(engine, "+447700900123"))
        assert done.status_code == 303 and done.headers["location"] == "/cases"

        http.cookies.clear()  # a new browser: only the provider's sign-in, no code
        back = _through_provider(http, http.get("/sign-in/oidc"), "alex-subject", [])
        assert back.status_code == 303 and back.headers["location"] == "/cases"
        assert "Burglary" in http.get("/cases").text

        http.cookies.clear()  # another provider account is not linked to anyone
        back = _through_provider(http, http.get("/sign-in/oidc"), "someone-else", [])
        assert back.headers["location"].startswith("/sign-in")
