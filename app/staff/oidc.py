"""Staff sign-in through OpenID Connect (Entra ID, Keycloak, GOV.UK One Login style), off
unless TMC_STAFF_OIDC_* are set.

Authlib's Starlette client does the protocol (discovery, PKCE S256, state, nonce, ID token
checks). Its short-lived state lives in a signed cookie scoped to /staff/sign-in/oidc, handed
to Authlib as the request's session on a copy of the request: the victim portal's own OIDC
session middleware never sees it. Roles come from the provider's roles claim (ID token, else
the userinfo endpoint), mapped by `service.roles_from_claims`.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.staff import service
from app.staff.routes import see_other, set_session_cookie, staff_db

STATE_COOKIE = "tmc_staff_oidc"
STATE_PATH = "/staff/sign-in/oidc"
STATE_MAX_AGE = 600


def install(app: FastAPI, settings: Settings) -> None:
    if not settings.staff_oidc_enabled:
        return
    oauth = OAuth()
    oauth.register(
        "staff", server_metadata_url=settings.staff_oidc_server_metadata_url,
        client_id=settings.staff_oidc_client_id,
        client_secret=settings.staff_oidc_client_secret,
        client_kwargs={"scope": settings.staff_oidc_scope, "code_challenge_method": "S256"},
    )
    app.state.staff_oauth = oauth
    app.include_router(router)


router = APIRouter(include_in_schema=False)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="tmc-staff-oidc-state")


def _with_state(request: Request, state: dict[str, Any]) -> Request:
    """A copy of the request whose `session` is our state dict (what Authlib reads/writes)."""
    return Request(dict(request.scope, session=state), request.receive)


def _read_state(request: Request, settings: Settings) -> dict[str, Any]:
    raw = request.cookies.get(STATE_COOKIE)
    if not raw:
        return {}
    try:
        value = _serializer(settings).loads(raw, max_age=STATE_MAX_AGE)
    except BadSignature:
        return {}
    return value if isinstance(value, dict) else {}


def _write_state(response: Response, settings: Settings, state: dict[str, Any]) -> None:
    if not state:
        response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
        return
    response.set_cookie(STATE_COOKIE, _serializer(settings).dumps(state), max_age=STATE_MAX_AGE,
                        httponly=True, secure=settings.secure_cookies, samesite="lax",
                        path=STATE_PATH)


@router.get("/staff/sign-in/oidc")
async def start(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    state = _read_state(request, settings)
    client = request.app.state.staff_oauth.staff
    response = await client.authorize_redirect(_with_state(request, state),
                                               str(request.url_for("staff_oidc_callback")))
    _write_state(response, settings, state)
    return response


@router.get("/staff/sign-in/oidc/callback", name="staff_oidc_callback")
async def callback(request: Request, db: Session = Depends(staff_db)) -> Response:
    settings: Settings = request.app.state.settings
    state = _read_state(request, settings)
    client = request.app.state.staff_oauth.staff
    try:
        token = await client.authorize_access_token(_with_state(request, state))
        claims = await _claims(client, token, settings)
    except OAuthError:
        return _finish(see_other("/staff/sign-in?error=provider"), settings, state)
    subject, email = claims.get("sub"), claims.get("email")
    roles = service.roles_from_claims(settings, claims)
    if not subject or not email:
        return _finish(see_other("/staff/sign-in?error=claims"), settings, state)
    if not roles:
        return _finish(see_other("/staff/sign-in?error=no-role"), settings, state)
    issuer = str(claims.get("iss", ""))
    _staff, cookie = await run_in_threadpool(
        service.sign_in, db, settings, subject=f"oidc:{issuer}|{subject}", email=str(email),
        name=str(claims.get("name") or email), roles=roles)
    response = see_other("/staff")
    set_session_cookie(response, settings, cookie)
    return _finish(response, settings, state)


async def _claims(client: Any, token: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The ID token's claims, completed from the userinfo endpoint when the roles claim or
    the email is not in the ID token (many providers only put them there)."""
    claims = dict(token.get("userinfo") or {})
    if not claims.get("sub"):
        raise OAuthError(description="no ID token")
    if settings.staff_oidc_roles_claim not in claims or "email" not in claims:
        extra = dict(await client.userinfo(token=token))
        if extra.get("sub") != claims["sub"]:  # OIDC Core 5.3.2: must match
            raise OAuthError(description="userinfo subject differs")
        claims = extra | claims
    return claims


def _finish(response: Response, settings: Settings, state: dict[str, Any]) -> Response:
    _write_state(response, settings, state)
    return response

