"""Who is signed in to the staff console, as FastAPI dependencies.

`current_staff` gives the signed-in `StaffUser` (signed out: a redirect to /staff/sign-in for
pages, 401 problem+json under /api/); `require_roles(...)` adds a role check (403). Staff
sessions are server-side rows behind their own HttpOnly cookie, separate from the victim
portal's; every unsafe or htmx request must carry the session's CSRF token (app/core/csrf.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.core import csrf
from app.core.config import Settings
from app.core.problems import Problem, problem_response
from app.staff import service
from app.staff.models import StaffSession
from app.staff.schemas import StaffUser

__all__ = ["StaffUser", "cookie_name", "current_staff", "install", "require_roles"]

SIGN_IN_PATH = "/staff/sign-in"


class StaffSignInRequired(Exception):
    pass


class StaffForbidden(Exception):
    pass


class StaffCsrfFailed(Exception):
    pass


def cookie_name(settings: Settings) -> str:
    # __Host- cookies must be Secure, host-only and Path=/: nothing can overwrite them.
    return "__Host-tmc_staff" if settings.secure_cookies else "tmc_staff"


def _live_session(sessionmaker: Callable[[], Session], settings: Settings,
                  token: str | None) -> tuple[StaffSession, StaffUser] | None:
    """The staff session behind the cookie, read in one worker thread whose database session
    (and pooled connection) is closed before the thread returns: no connection is held while
    the request waits for the route's own thread (see app/portal/routes.py `_portal`)."""
    with sessionmaker() as db:
        return service.live_session(db, settings, token)


async def current_staff(request: Request) -> StaffUser:
    settings: Settings = request.app.state.settings
    token = request.cookies.get(cookie_name(settings))
    found = await run_in_threadpool(_live_session, request.app.state.sessionmaker, settings,
                                    token)
    if found is None:
        raise StaffSignInRequired
    row, staff = found
    if not await csrf.is_valid(request, row.csrf_token):
        raise StaffCsrfFailed
    request.state.staff = staff
    request.state.staff_csrf_token = row.csrf_token
    request.state.staff_session_pk = row.id
    return staff


def require_roles(*roles: str) -> Callable[..., Awaitable[StaffUser]]:
    """A dependency: the signed-in member of staff, if they hold any of `roles`."""
    wanted = frozenset(roles)

    async def dependency(staff: StaffUser = Depends(current_staff)) -> StaffUser:
        if not staff.roles & wanted:
            raise StaffForbidden
        return staff

    dependency.roles = wanted  # type: ignore[attr-defined]  # read by the role matrix test
    return dependency


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _signed_out(request: Request, _exc: Exception) -> Response:
    if _is_api(request):
        return problem_response(Problem(401, "staff-sign-in-required",
                                        "Sign in to the staff console first."))
    if csrf.is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": SIGN_IN_PATH})
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _forbidden(request: Request, _exc: Exception) -> Response:
    if _is_api(request):
        return problem_response(Problem(403, "staff-role-required",
                                        "Your staff role does not allow this."))
    from app.staff.routes import staff_page

    return staff_page(request, request.state.staff, "staff/forbidden.html", status_code=403)


async def _csrf_failed(request: Request, _exc: Exception) -> Response:
    if _is_api(request):
        return problem_response(Problem(403, "csrf-failed", "The CSRF token is missing or wrong."))
    from app.staff.routes import staff_page

    return staff_page(request, getattr(request.state, "staff", None), "staff/csrf_failed.html",
                      status_code=403)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StaffSignInRequired, _signed_out)
    app.add_exception_handler(StaffForbidden, _forbidden)
    app.add_exception_handler(StaffCsrfFailed, _csrf_failed)
