"""What a web process loads: Authlib (and the httpx it brings, ~9 MiB a process) only when an
OpenID Connect provider is configured for victims or staff."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from app.core.config import Settings
from app.main import create_app
create_app(Settings(env="test", database_url="sqlite:///{path}", base_url="http://testserver",
                    secret_key="footprint-secret-key-that-is-long-enough-0123456789"))
print(sorted(name for name in ("authlib", "httpx") if name in sys.modules))
"""


def test_a_process_without_oidc_does_not_load_authlib(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run([sys.executable, "-c", CHECK.format(path=tmp_path / "app.db")],
                         capture_output=True, text=True, check=True, env={"PATH": "/usr/bin"})
    assert out.stdout.strip().splitlines()[-1] == "[]"
