"""Proof that a change to the portal's read path leaves its responses the same, byte for byte.

    .venv/bin/python -m bench.load.sameness prepare --backend postgresql
    .venv/bin/python -m bench.load.sameness render --backend postgresql --out /tmp/before.json
    (change the code)
    .venv/bin/python -m bench.load.sameness render --backend postgresql --out /tmp/after.json
    .venv/bin/python -m bench.load.sameness compare /tmp/before.json /tmp/after.json

`prepare` makes a template database with the demo cases (`tmc demo`: messages, escalations,
rights requested, representatives, Welsh and Polish speakers), every case's public id and an
OpenID Connect link for every identity that can sign in (each victim by email and by phone, each
representative). `render` copies the template (the pages write: views, evidence, obligations),
signs every identity in and fetches, in a fixed order, "your cases" and for each case the case
page (plain and htmx), the timeline fragment, polls with and without news, every timeline
entry's page (other victims' entries answer 404), the rights and messages pages. Only the
per-session CSRF token is normalised.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.core.db import make_engine, make_sessionmaker
from app.core.migrations import upgrade_to_head

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEMPLATE = "tmc_sameness_template"
COPY = "tmc_sameness_copy"
SQLITE_DIR = Path("/tmp/tmc_sameness")
SECRET_KEY = "sameness-secret-key-that-is-long-enough-0123456789"


def _pg_url(name: str) -> str:
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _url(backend: str, copy: bool) -> str:
    if backend == "sqlite":
        return f"sqlite:///{SQLITE_DIR / ('copy.sqlite3' if copy else 'template.sqlite3')}"
    return _pg_url(COPY if copy else TEMPLATE)


def _settings(url: str) -> Settings:
    return Settings(env="test", database_url=url, base_url="http://testserver",
                    secret_key=SECRET_KEY, in_process_worker=False)


def _pg_admin(*statements: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    admin.dispose()


def prepare(backend: str) -> None:
    if backend == "sqlite":
        SQLITE_DIR.mkdir(exist_ok=True)
        (SQLITE_DIR / "template.sqlite3").unlink(missing_ok=True)
    else:
        _pg_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)',
                  f'CREATE DATABASE "{TEMPLATE}"')
    url = _url(backend, copy=False)
    upgrade_to_head(url)
    settings = _settings(url)
    from app.cases.models import Case, Representative, Victim
    from app.demo import load_demo
    from app.portal import repository as portal_repository
    from app.portal import service as portal_service

    engine = make_engine(url)
    with make_sessionmaker(engine)() as db:
        print(load_demo(db, settings), file=sys.stderr)
        portal_service._public_ids(db, set(db.scalars(select(Case.id))))
        victims = db.scalars(select(Victim).order_by(Victim.id)).all()
        for victim in victims:
            if victim.date_of_birth is None:
                continue
            rep = db.scalars(select(Representative).where(
                Representative.victim_pk == victim.id)).one_or_none()
            for role, holder in (("victim", victim), ("representative", rep)):
                if holder is None:
                    continue
                for channel, address in (("email", holder.email), ("sms", holder.mobile)):
                    if not address:
                        continue
                    portal_repository.add_oidc_link(db, {
                        "subject": f"{role}-{channel}-{victim.id}", "role": role,
                        "channel": channel, "address": address,
                        "date_of_birth": victim.date_of_birth,
                        "identity_key": portal_service.identity_key(
                            SECRET_KEY, role, channel, address, victim.date_of_birth)})
        db.commit()
    engine.dispose()


def _copy(backend: str) -> str:
    if backend == "sqlite":
        shutil.copy(SQLITE_DIR / "template.sqlite3", SQLITE_DIR / "copy.sqlite3")
    else:
        _pg_admin(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)',
                  f'CREATE DATABASE "{COPY}" TEMPLATE "{TEMPLATE}"')
    return _url(backend, copy=True)


def _subjects(url: str) -> list[str]:
    from app.portal.models import OidcLink

    engine = make_engine(url)
    with make_sessionmaker(engine)() as db:
        subjects = list(db.scalars(select(OidcLink.subject).order_by(OidcLink.id)))
    engine.dispose()
    return subjects


def _sign_in(app: Any, subject: str) -> tuple[str, str]:
    from app.portal import service as portal_service

    settings = app.state.settings
    with app.state.sessionmaker() as db:
        row, _token = portal_service.start_session(db, settings)
        signed = portal_service.sign_in_with_links(db, settings, row, subject, device_id="d")
        assert signed.ok and signed.session is not None and signed.token
        return signed.token, signed.session.csrf_token


def _case_paths(app: Any, public_id: str) -> list[tuple[str, bool]]:
    """(path, htmx) of every page of one case, in the order fetched."""
    from app.cases.models import TimelineEntry
    from app.portal import repository as portal_repository
    from app.portal import service as portal_service

    with app.state.sessionmaker() as db:
        case_pk = portal_repository.case_pk_by_public_id(db, public_id)
        entry_pks = list(db.scalars(select(TimelineEntry.id).where(
            TimelineEntry.case_pk == case_pk).order_by(TimelineEntry.id)))
    key = app.state.settings.secret_key
    base = f"/cases/{public_id}"
    latest = max(entry_pks, default=0)
    paths = [(base, False), (base, True), (f"{base}/timeline", True),
             (f"{base}/timeline", False), (f"{base}/timeline?seen={latest}", True),
             (f"{base}/timeline?seen={max(latest - 1, 0)}", True),
             (f"{base}/timeline?seen=0", True)]
    paths += [(f"{base}/updates/{portal_service.entry_public_id(key, pk)}", False)
              for pk in entry_pks]
    paths += [(f"{base}/updates/AAAAAAAAAAAAAAAAAAAAAA", False), (f"{base}/rights", False),
              (f"{base}/messages", False), (base, False)]
    return paths


_CASE_LINK = re.compile(r'href="/cases/([A-Za-z0-9_-]{10,})"')


def render(backend: str, out: Path) -> int:
    from fastapi.testclient import TestClient

    from app.main import create_app

    url = _copy(backend)
    subjects = _subjects(url)
    app = create_app(_settings(url))
    responses: list[dict[str, Any]] = []
    with TestClient(app) as client:
        for subject in subjects:
            token, csrf_token = _sign_in(app, subject)
            cookie = {"Cookie": f"tmc_session={token}"}

            def fetch(path: str, htmx: bool, cookie: dict[str, str] = cookie,
                      csrf_token: str = csrf_token, subject: str = subject) -> str:
                headers = dict(cookie)
                if htmx:
                    headers |= {"HX-Request": "true", "X-CSRF-Token": csrf_token}
                response = client.get(path, headers=headers, follow_redirects=False)
                body = response.text.replace(csrf_token, "<csrf>")
                responses.append({"subject": subject, "path": path, "htmx": htmx,
                                  "status": response.status_code,
                                  "headers": sorted((k, v) for k, v in response.headers.items()
                                                    if k not in ("set-cookie", "content-length")),
                                  "body": body})
                return body

            listing = fetch("/cases", False)
            for public_id in dict.fromkeys(_CASE_LINK.findall(listing)):
                for path, htmx in _case_paths(app, public_id):
                    fetch(path, htmx)
    app.state.engine.dispose()
    out.write_text(json.dumps(responses, indent=1))
    print(f"{len(responses)} responses of {len(subjects)} identities -> {out}", file=sys.stderr)
    return len(responses)


def compare(before: Path, after: Path) -> int:
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    differ = [(a, b) for a, b in zip(old, new, strict=False) if a != b]
    print(f"{len(old)} / {len(new)} responses; {len(differ)} differ")
    for a, b in differ[:5]:
        print(a["subject"], a["path"], a["htmx"], a["status"], b["status"])
        import difflib

        print("".join(list(difflib.unified_diff(a["body"].splitlines(True),
                                                b["body"].splitlines(True)))[:40]))
    return 0 if not differ and len(old) == len(new) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.sameness",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    r = sub.add_parser("render")
    r.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    r.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.backend)
        return 0
    if args.command == "render":
        render(args.backend, args.out)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
