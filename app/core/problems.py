"""RFC 9457 problem details, raised as exceptions and rendered as application/problem+json."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

PROBLEM_TYPE_BASE = "urn:tmc:problem:"


@dataclass
class Problem(Exception):
    status: int
    slug: str
    detail: str
    errors: list[dict[str, Any]] | None = field(default=None)
    title: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.slug,
            "title": self.title or HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status,
                        media_type="application/problem+json", headers=headers)


async def handle_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc)


def database_unavailable() -> Problem:
    return Problem(503, "database-unavailable",
                   "The portal cannot store data right now. Nothing was saved; please retry.")


# One type and title per problem, whoever answers it: RequestLimitsMiddleware for every route,
# the agency webhook for its own streamed body (app/agencies/routes.py).

def body_too_large(detail: str) -> Problem:
    return Problem(413, "body-too-large", detail, title="Request too large")


def body_timeout(detail: str) -> Problem:
    return Problem(408, "body-timeout", detail, title="Request timeout")


def headers_too_large(detail: str) -> Problem:
    return Problem(431, "headers-too-large", detail, title="Request headers too large")
