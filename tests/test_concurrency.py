"""Real concurrency against a real server (uvicorn on a free port, 20 client threads), on SQLite
and on PostgreSQL: one webhook-id is accepted exactly once however many deliveries race, one
crime reference is opened exactly once, and racing events still converge on the latest."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.agency_client import AgencyClient, Registry, at, later, opened
from tests.journeys import V1, V2, Cast, case_json, open_linked_case, register_cast, row_counts
from tests.live_server import live_server

REF = "01/56789/26"
PARALLEL = 20


@pytest.fixture
def server(settings) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


@pytest.fixture
def cast(session, settings, server) -> Iterator[Cast]:
    registry = Registry(session, settings, client=None)
    cast = register_cast(registry, registry.add("met-police", "police", "Met"))
    with httpx.Client(base_url=server, timeout=60) as http:
        for agency in cast.all():
            agency.client = http
        yield cast


Delivery = tuple[str, dict[str, str]]


def post_together(url: str, agency: AgencyClient, deliveries: list[Delivery]
                  ) -> list[httpx.Response]:
    """POSTs every delivery at once, each from its own thread and connection."""
    barrier = threading.Barrier(len(deliveries))

    def post(delivery: Delivery) -> httpx.Response:
        body, headers = delivery
        with httpx.Client(base_url=url, timeout=60) as http:
            assert http.get("/healthz").status_code == 200  # connection open before the race
            barrier.wait()
            return http.post(f"/webhooks/agencies/{agency.agency_id}/events", content=body,
                             headers=headers)

    with ThreadPoolExecutor(len(deliveries)) as pool:
        return list(pool.map(post, deliveries))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def same_delivery(agency: AgencyClient, event_type: str, data: dict, webhook_id: str,
                  occurred_at: str | None = None) -> list[Delivery]:
    """One event as an agency retrying in a hurry would send it: same id and body each time."""
    body = json.dumps(agency.envelope(event_type, REF, data, occurred_at))
    headers = agency.signed_headers(body, webhook_id)
    return [(body, headers)] * PARALLEL


def test_one_case_opened_delivered_twenty_times_at_once(server, cast, engine):
    responses = post_together(server, cast.police,
                              same_delivery(cast.police, "case.opened", opened(victims=[V1, V2]),
                                            "open-1"))
    assert statuses(responses) == {202: 1, 200: PARALLEL - 1}, [r.text for r in responses]
    for response in responses:
        expected = "accepted" if response.status_code == 202 else "duplicate"
        assert response.json() == {"status": expected, "event_id": "open-1"}
    counts = row_counts(engine)
    assert (counts["case"], counts["received_event"], counts["timeline_entry"],
            counts["victim"], counts["case_agency"]) == (1, 1, 1, 2, 1)


def test_one_event_delivered_twenty_times_at_once_on_an_open_case(server, cast, engine):
    open_linked_case(cast, REF)
    before = row_counts(engine)
    responses = post_together(server, cast.court, same_delivery(
        cast.court, "hearing.scheduled",
        {"hearing_id": "H-1", "hearing_type": "trial", "court": "Snaresbrook Crown Court",
         "starts_at": "2027-02-03T10:00:00Z"}, "listing-1", at("2026-12-01")))
    assert statuses(responses) == {202: 1, 200: PARALLEL - 1}, [r.text for r in responses]
    after = row_counts(engine)
    assert after["received_event"] == before["received_event"] + 1
    assert after["timeline_entry"] == before["timeline_entry"] + 1
    assert after["hearing"] == before["hearing"] + 1
    timeline = case_json(engine, REF)["timeline"]
    assert [e["event_id"] for e in timeline].count("listing-1") == 1


def test_twenty_case_opened_for_one_crime_reference_open_it_once(server, cast, engine):
    deliveries = []
    for n in range(PARALLEL):
        body = json.dumps(cast.police.envelope("case.opened", REF, opened(
            victims=[V1 | {"victim_ref": f"V{n}"}])))
        deliveries.append((body, cast.police.signed_headers(body, f"open-{n}")))
    responses = post_together(server, cast.police, deliveries)
    assert statuses(responses) == {202: 1, 409: PARALLEL - 1}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["type"].endswith("case-exists")
    (winner,) = [n for n, r in enumerate(responses) if r.status_code == 202]
    counts = row_counts(engine)
    assert (counts["case"], counts["received_event"], counts["timeline_entry"],
            counts["victim"]) == (1, 1, 1, 1)
    shown = case_json(engine, REF)
    assert [v["victim_ref"] for v in shown["victims"]] == [f"V{winner}"]
    assert [e["event_id"] for e in shown["timeline"]] == [f"open-{winner}"]


def test_racing_changes_converge_on_the_latest(server, cast, engine):
    open_linked_case(cast, REF)
    cast.court.send_ok("hearing.scheduled", REF,
                       {"hearing_id": "H-1", "hearing_type": "trial",
                        "court": "Snaresbrook Crown Court", "starts_at": "2027-02-01T10:00:00Z"},
                       at("2026-12-01"))
    changes = []
    for n in range(PARALLEL):
        occurred_at = later(at("2026-12-02"), n)
        data = {"hearing_id": "H-1", "starts_at": later("2027-03-01T10:00:00Z", 60 * 24 * n)}
        body = json.dumps(cast.court.envelope("hearing.changed", REF, data, occurred_at))
        changes.append((body, cast.court.signed_headers(body, f"change-{n}")))
    random.Random(PARALLEL).shuffle(changes)
    responses = post_together(server, cast.court, changes)
    assert statuses(responses) == {202: PARALLEL}, [r.text for r in responses]
    shown = case_json(engine, REF)
    newest = later("2027-03-01T10:00:00Z", 60 * 24 * (PARALLEL - 1)).removesuffix("Z")
    assert shown["hearings"][0]["starts_at"].startswith(newest)
    changed = [e["event_id"] for e in shown["timeline"] if e["type"] == "hearing.changed"]
    assert changed == [f"change-{n}" for n in range(PARALLEL)]  # by occurred_at
