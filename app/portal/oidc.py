"""Optional OpenID Connect sign-in (GOV.UK One Login style), off unless TMC_OIDC_* are set.

Authlib's Starlette client does the protocol (discovery, PKCE S256, state, nonce, ID token
checks). Its short-lived state lives in a signed cookie scoped to /sign-in/oidc. A subject is
linked to victim records only after a one-time code has proven them once (see
`service.sign_in_with_links`).
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.middleware.sessions import SessionMiddleware

from app.core.config import Settings
from app.portal import service
from app.portal.routes import (
    Portal,
    PortalRoute,
    device_cookie_name,
    page,
    portal,
    redirect,
    then_send,
)

STATE_COOKIE = "tmc_oidc_state"


def install(app: FastAPI, settings: Settings) -> None:
    if not settings.oidc_enabled:
        return
    oauth = OAuth()
    oauth.register(
        "provider", server_metadata_url=settings.oidc_server_metadata_url,
        client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
        client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256"},
    )
    app.state.oauth = oauth
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key,
                       session_cookie=STATE_COOKIE, max_age=600, path="/sign-in/oidc",
                       same_site="lax", https_only=settings.secure_cookies)
    app.include_router(router)


router = APIRouter(include_in_schema=False, route_class=PortalRoute)


@router.get("/sign-in/oidc")
async def start(p: Portal = Depends(portal)) -> Response:
    client = p.request.app.state.oauth.provider
    return await client.authorize_redirect(p.request,
                                           str(p.request.url_for("oidc_callback")))


@router.get("/sign-in/oidc/callback", name="oidc_callback")
async def callback(p: Portal = Depends(portal)) -> Response:
    client = p.request.app.state.oauth.provider
    try:
        token = await client.authorize_access_token(p.request)
    except OAuthError:
        token = None
    return await run_in_threadpool(_sign_in_as, p, token)


def _sign_in_as(p: Portal, token: dict[str, Any] | None) -> Response:
    """The database work of a provider sign-in, in a worker thread: on the event loop it would
    hold up every request of the process while the database answers."""
    subject = ((token or {}).get("userinfo") or {}).get("sub")
    if not subject:
        return page(p, "portal/error.html", status_code=400)
    row = p.ensure_session()
    device = p.request.cookies.get(device_cookie_name(p.settings))
    result = service.sign_in_with_links(p.db, p.settings, row, subject, device)
    if not result.ok:  # first time: prove who you are once with a code, then it is linked
        return redirect(p, "/sign-in?link=1")
    p.new_token = result.token
    return then_send(p, redirect(p, "/cases"), result.to_send)
