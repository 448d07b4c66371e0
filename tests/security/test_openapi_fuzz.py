"""Hostile input against the published API: schemathesis generates requests from /openapi.json.

Unsigned, every generated request must be refused in the documented way; signed with a real
agency's secret, schema-shaped (and schema-breaking) events must never cause a server error,
and every refusal is problem+json. TMC_FUZZ_EXAMPLES raises the example count for long runs."""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.agency_client import AgencyClient, at, opened
from tests.journeys import V1

EXAMPLES = int(os.environ.get("TMC_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.filter_too_much])




def _published_schema() -> dict:
    """The /openapi.json the service publishes (built from the event catalogue, no database)."""
    from app.core.config import Settings
    from app.main import create_app

    return create_app(Settings(database_url="sqlite://")).openapi()


@pytest.fixture
def open_case(police: AgencyClient) -> str:
    police.send_ok("case.opened", "FUZZ/1", opened(victims=[V1]), at("2026-11-02"))
    return "FUZZ/1"


SCHEMA = schemathesis.openapi.from_dict(_published_schema())
EVENTS = SCHEMA["/webhooks/agencies/{agency_id}/events"]["POST"]


@given(case=EVENTS.as_strategy())
@FUZZ
def test_unsigned_requests_are_refused_without_server_errors(case, client):
    response = client.request(**_transport(case))
    assert response.status_code in (401, 404, 413, 415, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@given(case=EVENTS.as_strategy(generation_mode=GenerationMode.NEGATIVE)
       | EVENTS.as_strategy())
@FUZZ
def test_signed_generated_events_never_cause_server_errors(case, client, police: AgencyClient,
                                                          open_case: str):
    if isinstance(case.body, dict) and isinstance(case.body.get("crime_reference"), str):
        case.body["crime_reference"] = open_case  # reach the projection, not only the 404
    body = _raw_body(case.body)
    # A body that is not UTF-8 cannot be signed as text; it must still be refused cleanly.
    response = police.post_raw(body, police.signed_headers(body.decode("utf-8", "replace")))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == response.status_code


def _raw_body(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):  # negative mode may generate a non-JSON body
        return body
    return json.dumps(body).encode()


def _transport(case) -> dict:
    kwargs = case.as_transport_kwargs()
    return {"method": kwargs["method"], "url": kwargs["url"],
            "headers": {k: v for k, v in (kwargs.get("headers") or {}).items()},
            "content": json.dumps(kwargs["json"]) if "json" in kwargs else kwargs.get("data")}
