"""Checks in the spirit of OWASP ASVS level 2 that are not covered elsewhere: security headers on
every kind of response, path traversal through /static, oversized form bodies and header floods.
(CSRF, session fixation, code brute force and throttling: tests/portal/test_portal_sign_in.py;
IDOR: tests/security/test_portal_idor.py and tests/staff/test_role_matrix.py.)"""

from __future__ import annotations

import socket

import pytest

from app.core.problems import PROBLEM_TYPE_BASE
from app.core.security_headers import CONTENT_SECURITY_POLICY
from tests.live_server import live_server

HEADERS = {"content-security-policy": CONTENT_SECURITY_POLICY, "x-content-type-options": "nosniff",
           "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


@pytest.mark.parametrize("method,path", [
    ("GET", "/"), ("GET", "/sign-in"), ("GET", "/cases/nothing-here"), ("GET", "/staff"),
    ("GET", "/staff/dev-sign-in"), ("GET", "/static/css/staff.css"), ("GET", "/healthz"),
    ("GET", "/openapi.json"), ("POST", "/webhooks/agencies/nobody/events"),
    ("GET", "/no-such-page"), ("POST", "/sign-in"),
])
def test_every_kind_of_response_carries_the_security_headers(client, method, path):
    response = client.request(method, path, follow_redirects=False)
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (path, name)


@pytest.mark.parametrize("path", [
    "/static/../app/core/config.py", "/static/%2e%2e/app/core/config.py",
    "/static/..%2fapp%2fcore%2fconfig.py", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static//etc/passwd", "/static/css/..%5c..%5capp%5ccore%5cconfig.py",
])
def test_static_files_cannot_escape_their_folder(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "TMC_" not in response.text and "root:" not in response.text


def test_oversized_form_bodies_are_refused_before_they_are_read(client):
    page = client.get("/sign-in")
    body = b"crime_reference=" + b"A" * (2 * 1024 * 1024)
    response = client.post("/sign-in", content=body, headers={
        "content-type": "application/x-www-form-urlencoded", "cookie": page.headers.get(
            "set-cookie", "").split(";")[0]})
    assert response.status_code == 413
    assert response.json()["type"] == PROBLEM_TYPE_BASE + "body-too-large"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_oversized_body_without_content_length_is_cut_off(client):
    def chunks():
        for _ in range(64):
            yield b"x" * 65536

    response = client.post("/sign-in", content=chunks(), headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert response.json()["type"] == PROBLEM_TYPE_BASE + "body-too-large"


def test_a_header_flood_is_refused_and_the_server_keeps_serving(settings):
    with live_server(settings) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Flood: " + b"a" * 200_000
                         + b"\r\n\r\n")
            reply = _read_some(sock)
        assert reply == b"" or reply.split(b" ", 2)[1] in (b"400", b"431")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert _read_some(sock).startswith(b"HTTP/1.1 200")


def _read_some(sock: socket.socket) -> bytes:
    try:
        return sock.recv(4096)
    except (ConnectionResetError, TimeoutError):
        return b""
