"""The victim portal's pages. Server-rendered GOV.UK Frontend pages that work without
JavaScript; with it, htmx gets fragments (and the timeline updates itself).

Every page: no personal or case detail in titles or URLs, `Cache-Control: no-store`,
`Vary: HX-Request`, a CSRF token bound to the server-side session on every form and htmx request.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import TimeoutError as SqlPoolTimeout
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from app.core import csrf, forms
from app.core.config import Settings
from app.core.db import connections_kept
from app.core.i18n import N_, Translator, normalise_language, translator
from app.core.ratelimit import Throttle
from app.core.templating import render
from app.notifications.providers import Outgoing
from app.portal import service
from app.portal.models import PortalGrant, PortalSession
from app.portal.schemas import SignInForm, normalise_code, parse_sign_in

DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days
EXIT_TO = "https://www.bbc.co.uk/weather"
IN_FLIGHT_PER_CONNECTION = 2
SIGN_IN_SENDERS = 4  # threads per process that may wait on the SMS or email provider at once
BUSY_RETRY_AFTER_SECONDS = 2


class CsrfFailed(Exception):
    pass


def session_cookie_name(settings: Settings) -> str:
    # __Host- cookies must be Secure, host-only and Path=/: nothing can overwrite them.
    return "__Host-tmc_session" if settings.secure_cookies else "tmc_session"


def device_cookie_name(settings: Settings) -> str:
    return "__Host-tmc_device" if settings.secure_cookies else "tmc_device"


class Portal:
    """One request's view of the portal: database session, browser session and its grants.

    The browser session is read, and the request's CSRF token checked, by `open`, which
    `PortalRoute` calls in the route's own thread before the route runs, in the route's
    transaction: no thread or transaction of their own. Until then the database session,
    browser session and grants cannot be used (RuntimeError): a route that was not opened
    fails instead of acting without them."""

    def __init__(self, request: Request, db: Session, settings: Settings, token: str | None,
                 passive: bool, submitted_csrf: str | None, form: dict[str, str]) -> None:
        self.request, self.settings, self.form = request, settings, form
        self._db, self._token, self._passive = db, token, passive
        self._submitted_csrf = submitted_csrf
        self._opened = False
        self._row: PortalSession | None = None
        self._grants: list[PortalGrant] = []
        self._named_case: service.Access | None = None
        self.new_token: str | None = None
        self.clear_cookie = False
        self.language = "en"

    def open(self) -> None:
        """Reads the browser session behind the cookie, on the request's database session in
        the caller's thread, and refuses the request (CsrfFailed) if its CSRF token is not that
        session's. When the path names a case (`{public_id}`), whether the session may see it is
        read in the same statement (`named_case`)."""
        if self._opened:
            return
        opened = service.open_session(self._db, self.settings, self._token, self._passive,
                                      self.request.path_params.get("public_id"))
        row = opened.row
        if csrf.needs_check(self.request) and not csrf.matches(
                self._submitted_csrf, row.csrf_token if row else None):
            self.end_transaction()  # here, not on the event loop when the portal closes
            raise CsrfFailed
        self._row, self._grants, self._opened = row, opened.grants, True
        self._named_case = opened.named_case
        self.clear_cookie = bool(self._token) and row is None
        self.language = normalise_language(row.language) if row and row.language else "en"

    def _require_open(self) -> None:
        if not self._opened:
            raise RuntimeError("the portal was not opened: route it through PortalRoute")

    @property
    def db(self) -> Session:
        self._require_open()
        return self._db

    @property
    def row(self) -> PortalSession | None:
        self._require_open()
        return self._row

    @property
    def grants(self) -> list[PortalGrant]:
        self._require_open()
        return self._grants

    def named_case(self, public_id: str) -> service.Access | None:
        """The case the path names, if the grants reach it: read when the portal was opened."""
        self._require_open()
        if public_id != self.request.path_params.get("public_id"):
            raise RuntimeError("only the case the path names ({public_id}) is read")
        return self._named_case

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
        row = self.row
        if row is None:
            # No language stored until one is chosen: after sign-in the victim's own applies.
            row, self.new_token = service.start_session(self.db, self.settings)
            self._row = row
        return row

    def end_transaction(self) -> None:
        service.end_transaction(self._db)

    def close(self) -> None:
        self._db.close()


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


@asynccontextmanager
async def _portal(request: Request, passive: bool) -> AsyncIterator[Portal]:
    """One request's portal, refused at once (503, Retry-After) when this process already has
    its share of portal requests in hand. A context manager, so what the route raises (a pool
    timeout: 503 too) reaches it and it closes at once, not when the generator is collected.

    Only what needs the event loop happens here: the form, and the CSRF token it may carry,
    are read before any connection is taken (clients are slow). The browser session is read by
    `Portal.open` in the route's thread, in the route's transaction. (It used to be read here
    in a thread and a transaction of its own, both ended before the route waited for its
    thread: a connection held across that wait let requests holding every connection wait for
    threads held by requests waiting for a connection. A route's thread now holds at most one
    connection and waits for nothing else.)"""
    settings: Settings = request.app.state.settings
    in_flight = _in_flight(request)
    if in_flight[0] >= _max_in_flight(settings):
        raise PortalBusy
    in_flight[0] += 1
    portal: Portal | None = None
    try:
        form: dict[str, str] = {}
        if request.method == "POST":
            form = await forms.text_fields(request)
        portal = Portal(request, request.app.state.sessionmaker(), settings,
                        request.cookies.get(session_cookie_name(settings)), passive,
                        await csrf.submitted_token(request), form)
        yield portal
    except SqlPoolTimeout:  # reading the session, or in the route
        raise PortalBusy from None
    finally:
        in_flight[0] -= 1
        if portal is not None:
            portal.close()


async def portal(request: Request) -> AsyncIterator[Portal]:
    async with _portal(request, passive=False) as value:
        yield value


async def passive_portal(request: Request) -> AsyncIterator[Portal]:
    async with _portal(request, passive=True) as value:
        yield value


def _portals_in(values: dict[str, Any]) -> list[Portal]:
    return [value for value in values.values() if isinstance(value, Portal)]


def _opening_portals(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint, opening its Portal first: a sync endpoint in its own thread (the read of
    the browser session joins the route's transaction), an async one in a worker thread whose
    transaction then ends, so no connection is held while the route awaits."""
    if getattr(endpoint, "_opens_portals", False):
        return endpoint
    if inspect.iscoroutinefunction(endpoint):
        @functools.wraps(endpoint)
        async def opened_async(*args: Any, **kwargs: Any) -> Any:
            for p in _portals_in(kwargs):
                await run_in_threadpool(_open_and_end_transaction, p)
            return await endpoint(*args, **kwargs)

        opened_async._opens_portals = True  # type: ignore[attr-defined]
        return opened_async

    @functools.wraps(endpoint)
    def opened(*args: Any, **kwargs: Any) -> Any:
        for p in _portals_in(kwargs):
            p.open()
        return endpoint(*args, **kwargs)

    opened._opens_portals = True  # type: ignore[attr-defined]
    return opened


def _open_and_end_transaction(p: Portal) -> None:
    try:
        p.open()
    finally:
        p.end_transaction()


class PortalRoute(APIRoute):
    """The route class of every router whose routes take a Portal: each endpoint opens it
    (`Portal.open`) before it runs."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _opening_portals(endpoint), **kwargs)


router = APIRouter(include_in_schema=False, route_class=PortalRoute)


# --- responses -----------------------------------------------------------------------------

def _finish(p: Portal, response: Response) -> Response:
    """The response's last touches. The request's database work is over: its session closes
    here, in the route's thread, rather than when `_portal` ends on the event loop, where ending
    a transaction that read (a COMMIT, a round trip to the database) held up every request of
    the process: 15% of the loop's busy time at 160 requests/s (docs/performance.md, session
    6)."""
    p.close()
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
        response.background = BackgroundTask(_send_after_response, p.request.app.state,
                                             p.settings, messages)
    return response


async def _send_after_response(state: Any, settings: Settings,
                               messages: list[Outgoing]) -> None:
    """In a worker thread, at most SIGN_IN_SENDERS at once per process: while the provider is
    down each send waits up to its timeout (10 s), and unbounded they would take the threads
    every page needs. The rest wait their turn here, as coroutines."""
    senders = getattr(state, "sign_in_senders", None)
    if senders is None:  # made on the event loop, so never twice
        senders = state.sign_in_senders = CapacityLimiter(SIGN_IN_SENDERS)
    await to_thread.run_sync(service.send_sign_in_messages, settings, messages,
                             limiter=senders)


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
    access = p.named_case(public_id)
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
