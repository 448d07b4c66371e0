"""What a web process loads and keeps: Authlib (and the httpx it brings, ~9 MiB a process) only
when an OpenID Connect provider is configured for victims or staff; what it holds from start-up
kept out of the garbage collector's full collections."""

from __future__ import annotations

import json
import subprocess
import sys

SETTINGS = """
from app.core.config import Settings
settings = Settings(env="test", database_url="sqlite:///{path}", base_url="http://testserver",
                    secret_key="footprint-secret-key-that-is-long-enough-0123456789",
                    in_process_worker=False)
"""

AUTHLIB = SETTINGS + """
import sys
from app.main import create_app
create_app(settings)
print(sorted(name for name in ("authlib", "httpx") if name in sys.modules))
"""

FROZEN = SETTINGS + """
import gc, json
from fastapi.testclient import TestClient
from app.main import create_app, create_served_app
with TestClient(create_app(settings)):
    in_tests = gc.get_freeze_count()
with TestClient(create_served_app(settings)):
    print(json.dumps({"in_tests": in_tests, "served": gc.get_freeze_count(),
                      "scanned": len(gc.get_objects())}))
"""


def _run(code: str, tmp_path) -> str:  # type: ignore[no-untyped-def]
    out = subprocess.run([sys.executable, "-c", code.replace("{path}", str(tmp_path / "app.db"))],
                         capture_output=True, text=True, check=True, env={"PATH": "/usr/bin"})
    return out.stdout.strip().splitlines()[-1]


def test_a_process_without_oidc_does_not_load_authlib(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert _run(AUTHLIB, tmp_path) == "[]"


def test_a_served_process_freezes_what_it_holds_from_start_up(tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts = json.loads(_run(FROZEN, tmp_path))
    assert counts["in_tests"] == 0  # the suite's short-lived apps are collected as usual
    assert counts["served"] > 50_000
    # A full collection now scans a small fraction of what it did.
    assert counts["scanned"] < counts["served"] / 10
