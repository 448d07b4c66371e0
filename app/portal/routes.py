"""The victim portal's pages. Server-rendered GOV.UK Frontend pages that work without
JavaScript; with it, htmx gets fragments (and the timeline updates itself).

Every page: no personal or case detail in titles or URLs, `Cache-Control: no-store`,
`Vary: HX-Request`, a CSRF token bound to the server-side session on every form and htmx request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import TimeoutError as SqlPoolTimeout
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from app.core import csrf
from app.core.config import Settings
from app.core.db import connections_kept
from app.core.i18n import N_, Translator, normalise_language, translator
from app.core.ratelimit import Throttle
from app.core.templating import render
from app.notifications.providers import Outgoing
from app.portal import service
from app.portal.models import PortalGrant, PortalSession
from app.portal.schemas import SignInForm, normalise_code, parse_sign_in

router = APIRouter(include_in_schema=False)

DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days
EXIT_TO = "https://www.bbc.co.uk/weather"
IN_FLIGHT_PER_CONNECTION = 2
BUSY_RETRY_AFTER_SECONDS = 2


class CsrfFailed(Exception):
    pass


def session_cookie_name(settings: Settings) -> str:
    # __Host- cookies must be Secure, host-only and Path=/: nothing can overwrite them.
    return "__Host-tmc_session" if settings.secure_cookies else "tmc_session"


def device_cookie_name(settings: Settings) -> str:
    return "__Host-tmc_device" if settings.secure_cookies else "tmc_device"


@dataclass
class Portal:
    """One request's view of the portal: database session, browser session and its grants."""

    request: Request
    db: Session
    settings: Settings
    row: PortalSession | None
    grants: list[PortalGrant]
    form: dict[str, str] = field(default_factory=dict)
    new_token: str | None = None
    clear_cookie: bool = False
    language: str = "en"

    @property
    def signed_in(self) -> bool:
        return bool(self.grants)

    @property
    def t(self) -> Translator:
        return translator(self.language)

    @property
    def throttle(self) -> Throttle:
        return self.request.app.state.throttle

    @property
    def client(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    def ensure_session(self) -> PortalSession:
        if self.row is None:
            # No language stored until one is chosen: after sign-in the victim's own applies.
            self.row, self.new_token = service.start_session(self.db, self.settings)
        return self.row


class PortalBusy(HTTPException):
    """Refused at once rather than queued for long: the process has as many portal requests
    in hand as it can serve promptly, or no database connection came free in time."""

    def __init__(self) -> None:
        super().__init__(503, "The service is busy. Please try again in a moment.",
                         headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS),
                                  "Cache-Control": "no-store"})


def _in_flight(request: Request) -> list[int]:
    state = request.app.state
    counter = getattr(state, "portal_in_flight", None)
    if counter is None:
        counter = state.portal_in_flight = [0]
    return counter


def _max_in_flight(settings: Settings) -> int:
    # A few requests per pooled connection keeps the thread pool and the pool busy without a
    # long queue behind them.
    return IN_FLIGHT_PER_CONNECTION * connections_kept(settings.db_pool_size)


def _load_session(db: Session, settings: Settings, token: str | None,
                  passive: bool) -> tuple[PortalSession | None, list[PortalGrant]]:
    """The browser session and its grants, in one worker thread; then the transaction ends so
    the pooled connection is back in the pool before the route waits for a thread of its own.
    (A connection held across that wait let requests holding every connection wait for threads
    held by requests waiting for a connection: the pool timed out with the CPU idle.)"""
    try:
        return service.session_and_grants(db, settings, token, passive)
    finally:
        service.end_transaction(db)


@asynccontextmanager
async def _portal(request: Request, passive: bool) -> AsyncIterator[Portal]:
    """One request's portal, refused at once (503, Retry-After) when this process already has
    its share of portal requests in hand. A context manager, so what the route raises (a pool
    timeout: 503 too) reaches it and it closes at once, not when the generator is collected."""
    settings: Settings = request.app.state.settings
    in_flight = _in_flight(request)
    if in_flight[0] >= _max_in_flight(settings):
        raise PortalBusy
    in_flight[0] += 1
    db: Session = request.app.state.sessionmaker()
    try:
        form: dict[str, str] = {}
        if request.method == "POST":  # read before any connection is taken: clients are slow
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        token = request.cookies.get(session_cookie_name(settings))
        row, held = (None, []) if not token else await run_in_threadpool(
            _load_session, db, settings, token, passive)
        if not await csrf.is_valid(request, row.csrf_token if row else None):
            raise CsrfFailed
        portal = Portal(request, db, settings, row, held, form=form,
                        clear_cookie=bool(token) and row is None)
        portal.language = normalise_language(row.language) if row and row.language else "en"
        yield portal
    except SqlPoolTimeout:  # reading the session, or in the route
        raise PortalBusy from None
    finally:
        in_flight[0] -= 1
        db.close()


async def portal(request: Request) -> AsyncIterator[Portal]:
    async with _portal(request, passive=False) as value:
        yield value


async def passive_portal(request: Request) -> AsyncIterator[Portal]:
    async with _portal(request, passive=True) as value:
        yield value


# --- responses -----------------------------------------------------------------------------

def _finish(p: Portal, response: Response) -> Response:
    """The response's last touches. The request's database work is over: its session closes
    here, in the route's thread, rather than when `_portal` ends on the event loop, where ending
    a transaction that read (a COMMIT, a round trip to the database) held up every request of
    the process: 15% of the loop's busy time at 160 requests/s (docs/performance.md, session
    6)."""
    p.db.close()
    secure = p.settings.secure_cookies
    if p.new_token:
        response.set_cookie(session_cookie_name(p.settings), p.new_token, httponly=True,
                            secure=secure, samesite="lax", path="/")
    elif p.clear_cookie:
        response.delete_cookie(session_cookie_name(p.settings), path="/", secure=secure,
                               httponly=True, samesite="lax")
    response.headers["Cache-Control"] = "no-store"
    return response


def _layout(settings: Settings, language: str, csrf_token: str, signed_in: bool,
            current_path: str, poll_seconds: int) -> dict[str, Any]:
    """What templates/layout.html and every portal page read."""
    t = translator(language)
    return {"t": t, "_": t._, "lang": language, "csrf_token": csrf_token,
            "signed_in": signed_in, "current_path": current_path, "poll_seconds": poll_seconds,
            "oidc_enabled": settings.oidc_enabled, "oidc_name": settings.oidc_name}


def page(p: Portal, template: str, status_code: int = 200, **context: Any) -> Response:
    row = p.ensure_session()
    base = _layout(p.settings, p.language, row.csrf_token, p.signed_in, p.request.url.path,
                   p.settings.portal_poll_seconds)
    return _finish(p, render(p.request, template, base | context, status_code=status_code))


def then_send(p: Portal, response: Response,
              messages: list[Outgoing]) -> Response:
    """Sign-in texts and emails go out once the response has gone
    (`service.send_sign_in_messages`)."""
    if messages:
        response.background = BackgroundTask(service.send_sign_in_messages, p.settings,
                                             messages)
    return response


def redirect(p: Portal, url: str) -> Response:
    if csrf.is_htmx(p.request):
        return _finish(p, Response(status_code=200, headers={"HX-Redirect": url}))
    return _finish(p, RedirectResponse(url, status_code=303))


def not_found(p: Portal) -> Response:
    """The same page whether the thing does not exist or belongs to someone else."""
    return page(p, "portal/not_found.html", status_code=404)


def must_sign_in(p: Portal) -> Response:
    return redirect(p, "/sign-in")


def _language_for(p: Portal, accesses: list[service.Access]) -> None:
    p.language = service.default_language(p.row, accesses)


# --- sign-in -------------------------------------------------------------------------------

@router.get("/")
def home(p: Portal = Depends(portal)) -> Response:
    return redirect(p, "/cases" if p.signed_in else "/sign-in")


@router.get("/sign-in")
def sign_in_page(p: Portal = Depends(portal)) -> Response:
    return page(p, "portal/sign_in.html", form=SignInForm(), adding=p.signed_in)


@router.post("/sign-in")
def sign_in_submit(p: Portal = Depends(portal)) -> Response:
    form = parse_sign_in(p.form)
    if form.errors:
        return page(p, "portal/sign_in.html", status_code=400, form=form, adding=p.signed_in)
    row = p.ensure_session()
    outcome = service.request_code(p.db, p.settings, p.throttle, row, form, p.client)
    if outcome.throttled:
        return page(p, "portal/throttled.html", status_code=429)
    return then_send(p, redirect(p, "/sign-in/code"), outcome.to_send)


@router.get("/sign-in/code")
def code_page(p: Portal = Depends(portal)) -> Response:
    if p.row is None or not p.row.pending_attempt:
        return redirect(p, "/sign-in")
    return page(p, "portal/code.html", error=None,
                minutes=p.settings.portal_code_minutes)


@router.post("/sign-in/code")
def code_submit(p: Portal = Depends(portal)) -> Response:
    if p.row is None:
        return redirect(p, "/sign-in")
    code = normalise_code(p.form.get("code", ""))
    known_device = p.request.cookies.get(device_cookie_name(p.settings))
    device = known_device or service.secrets.token_urlsafe(32)
    check = service.verify_code(p.db, p.settings, p.throttle, p.row, code, p.client, device)
    if check.throttled:
        return page(p, "portal/throttled.html", status_code=429)
    if check.expired:
        return page(p, "portal/code.html", status_code=400, expired=True,
                    error=N_("Your code has expired or has been tried too many times. Ask for "
                             "a new code."), minutes=p.settings.portal_code_minutes)
    if not check.ok:
        error = (N_("Enter the 6-digit code from the message") if code is None else
                 N_("The code is not right. Check it and try again."))
        return page(p, "portal/code.html", status_code=400, error=error,
                    minutes=p.settings.portal_code_minutes)
    p.new_token = check.token
    response = redirect(p, "/cases")
    if not known_device:
        response.set_cookie(device_cookie_name(p.settings), device,
                            max_age=DEVICE_COOKIE_MAX_AGE, httponly=True,
                            secure=p.settings.secure_cookies, samesite="lax", path="/")
    return then_send(p, response, check.to_send)


@router.post("/sign-out")
def sign_out(p: Portal = Depends(portal)) -> Response:
    if p.row is not None:
        service.sign_out(p.db, p.row)
    p.clear_cookie = True
    return redirect(p, "/signed-out")


@router.post("/sign-out-everywhere")
def sign_out_everywhere(p: Portal = Depends(portal)) -> Response:
    if p.row is None or not p.signed_in:
        return must_sign_in(p)
    service.sign_out_everywhere(p.db, p.row)
    p.clear_cookie = True
    return redirect(p, "/signed-out?everywhere=1")


@router.get("/signed-out")
def signed_out(everywhere: int = 0, p: Portal = Depends(portal)) -> Response:
    return page(p, "portal/signed_out.html", everywhere=bool(everywhere))


@router.get("/exit")
def exit_this_page(p: Portal = Depends(portal)) -> Response:
    """Where 'Exit this page' goes: ends the session so the back button shows nothing, then
    leaves for a neutral site. Also works without JavaScript."""
    if p.row is not None:
        service.sign_out(p.db, p.row)
    response = RedirectResponse(EXIT_TO, status_code=303)
    response.delete_cookie(session_cookie_name(p.settings), path="/",
                           secure=p.settings.secure_cookies, httponly=True, samesite="lax")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/language")
def switch_language(p: Portal = Depends(portal)) -> Response:
    row = p.ensure_session()
    service.set_language(p.db, row, p.form.get("language", "en"))
    back = p.form.get("next", "/")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"
    return redirect(p, back)


# --- cases -------------------------------------------------------------------------------------

@router.get("/cases")
def my_cases(p: Portal = Depends(portal)) -> Response:
    if not p.signed_in:
        return must_sign_in(p)
    accesses = service.my_cases(p.db, p.grants)
    _language_for(p, accesses)
    return page(p, "portal/cases.html", accesses=accesses,
                stage_titles={key: title for key, (title, _text) in service.STAGES.items()})


def case_for(p: Portal, public_id: str) -> service.Access | None:
    """The case this public id names, if the signed-in person may see it; the page's language
    follows the victim's own."""
    access = service.find_case(p.db, p.grants, public_id)
    _language_for(p, [access] if access else service.my_cases(p.db, p.grants))
    return access


class Refused(Exception):
    """A case route refused: the response (sign in first, or not found) is the answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def case_of(p: Portal, public_id: str) -> service.Access:
    """The signed-in person's case. Otherwise raises Refused: sign in first, or the same 404
    whether the case does not exist or is someone else's. Every case route starts here."""
    if not p.signed_in:
        raise Refused(must_sign_in(p))
    access = case_for(p, public_id)
    if access is None:
        raise Refused(not_found(p))
    return access


def refused_response(_request: Request, exc: Refused) -> Response:
    return exc.response


@router.get("/cases/{public_id}")
def case_page(public_id: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    assert p.row is not None
    if not csrf.is_htmx(p.request):
        service.record_view(p.db, p.row, access)
    return case_view(p, access)


def case_view(p: Portal, access: service.Access) -> Response:
    """The case page, its timeline counted as shown to the victim."""
    view = service.case_page(p.db, p.settings, access, p.t)
    service.record_entries_shown(p.db, access, [e.pk for e in view.entries])
    return page(p, "portal/case.html", view=view)


@router.get("/cases/{public_id}/timeline")
def timeline_fragment(public_id: str, seen: int = -1,
                      p: Portal = Depends(passive_portal)) -> Response:
    """The timeline alone, for htmx polling: 204 when nothing is new (htmx then keeps what it
    has). Without htmx, the whole case page."""
    access = case_of(p, public_id)
    if not csrf.is_htmx(p.request):
        return case_view(p, access)
    if seen >= 0 and service.latest_entry_pk(p.db, access) == seen:
        return _finish(p, Response(status_code=204))
    entries, latest = service.timeline_entries(p.db, p.settings, access, p.t)
    service.record_entries_shown(p.db, access, [e.pk for e in entries])
    return page(p, "portal/timeline_fragment.html", access=access, entries=entries,
                latest=latest, announce=seen >= 0)


@router.get("/cases/{public_id}/updates/{entry_id}")
def entry_page(public_id: str, entry_id: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    entry = service.find_entry(p.db, p.settings, access, entry_id, p.t)
    if entry is None:
        return not_found(p)
    service.record_entries_shown(p.db, access, [entry.pk])
    return page(p, "portal/entry.html", access=access, entry=entry)


def _bare_page(request: Request, template: str, status_code: int) -> Response:
    """A page for a request the portal could not take up (no session read, English)."""
    context = _layout(request.app.state.settings, "en", csrf_token="", signed_in=False,
                      current_path="/", poll_seconds=0)
    html = render(request, template, context | {"no_language_switch": True},
                  status_code=status_code)
    html.headers["Cache-Control"] = "no-store"
    return html


def csrf_failed_response(request: Request) -> Response:
    html = _bare_page(request, "portal/error.html", 403)
    if request.headers.get("hx-request") == "true":
        html.headers["HX-Refresh"] = "true"
    return html


def busy_response(request: Request, exc: PortalBusy) -> Response:
    html = _bare_page(request, "portal/busy.html", 503)
    html.headers.update(exc.headers or {})
    return html


def unavailable_response(request: Request) -> Response:
    """The page for a portal request the database could not serve (app/main.py)."""
    return _bare_page(request, "portal/unavailable.html", 503)
