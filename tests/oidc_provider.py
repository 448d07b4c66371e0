"""Starts the real OpenID Connect provider of tests/oidc (node + npm oidc-provider)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

HERE = Path(__file__).resolve().parent / "oidc"


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def _install() -> None:
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    if shutil.which("npm") is None:
        pytest.fail("npm is needed for the OpenID Connect provider of the tests")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                   capture_output=True)


STAFF_CLIENT_ID = "tmc-staff"
STAFF_CLIENT_SECRET = "another-test-client-secret-of-enough-length-9876543210"


@contextmanager
def oidc_provider(port: int, redirect_uris: list[str], staff_redirect_uris: list[str] | None = None,
                  accounts: dict[str, dict[str, object]] | None = None
                  ) -> Iterator[OidcProvider]:
    """The provider on `port`, with the portal's client (and the staff console's client when
    `staff_redirect_uris` is given); `accounts` are extra claims by login (email, name, roles).
    """
    _install()
    env = os.environ | {"PORT": str(port), "CLIENT_ID": "tmc-portal",
                        "CLIENT_SECRET": "a-test-client-secret-of-enough-length-0123456789",
                        "REDIRECT_URIS": " ".join(redirect_uris), "NODE_ENV": "development",
                        "ACCOUNTS": json.dumps(accounts or {})}
    if staff_redirect_uris:
        env |= {"STAFF_CLIENT_ID": STAFF_CLIENT_ID, "STAFF_CLIENT_SECRET": STAFF_CLIENT_SECRET,
                "STAFF_REDIRECT_URIS": " ".join(staff_redirect_uris)}
    # oidc-provider's start-up warnings (development keys and adapter) go to stderr.
    process = subprocess.Popen(["node", "provider.js"], cwd=HERE, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "ready <issuer>", or "" if node died
        assert line.startswith("ready"), f"the OIDC provider did not start: {line!r}"
        yield OidcProvider(f"http://127.0.0.1:{port}", env["CLIENT_ID"], env["CLIENT_SECRET"])
    finally:
        process.terminate()
        process.wait(timeout=10)


FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


def through_provider(http: httpx.Client, response: httpx.Response, login: str, seen: list[str],
                     callback: str) -> httpx.Response:
    """Follows redirects, filling the provider's login and consent forms, until the provider
    sends the browser back to `callback` (a path of ours); returns our callback's answer."""
    for _step in range(20):
        if response.is_redirect:
            url = urljoin(str(response.url), response.headers["location"])
            seen.append(url)
            if callback in url:
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
