"""The agency webhook against agency-events.md sections 2-5: every row of the response table,
problem details on every error, and that a rejected event leaves no trace in any table."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from standardwebhooks.webhooks import Webhook

from app.agencies import service
from app.agencies.signing import new_secret
from app.core.config import Settings
from app.core.problems import database_unavailable
from app.main import create_app
from tests.agency_client import AgencyClient, at, opened, victim
from tests.conftest import POSTGRES_ADMIN_URL
from tests.journeys import (
    Cast,
    assert_problem,
    case_json,
    open_linked_case,
    register_cast,
    row_counts,
)
from tests.live_server import live_server
from tests.portal.helpers import ALEX, case_ids, open_case, sign_in
from tests.staff_helpers import sign_in_staff

REF = "01/23456/26"
LIMIT = 256 * 1024
HEARING = {"hearing_id": "H-778", "hearing_type": "trial", "court": "Snaresbrook Crown Court",
           "starts_at": "2027-02-03T10:00:00Z"}
UPDATE = {"message": "We have spoken to a witness."}


@pytest.fixture
def cast(registry, police) -> Cast:
    return register_cast(registry, police)


@pytest.fixture
def case(cast: Cast) -> str:
    open_linked_case(cast, REF)
    return REF


@pytest.fixture
def rejects(engine) -> Callable[..., dict[str, Any]]:
    """Sends a request that must be refused with `status` and change no row of any table."""

    def check(status: int, send: Callable[[], Any], slug: str | None = None) -> dict[str, Any]:
        before = row_counts(engine)
        body = assert_problem(send(), status, slug)
        assert row_counts(engine) == before, "a rejected event left a trace"
        return body
    return check


def signed(agency: AgencyClient, envelope: dict[str, Any], webhook_id: str | None = None,
           **kwargs: Any) -> tuple[str, dict[str, str]]:
    body = json.dumps(envelope)
    return body, agency.signed_headers(body, webhook_id, **kwargs)


# --- 202 and 200 ------------------------------------------------------------------------------

def test_accepted_event_is_committed_before_the_202(cast, case, engine):
    before = row_counts(engine)
    response = cast.court.send("hearing.scheduled", REF, HEARING, at("2026-12-01"),
                               webhook_id="court-evt-1")
    assert response.status_code == 202, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "accepted", "event_id": "court-evt-1"}
    after = row_counts(engine)  # a fresh connection: only committed rows are visible
    assert after["received_event"] == before["received_event"] + 1
    assert after["timeline_entry"] == before["timeline_entry"] + 1
    assert after["hearing"] == before["hearing"] + 1
    shown = case_json(engine, REF)
    assert shown["timeline"][-1]["event_id"] == "court-evt-1"
    assert shown["hearings"][0]["starts_at"].startswith("2027-02-03T10:00:00")


def test_same_webhook_id_and_body_is_a_duplicate_that_changes_nothing(cast, case, engine):
    body, headers = signed(cast.court, cast.court.envelope("hearing.scheduled", REF, HEARING),
                           "court-evt-2")
    assert cast.court.post_raw(body, headers).status_code == 202
    before = row_counts(engine)
    # An agency's retry is signed afresh, with a new timestamp, but keeps id and body.
    retry = cast.court.signed_headers(body, "court-evt-2",
                                      timestamp=datetime.now(UTC) + timedelta(seconds=30))
    again = cast.court.post_raw(body, retry)
    assert again.status_code == 200, again.text
    assert again.json() == {"status": "duplicate", "event_id": "court-evt-2"}
    assert row_counts(engine) == before


def test_webhook_ids_are_per_agency(cast, case, engine):
    cast.police.send_ok("investigation.update", REF, UPDATE, webhook_id="shared-id-1")
    before = row_counts(engine)
    response = cast.court.send("hearing.scheduled", REF, HEARING, webhook_id="shared-id-1")
    assert response.status_code == 202, response.text
    assert row_counts(engine)["received_event"] == before["received_event"] + 1


# --- 401 ----------------------------------------------------------------------------------------

def _without(header: str) -> Callable[[dict[str, str], str], dict[str, str]]:
    return lambda headers, _body: {k: v for k, v in headers.items() if k != header}


def _other_secret(headers: dict[str, str], body: str) -> dict[str, str]:
    stamp = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    return headers | {"webhook-signature": Webhook(new_secret()).sign(
        headers["webhook-id"], stamp, body)}


def _stamped(offset: timedelta) -> Callable[[AgencyClient, str], dict[str, str]]:
    return lambda agency, body: agency.signed_headers(body, timestamp=datetime.now(UTC) + offset)


BAD_AUTH: dict[str, Callable[[dict[str, str], str], dict[str, str]]] = {
    "no webhook-id": _without("webhook-id"),
    "no webhook-timestamp": _without("webhook-timestamp"),
    "no webhook-signature": _without("webhook-signature"),
    "no headers at all": lambda headers, _body: {"content-type": "application/json"},
    "signed with another secret": _other_secret,
    "garbage signature": lambda headers, _body: headers | {"webhook-signature": "v1,AAAA"},
    "malformed signature": lambda headers, _body: headers | {"webhook-signature": "nonsense"},
    "unknown signature version": lambda headers, _body: headers | {
        "webhook-signature": headers["webhook-signature"].replace("v1,", "v9,")},
    "signature of another webhook-id": lambda headers, _body: headers | {"webhook-id": "other"},
    "timestamp not a number": lambda headers, _body: headers | {"webhook-timestamp": "soon"},
}


@pytest.mark.parametrize("tamper", BAD_AUTH.values(), ids=BAD_AUTH.keys())
def test_bad_authentication_is_401(cast, case, rejects, tamper):
    body, headers = signed(cast.police, cast.police.envelope("investigation.update", REF, UPDATE))
    rejects(401, lambda: cast.police.post_raw(body, tamper(headers, body)), "invalid-signature")


def test_body_changed_after_signing_is_401(cast, case, rejects):
    body, headers = signed(cast.police, cast.police.envelope("investigation.update", REF, UPDATE))
    tampered = body.replace("witness", "suspect")
    rejects(401, lambda: cast.police.post_raw(tampered, headers), "invalid-signature")


@pytest.mark.parametrize("offset", [timedelta(minutes=-5, seconds=-30),
                                    timedelta(minutes=5, seconds=30),
                                    timedelta(days=-1)], ids=["too old", "too new", "a day old"])
def test_timestamp_outside_five_minutes_is_401(cast, case, rejects, offset):
    body = json.dumps(cast.police.envelope("investigation.update", REF, UPDATE))
    headers = _stamped(offset)(cast.police, body)
    rejects(401, lambda: cast.police.post_raw(body, headers), "invalid-signature")


@pytest.mark.parametrize("offset", [timedelta(minutes=-4, seconds=-30),
                                    timedelta(minutes=4, seconds=30)], ids=["old", "new"])
def test_timestamp_within_five_minutes_is_accepted(cast, case, offset):
    body = json.dumps(cast.police.envelope("investigation.update", REF, UPDATE))
    response = cast.police.post_raw(body, _stamped(offset)(cast.police, body))
    assert response.status_code == 202, response.text


def test_any_listed_signature_may_match(cast, case):
    body, headers = signed(cast.police, cast.police.envelope("investigation.update", REF, UPDATE))
    bogus = _other_secret(headers, body)["webhook-signature"]
    headers["webhook-signature"] = f"{bogus} {headers['webhook-signature']}"
    response = cast.police.post_raw(body, headers)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("junk", ["nonsense", "v1,!!!", "v1,a,b", "", "v1,"])
def test_a_malformed_entry_does_not_hide_a_valid_signature(cast, case, junk):
    body, headers = signed(cast.police, cast.police.envelope("investigation.update", REF, UPDATE))
    headers["webhook-signature"] = f"{junk} {headers['webhook-signature']}"
    response = cast.police.post_raw(body, headers)
    assert response.status_code == 202, response.text


def test_retired_secret_is_401_and_new_one_works(cast, case, session, settings, rejects):
    old = cast.police.secret
    _agency, new = service.rotate_secret(session, settings.secret_key, cast.police.agency_id)
    for secret in (old, new):  # during rotation both verify
        cast.police.secret = secret
        cast.police.send_ok("investigation.update", REF, UPDATE)
    assert service.retire_secrets(session, cast.police.agency_id) == 1
    cast.police.secret = old
    rejects(401, lambda: cast.police.send("investigation.update", REF, UPDATE),
            "invalid-signature")
    cast.police.secret = new
    cast.police.send_ok("investigation.update", REF, UPDATE)


def test_authentication_comes_before_anything_else(cast, rejects):
    """An unsigned request learns nothing: not whether the case exists, nor the schema."""
    for envelope in (cast.police.envelope("investigation.update", "01/00404/26", UPDATE),
                     {"type": "no.such.type"}):
        body, headers = signed(cast.police, envelope)
        headers = _other_secret(headers, body)
        rejects(401, lambda b=body, h=headers: cast.police.post_raw(b, h), "invalid-signature")


# --- 403 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sender", "event_type", "data"), [
    ("police", "hearing.scheduled", HEARING),
    ("court", "suspect.arrested", {}),
    ("cps", "officer.assigned", {"role": "oic", "name": "DC Priya Example"}),
    ("wcu", "charging.decision", {"decision": "charge"}),
    ("support", "offender.released", {}),
    ("probation", "support.accepted", {"victim_ref": "V1", "service": "Victim Support"}),
])
def test_type_not_allowed_for_the_agency_kind_is_403(cast, case, rejects, sender, event_type,
                                                      data):
    agency = getattr(cast, sender)
    rejects(403, lambda: agency.send(event_type, REF, data), "type-not-allowed")


@pytest.mark.parametrize("sender", ["cps", "wcu", "court", "support"])
def test_only_police_may_open_a_case(cast, rejects, sender):
    agency = getattr(cast, sender)
    rejects(403, lambda: agency.send("case.opened", "01/55555/26", opened()), "type-not-allowed")


def test_agency_not_linked_to_the_case_is_403(cast, registry, rejects):
    cast.police.send_ok("case.opened", REF, opened())  # nobody else is linked yet
    rejects(403, lambda: cast.probation.send("offender.released", REF, {}), "not-linked")
    rejects(403, lambda: cast.court.send("hearing.scheduled", REF, HEARING), "not-linked")
    rejects(403, lambda: cast.cps.send("case.agency_linked", REF,
                                       {"agency_id": cast.court.agency_id}), "not-linked")
    rejects(403, lambda: cast.cps.send("request.acknowledged", REF, {"request_id": "R-1"}),
            "not-linked")
    other_force = registry.add("city-police", "police", "City of London Police")
    rejects(403, lambda: other_force.send("investigation.update", REF, UPDATE), "not-linked")


@pytest.mark.parametrize(("linker", "target"), [
    ("police", "court"), ("police", "probation"), ("wcu", "probation"), ("wcu", "cps"),
    ("cps", "support"), ("court", "wcu"), ("support", "cps"), ("probation", "court"),
])
def test_link_not_allowed_by_section_4_is_403(cast, case, rejects, registry, linker, target):
    by = getattr(cast, linker)
    # Linking a second agency of the target's kind, not yet on the case.
    kind = getattr(cast, target).kind
    newcomer = registry.add(f"new-{kind.replace('_', '-')}", kind, f"Another {kind}")
    rejects(403, lambda: by.send("case.agency_linked", REF, {"agency_id": newcomer.agency_id}),
            "link-not-allowed")


@pytest.mark.parametrize(("linker", "target"), [
    ("police", "cps"), ("police", "wcu"), ("police", "support"), ("wcu", "court"),
    ("cps", "court"), ("cps", "probation"), ("court", "probation"),
])
def test_links_allowed_by_section_4(cast, case, registry, engine, linker, target):
    by = getattr(cast, linker)
    kind = getattr(cast, target).kind
    newcomer = registry.add(f"new-{kind.replace('_', '-')}", kind, f"Another {kind}")
    by.send_ok("case.agency_linked", REF, {"agency_id": newcomer.agency_id})
    assert newcomer.agency_id in case_json(engine, REF)["agencies"]
    # The newly linked agency may now send its own kind of event for the case.
    event_type, data = FIRST_EVENT[kind]
    newcomer.send_ok(event_type, REF, data)


FIRST_EVENT: dict[str, tuple[str, dict[str, Any]]] = {
    "cps": ("charging.decision", {"decision": "charge", "charges": ["Burglary"]}),
    "witness_care": ("witness_care.assigned", {"name": "Chris Example"}),
    "support_service": ("support.accepted", {"victim_ref": "V1", "service": "Victim Support"}),
    "court": ("hearing.scheduled", HEARING),
    "probation": ("vlo.assigned", {"name": "Robin Example"}),
}


# --- 404 ----------------------------------------------------------------------------------------

def test_unknown_agency_is_404(cast, case, client, rejects):
    body, headers = signed(cast.police, cast.police.envelope("investigation.update", REF, UPDATE))
    rejects(404, lambda: client.post("/webhooks/agencies/no-such-force/events", content=body,
                                     headers=headers), "unknown-agency")


@pytest.mark.parametrize(("sender", "event_type", "data"), [
    ("police", "investigation.update", UPDATE),
    ("police", "case.agency_linked", {"agency_id": "cps-london"}),
    ("court", "hearing.scheduled", HEARING),
    ("cps", "charging.decision", {"decision": "charge"}),
])
def test_unknown_crime_reference_is_404(cast, case, rejects, sender, event_type, data):
    agency = getattr(cast, sender)
    rejects(404, lambda: agency.send(event_type, "01/99999/26", data), "unknown-case")


def test_crime_reference_is_compared_exactly(cast, case, rejects):
    for near_miss in ("01/23456/26 ", "01/23456/026", "01-23456-26"):
        rejects(404, lambda r=near_miss: cast.police.send("investigation.update", r, UPDATE),
                "unknown-case")


@pytest.mark.parametrize(("sender", "event_type", "data"), [
    ("police", "request.acknowledged", {"request_id": "R-404"}),
    ("cps", "request.completed", {"request_id": "R-404", "decision": "upheld"}),
    ("support", "request.completed", {"request_id": "R-404", "decision": "done"}),
])
def test_unknown_request_id_is_404(cast, case, rejects, sender, event_type, data):
    agency = getattr(cast, sender)
    rejects(404, lambda: agency.send(event_type, REF, data), "unknown-request")


def test_event_before_its_case_is_404_and_can_be_retried(cast, engine, rejects):
    body, headers = signed(cast.police,
                           cast.police.envelope("investigation.update", REF, UPDATE,
                                                at("2026-11-20", "10:00")), "early-1")
    rejects(404, lambda: cast.police.post_raw(body, headers), "unknown-case")
    cast.police.send_ok("case.opened", REF, opened(), at("2026-11-20", "09:00"))
    retry = cast.police.post_raw(body, cast.police.signed_headers(body, "early-1"))
    assert retry.status_code == 202, retry.text  # the 404 left nothing to be a duplicate of
    assert [e["type"] for e in case_json(engine, REF)["timeline"]] == [
        "case.opened", "investigation.update"]


# --- 409 ----------------------------------------------------------------------------------------

def test_same_webhook_id_with_a_different_body_is_409(cast, case, rejects):
    cast.police.send_ok("investigation.update", REF, UPDATE, webhook_id="reused-1")
    rejects(409, lambda: cast.police.send("investigation.update", REF,
                                          {"message": "Something else."}, webhook_id="reused-1"),
            "webhook-id-reused")
    # Even a body that would otherwise be refused: the id is spent.
    rejects(409, lambda: cast.police.post_raw("[]", cast.police.signed_headers("[]", "reused-1")),
            "webhook-id-reused")


def test_case_opened_for_an_existing_crime_reference_is_409(cast, case, registry, rejects):
    rejects(409, lambda: cast.police.send("case.opened", REF, opened()), "case-exists")
    other_force = registry.add("city-police", "police", "City of London Police")
    rejects(409, lambda: other_force.send("case.opened", REF, opened()), "case-exists")


# --- 413 ----------------------------------------------------------------------------------------

def padded_body(agency: AgencyClient, size: int) -> str:
    """A valid event of exactly `size` bytes, padded with a field the schema ignores."""
    envelope = agency.envelope("investigation.update", REF, UPDATE | {"padding": ""})
    bare = len(json.dumps(envelope).encode())
    envelope["data"]["padding"] = "x" * (size - bare)
    body = json.dumps(envelope)
    assert len(body.encode()) == size
    return body


def test_body_of_exactly_256_kib_is_accepted(cast, case):
    body = padded_body(cast.police, LIMIT)
    response = cast.police.post_raw(body, cast.police.signed_headers(body))
    assert response.status_code == 202, response.text


def test_content_length_over_256_kib_is_413(cast, case, rejects):
    body = padded_body(cast.police, LIMIT + 1)
    headers = cast.police.signed_headers(body)
    rejects(413, lambda: cast.police.post_raw(body, headers), "body-too-large")


def _chunks(body: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_streamed_body_without_content_length(settings, cast, case, engine):
    """Over a real socket with chunked transfer encoding: no Content-Length to trust."""
    small = json.dumps(cast.police.envelope("investigation.update", REF, UPDATE))
    big = padded_body(cast.police, LIMIT + 1)
    before = row_counts(engine)
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        def post(body: str) -> httpx.Response:
            request = http.build_request(
                "POST", f"/webhooks/agencies/{cast.police.agency_id}/events",
                content=_chunks(body.encode()), headers=cast.police.signed_headers(body))
            assert "content-length" not in request.headers
            assert request.headers["transfer-encoding"] == "chunked"
            return http.send(request)

        assert_problem(post(big), 413, "body-too-large")
        assert row_counts(engine) == before
        accepted = post(small)
        assert accepted.status_code == 202, accepted.text


# --- 422 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["{not json", "", "{\"type\": ", "\ufeff{}"],
                         ids=["broken", "empty", "truncated", "bom"])
def test_invalid_json_is_422(cast, case, rejects, body):
    problem = rejects(422, lambda: cast.police.post_raw(body, cast.police.signed_headers(body)),
                      "invalid-event")
    assert [e["field"] for e in problem["errors"]] == ["body"]


@pytest.mark.parametrize("body", ["[]", "[{}]", "\"case.opened\"", "42", "null", "true"])
def test_json_that_is_not_an_object_is_422(cast, case, rejects, body):
    problem = rejects(422, lambda: cast.police.post_raw(body, cast.police.signed_headers(body)),
                      "invalid-event")
    assert [e["field"] for e in problem["errors"]] == ["body"]


def _fields(problem: dict[str, Any]) -> set[str]:
    return {e["field"] for e in problem["errors"]}


def test_every_field_error_is_listed(cast, case, rejects):
    envelope = {"type": "hearing.scheduled", "crime_reference": "",
                "data": {"hearing_id": "H-1", "hearing_type": "picnic",
                         "starts_at": "2027-02-03T10:00:00", "address": ""}}
    problem = rejects(422, lambda: cast.court.post_raw(*signed(cast.court, envelope)),
                      "invalid-event")
    assert {"occurred_at", "crime_reference", "data.hearing_type", "data.court",
            "data.starts_at", "data.address"} <= _fields(problem)


def test_every_field_error_is_listed_in_nested_victims(cast, rejects):
    data = {"crime_type": "", "offence_group": "jaywalking", "borough": "Hackney",
            "victims": [victim("V1", email="not-an-email", mobile="12",
                               contact={"quiet_hours": {"from": "25:00", "to": "08:00"}}),
                        {"victim_ref": "V2"}]}
    envelope = cast.police.envelope("case.opened", "01/42242/26", data)
    problem = rejects(422, lambda: cast.police.post_raw(*signed(cast.police, envelope)))
    assert {"data.crime_type", "data.offence_group", "data.reported_at",
            "data.victims.0.email", "data.victims.0.mobile",
            "data.victims.0.contact.quiet_hours.from", "data.victims.1.given_name",
            "data.victims.1.family_name"} <= _fields(problem)


@pytest.mark.parametrize(("envelope_change", "field"), [
    ({"type": "hearing.rescheduled"}, "type"),
    ({"type": 7}, "type"),
    ({"occurred_at": "2026-11-20T10:15:00"}, "occurred_at"),
    ({"occurred_at": 1763633700}, "occurred_at"),
    ({"occurred_at": "2026-11-20"}, "occurred_at"),
    ({"occurred_at": "last Tuesday"}, "occurred_at"),
    ({"crime_reference": "x" * 65}, "crime_reference"),
    ({"crime_reference": "01/234\n56/26"}, "crime_reference"),
    ({"data": ["not", "an", "object"]}, "data"),
], ids=["unknown type", "type not text", "no offset", "number", "date only", "prose",
        "reference too long", "reference not printable", "data not object"])
def test_envelope_errors_are_422(cast, case, rejects, envelope_change, field):
    envelope = cast.police.envelope("investigation.update", REF, UPDATE) | envelope_change
    problem = rejects(422, lambda: cast.police.post_raw(*signed(cast.police, envelope)),
                      "invalid-event")
    assert field in _fields(problem)


@pytest.mark.parametrize(("change", "field"), [
    ({"data": {"message": "before\x00after"}}, "data.message"),
    ({"crime_reference": "01/2\x0034/26"}, "crime_reference"),
    ({"data": {"message": "fine", "note\x00": "ignored field"}}, "data.note\\u0000"),
], ids=["in a value", "in the envelope", "in an ignored field's name"])
def test_text_with_a_nul_character_is_422_not_a_database_error(cast, case, rejects, change,
                                                              field):
    """Valid JSON that PostgreSQL cannot store (found by the signed fuzzing on PostgreSQL: it
    was a 503, which the agency would have retried for ever)."""
    envelope = cast.police.envelope("investigation.update", REF, UPDATE) | change
    problem = rejects(422, lambda: cast.police.post_raw(*signed(cast.police, envelope)),
                      "invalid-event")
    assert field in _fields(problem)


@pytest.mark.parametrize("missing", ["type", "occurred_at", "crime_reference", "data"])
def test_missing_envelope_member_is_422(cast, case, rejects, missing):
    envelope = cast.police.envelope("investigation.update", REF, UPDATE)
    del envelope[missing]
    problem = rejects(422, lambda: cast.police.post_raw(*signed(cast.police, envelope)))
    assert missing in _fields(problem)


@pytest.mark.parametrize(("sender", "event_type", "data", "field"), [
    ("police", "officer.assigned", {"role": "chief", "name": "DC Example"}, "data.role"),
    ("police", "support.referred", {"victim_ref": "V1", "service": "VS", "consent": False},
     "data.consent"),
    ("police", "investigation.closed", {"outcome": "bored"}, "data.outcome"),
    ("police", "vps.offered", {}, "data.victim_ref"),
    ("court", "hearing.scheduled", HEARING | {"window": {"from": "2027-02-01",
                                                         "to": "2027-02-05"}}, "data"),
    ("court", "hearing.outcome", {"hearing_id": "H-778", "outcome": "convicted",
                                  "remand": "home"}, "data.remand"),
    ("court", "sentence.passed", {"sentence": "Two years", "custody_months": "two"},
     "data.custody_months"),
    ("wcu", "special_measures.decided", {"victim_ref": "V1", "granted": ["moat"]},
     "data.granted.0"),
    ("probation", "release.scheduled", {"release_month": "2027-13"}, "data.release_month"),
])
def test_data_schema_errors_are_422(cast, case, rejects, sender, event_type, data, field):
    agency = getattr(cast, sender)
    problem = rejects(422, lambda: agency.send(event_type, REF, data), "invalid-event")
    assert field in _fields(problem)


@pytest.mark.parametrize(("sender", "event_type", "data", "field"), [
    ("police", "vps.offered", {"victim_ref": "V9"}, "data.victim_ref"),
    ("police", "investigation.update", UPDATE | {"victim_ref": "V9"}, "data.victim_ref"),
    ("police", "victim.updated", {"victim": victim("V9")}, "data.victim.victim_ref"),
    ("wcu", "witness.required", {"victim_ref": "v1", "hearing_id": "H-778"}, "data.victim_ref"),
    ("probation", "vcs.referred", {"victim_ref": "V9"}, "data.victim_ref"),
    ("support", "support.closed", {"victim_ref": "V9"}, "data.victim_ref"),
])
def test_victim_ref_not_a_victim_of_the_case_is_422(cast, case, rejects, sender, event_type,
                                                    data, field):
    agency = getattr(cast, sender)
    problem = rejects(422, lambda: agency.send(event_type, REF, data), "invalid-event")
    assert _fields(problem) == {field}


def test_victim_of_another_case_is_not_a_victim_of_this_one(cast, case, rejects):
    cast.police.send_ok("case.opened", "01/11111/26", opened(victims=[victim("V7")]))
    rejects(422, lambda: cast.police.send("vps.offered", REF, {"victim_ref": "V7"}))


def test_victim_added_brings_a_new_victim_ref_into_the_case(cast, case):
    cast.police.send_ok("victim.added", REF, {"victim": victim("V3")})
    cast.police.send_ok("vps.offered", REF, {"victim_ref": "V3"})


def test_webhook_id_longer_than_255_characters_is_422(cast, case, rejects):
    body = json.dumps(cast.police.envelope("investigation.update", REF, UPDATE))
    headers = cast.police.signed_headers(body, "x" * 256)
    rejects(422, lambda: cast.police.post_raw(body, headers), "invalid-event")
    ok = cast.police.signed_headers(body, "x" * 255)
    assert cast.police.post_raw(body, ok).status_code == 202


def test_unknown_extra_fields_are_ignored(cast, case, engine):
    envelope = cast.police.envelope("investigation.update", REF, UPDATE | {"colour": "blue"})
    envelope["schema_version"] = 3
    response = cast.police.post_raw(*signed(cast.police, envelope))
    assert response.status_code == 202, response.text


# --- 503 ----------------------------------------------------------------------------------------

@contextmanager
def client_of_an_unreachable_database() -> Iterator[TestClient]:
    """The app on a database URL nothing answers (a closed port)."""
    settings = Settings(env="test", database_url="postgresql+psycopg://postgres@127.0.0.1:1/nope",
                        base_url="http://testserver",
                        secret_key="test-secret-key-that-is-long-enough-0123456789")
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.engine.dispose()


def test_database_down_is_503_and_not_ready_but_alive(caplog):
    with client_of_an_unreachable_database() as client:
        agency = AgencyClient("met-police", "police", new_secret(), client)
        response = agency.send("case.opened", REF, opened())
        assert_problem(response, 503, "database-unavailable")
        # The operator is told why, without the statement or its parameters.
        logged = [r.getMessage() for r in caplog.records if r.name == "tmc.agencies"]
        assert logged == ["event refused with 503: database unavailable "
                          "(OperationalError, SQLSTATE -)"]
        assert client.get("/readyz").status_code == 503
        health = client.get("/healthz")
        assert health.status_code == 200


def test_a_database_error_outside_the_webhook_is_a_logged_503(caplog):
    """Any other route (here a portal page with a session cookie) gets a 503 too (a page: see
    below), and the operator is told why: before, the app-wide handler answered without a word
    in the log."""
    with client_of_an_unreachable_database() as client:
        response = client.get("/", headers={"Cookie": "tmc_session=some-token"})
    assert response.status_code == 503
    logged = [r.getMessage() for r in caplog.records if r.name == "tmc.app"]
    assert logged == ["request answered 503: database error (OperationalError, SQLSTATE -)"]


# --- 503 while the database is down: a page for people, the problem for machines -------------
# The app's own database goes away under it (PostgreSQL stops taking connections to it and ends
# its sessions; the SQLite file is replaced by a folder), then comes back for the row counts.

UNAVAILABLE = "Sorry, the service is unavailable"
LOGGED_503 = re.compile(r"request answered 503: database error \(OperationalError, SQLSTATE "
                        r"[0-9A-Z-]+\)")


@contextmanager
def database_down(database_url: str, *engines: Engine) -> Iterator[None]:
    for engine in engines:  # no pooled connection survives: every request must connect
        engine.dispose()
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        aside = path.with_name(path.name + ".aside")
        path.rename(aside)
        path.mkdir()
        try:
            yield
        finally:
            path.rmdir()
            aside.rename(path)
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = url.database
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name"), {"name": name})
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def assert_unavailable_page(response: Any, title_suffix: str | None) -> None:
    """A 503 page a person can read, in its layout (`title_suffix`; None: an htmx fragment),
    with nothing technical in it."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("text/html"), response.headers
    assert response.headers["cache-control"] == "no-store"
    assert int(response.headers["retry-after"]) > 0
    assert UNAVAILABLE in response.text
    assert "Please try again in a few minutes." in response.text
    for technical in ("database", "OperationalError", "SQLSTATE", "urn:tmc:problem"):
        assert technical not in response.text, technical
    if title_suffix is None:
        assert "<html" not in response.text
    else:
        assert f"<title>{UNAVAILABLE} \N{EN DASH} {title_suffix}</title>" in response.text


def assert_database_problem(response: Any) -> None:
    """Exactly the problem agencies and API clients got before."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == database_unavailable().body()


def test_a_victim_gets_a_page_not_json_when_the_database_is_down(app, client, police, engine,
                                                                 database_url, caplog):
    open_case(police, REF, [ALEX])
    case_path = "/cases/" + case_ids(sign_in(client, engine, REF, "1990-05-17",
                                             "+447700900123").text)[0]
    before = row_counts(engine)
    with database_down(database_url, app.state.engine, engine):
        page = client.get(case_path, headers={"Accept": "text/html"})
        poll = client.get(f"{case_path}/timeline?seen=0", headers={"HX-Request": "true"})
        client.cookies.clear()
        first_visit = client.get("/sign-in")  # no session yet: starting one needs the database
    assert_unavailable_page(page, "Track My Crime")
    assert_unavailable_page(poll, None)
    assert_unavailable_page(first_visit, "Track My Crime")
    assert row_counts(engine) == before
    logged = [r.getMessage() for r in caplog.records if r.name == "tmc.app"]
    assert len(logged) == 3 and all(LOGGED_503.fullmatch(m) for m in logged), logged


def test_staff_get_a_page_in_the_staff_layout_when_the_database_is_down(app, client, engine,
                                                                         database_url):
    sign_in_staff(client, "pat.officer@met.police.uk", roles=("officer", "oversight"))
    before = row_counts(engine)
    with database_down(database_url, app.state.engine, engine):
        cases = client.get("/staff/cases")
        oversight = client.get("/staff/oversight")
    assert_unavailable_page(cases, "Track My Crime staff")
    assert_unavailable_page(oversight, "Track My Crime staff")
    assert row_counts(engine) == before


def test_agencies_and_api_clients_still_get_the_problem_when_the_database_is_down(
        app, client, police, engine, database_url):
    open_case(police, REF, [ALEX])
    sign_in_staff(client, "hub@example.gov.uk", roles=("hub",))
    before = row_counts(engine)
    with database_down(database_url, app.state.engine, engine):
        event = police.send("investigation.update", REF, UPDATE)
        api = client.get("/api/staff/obligations", headers={"Accept": "text/html"})
    assert_database_problem(event)
    assert_database_problem(api)
    assert row_counts(engine) == before


def test_ready_when_the_database_answers(client):
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_the_webhook_is_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    operation = paths["/webhooks/agencies/{agency_id}/events"]["post"]
    assert {"202", "200", "401", "403", "404", "409", "413", "422", "503"} <= set(
        operation["responses"])
