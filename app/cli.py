"""The `tmc` command (operations.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.db import make_engine, make_sessionmaker


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        reasons = "; ".join(str(error["msg"]).removeprefix("Value error, ")
                            for error in exc.errors())
        raise click.ClickException(reasons) from None


@contextmanager
def _session() -> Iterator[tuple[Session, Settings]]:
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session, settings
    finally:
        engine.dispose()


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _fail_cleanly(func: Callable[..., Any]) -> Callable[..., Any]:
    """One-line reason on stderr and a non-zero exit for expected failures."""
    from app.agencies.service import AgencyError

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AgencyError as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


@click.group()
def main() -> None:
    """Track My Crime: the victim self-service portal."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="app processes")
@click.option("--no-worker", is_flag=True, help="do not run the background worker in-process")
def serve(host: str, port: int, workers: int, no_worker: bool) -> None:
    """Run the web app (and, on the embedded default, the worker in-process)."""
    import os

    import uvicorn

    settings = _settings()  # refuse to start on unsafe production settings before forking
    if no_worker:
        os.environ["TMC_IN_PROCESS_WORKER"] = "0"
    # glibc gives each of the request threads its own malloc arena; two arenas cut each app
    # process's memory by about 5 MiB at no measured cost (docs/performance.md). The app
    # processes read it when they start; with --workers 1 set it in the service's environment.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    uvicorn.run("app.main:create_served_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, access_log=False, **uvicorn_limits(settings))


def uvicorn_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn's own bounds on slow and idle clients (docs/security.md). It has none for reading
    a request's headers: the load balancer sets that. `limit_concurrency` stays unset because
    it counts connections still sending their headers, so slow clients would get every other
    request a 503."""
    return {
        "timeout_keep_alive": 5,  # an idle keep-alive connection is closed after 5 s
        # Caps the request line and headers when h11 parses them (httptools, the one installed
        # by uvicorn[standard], has no such option; RequestLimitsMiddleware answers 431).
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }


@main.command()
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="threads claiming work in this process")
def worker(concurrency: int) -> None:
    """Run the notification worker until SIGTERM; any number may share one PostgreSQL."""
    import logging

    import app.models  # noqa: F401 - every table, for foreign keys between domains
    from app.core.worker import Worker
    from app.jobs import all_jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # The twilio SDK logs every request at INFO; addresses must not reach the logs.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    settings = _settings()
    engine = make_engine(settings.database_url, pool_size=concurrency + 2)
    try:
        Worker(engine, all_jobs(settings), concurrency=concurrency).run_until_signalled()
    finally:
        engine.dispose()


@main.command()
def migrate() -> None:
    """Bring the database schema to the latest migration."""
    from app.core.migrations import upgrade_to_head

    upgrade_to_head(_settings().database_url)
    click.echo("database is at the latest migration", err=True)


@main.group()
def agency() -> None:
    """Register agencies and manage their signing secrets."""


def _agency_json(agency: Any, secret: str | None = None) -> dict[str, Any]:
    out = {"agency_id": agency.agency_id, "kind": agency.kind, "name": agency.name,
           "endpoint_url": agency.endpoint_url}
    if secret is not None:
        out["secret"] = secret
    return out


@agency.command("add")
@click.argument("agency_id")
@click.option("--kind", required=True)
@click.option("--name", required=True)
@click.option("--endpoint-url", default=None)
@_fail_cleanly
def agency_add(agency_id: str, kind: str, name: str, endpoint_url: str | None) -> None:
    """Register an agency; prints its first signing secret."""
    from app.agencies import service

    with _session() as (session, settings):
        created, secret = service.add_agency(session, settings.secret_key, agency_id, kind, name,
                                             endpoint_url)
        click.echo(json.dumps(_agency_json(created, secret)))


@agency.command("rotate-secret")
@click.argument("agency_id")
@_fail_cleanly
def agency_rotate(agency_id: str) -> None:
    """Add a new secret; the old one stays valid until retire-secret."""
    from app.agencies import service

    with _session() as (session, settings):
        found, secret = service.rotate_secret(session, settings.secret_key, agency_id)
        click.echo(json.dumps(_agency_json(found, secret)))


@agency.command("retire-secret")
@click.argument("agency_id")
@_fail_cleanly
def agency_retire(agency_id: str) -> None:
    """Retire every secret but the newest."""
    from app.agencies import service

    with _session() as (session, _):
        retired = service.retire_secrets(session, agency_id)
        click.echo(json.dumps({"agency_id": agency_id, "retired": retired}))


@agency.command("list")
def agency_list() -> None:
    """List registered agencies as JSON."""
    from app.agencies import repository

    with _session() as (session, _):
        _print_json([_agency_json(a) for a in repository.list_agencies(session)])


@main.group()
def case() -> None:
    """Look at cases."""


@case.command("show")
@click.argument("crime_reference")
@click.option("--json", "as_json", is_flag=True)
def case_show(crime_reference: str, as_json: bool) -> None:
    """The case as the portal holds it."""
    from app.cases import repository, service

    with _session() as (session, _):
        found = repository.get_case_by_reference(session, crime_reference)
        if found is None:
            raise click.ClickException("no case has that crime reference")
        shown = service.case_as_json(service.view_case(session, found, everyone=True))
    if as_json:
        _print_json(shown)
    else:
        click.echo(_case_text(shown))


def _case_text(shown: dict[str, Any]) -> str:
    lines = [f"{shown['crime_reference']}  {shown['crime_type']}  stage: {shown['stage']}",
             "agencies: " + ", ".join(shown["agencies"])]
    for role, officer in shown["officers"].items():
        lines.append(f"{role}: {officer['name']} ({officer['agency_id']})")
    for hearing in shown["hearings"]:
        window = hearing["window"]
        when = hearing["starts_at"] or (f"between {window['from']} and {window['to']}"
                                        if window else "date to be fixed")
        lines.append(f"hearing {hearing['hearing_id']}: {hearing['hearing_type']} at "
                     f"{hearing['court']} {when} [{hearing['status']}]")
    lines.append("timeline:")
    for entry in shown["timeline"]:
        only = f" (only {entry['victim_ref']})" if entry["victim_ref"] else ""
        lines.append(f"  {entry['occurred_at']}  {entry['agency_id']}{only}: {entry['text']}")
    return "\n".join(lines)


@main.command()
@click.argument("crime_reference")
@click.option("--json", "as_json", is_flag=True)
def obligations(crime_reference: str, as_json: bool) -> None:
    """The Victims' Code obligations of a case (breaches swept first)."""
    from app.cases import repository
    from app.obligations import service

    with _session() as (session, _):
        found = repository.get_case_by_reference(session, crime_reference)
        if found is None:
            raise click.ClickException("no case has that crime reference")
        service.sweep_breaches(session, case_pk=found.id)
        shown = service.obligations_as_json(session, found)
    if as_json:
        _print_json(shown)
    else:
        click.echo(_obligations_text(shown))


def _obligations_text(shown: list[dict[str, Any]]) -> str:
    def short(value: str | None) -> str:
        return value[:16].replace("T", " ") if value else "-"

    header = ("id", "victim", "owner", "trigger", "due", "met", "status")
    rows = [(o["id"], o["victim_ref"] or "(case)", o["owner"], short(o["trigger_at"]),
             short(o["due_at"]), short(o["met_at"]), o["status"]) for o in shown]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                     for r in [header, *rows])


@main.command()
def demo() -> None:
    """Load demo agencies and realistic demo cases (idempotent)."""
    from app.demo import load_demo

    with _session() as (session, settings):
        summary = load_demo(session, settings)
    click.echo(json.dumps(summary), err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--to", "to", default=None, metavar="ADDRESS", help="only messages to ADDRESS")
def outbox(as_json: bool, to: str | None) -> None:
    """The SMS and emails captured by the dev outbox, newest first."""
    from app.notifications import dev_outbox

    if to and "@" not in to:  # a phone number as people write it: stored as E.164
        import phonenumbers

        try:
            to = phonenumbers.format_number(phonenumbers.parse(to, "GB"),
                                            phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            raise click.ClickException(
                "--to is neither an email address nor a phone number") from None
    with _session() as (session, _):
        captured = [dev_outbox.as_json(m) for m in dev_outbox.messages(session, to)]
    if as_json:
        _print_json(captured)
        return
    for message in captured:
        subject = f"  {message['subject']}" if message["subject"] else ""
        click.echo(f"{message['created_at']}  {message['channel']}  {message['to']}{subject}")
        click.echo("  " + message["body"].replace("\n", "\n  "))


if __name__ == "__main__":
    sys.exit(main())
