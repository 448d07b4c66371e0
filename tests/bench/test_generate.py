"""The London generator's bulk path writes what the real receiver would have written.

The same 30 journeys go in twice: by COPY (bench/generate) under references LDN/..., and one
signed event at a time through the real receiver (`app.agencies.service.ingest`) under
references REAL/...; every case must then read the same (`tmc case show --json`, i.e.
`view_case` + `case_as_json`), timeline entries must render in plain English and Welsh, and
the receiver must take further events onto bulk-loaded cases (no id or constraint clash).
PostgreSQL only: the bulk path is COPY.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from app.agencies import catalogue
from app.agencies import service as agencies_service
from app.cases import service as cases_service
from app.cases.models import Case, TimelineEntry, Victim
from app.core.i18n import translator
from bench.generate import run as generate
from bench.generate.journeys import AGENCIES, AGENCY_IDS, journey, stamp, webhook_id
from bench.generate.rows import _mirror
from tests.conftest import _truncate_all

SEED, CASES = 5, 30  # seed 5 gives, in 30 cases, every event type the bulk path mirrors
UNTIL = datetime(2026, 11, 1, tzinfo=UTC)
YEARS = 3
KINDS = {agency_id: kind for _key, agency_id, kind, _name in AGENCIES}

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(postgres_template_url: str) -> str:
    """PostgreSQL only (overrides the SQLite-and-PostgreSQL fixture of tests/conftest.py)."""
    _truncate_all(postgres_template_url)
    return postgres_template_url


@pytest.fixture
def loaded(settings, engine) -> dict[str, str]:
    """The 30 cases bulk-loaded; returns the agencies' signing secrets."""
    url = settings.database_url
    agencies = generate.register_agencies(url, settings.secret_key)
    result = generate.bulk_load(url, agencies, CASES, SEED, UNTIL, YEARS, chunk=7,
                                progress=False)
    assert result["rows"]["case"] == CASES
    return generate.agency_secrets(url, settings.secret_key)


def _journeys(prefix: str):
    return [journey(SEED, n, UNTIL, YEARS, CASES, prefix) for n in range(1, CASES + 1)]


def _ingest_for_real(session: Session, secret_key: str, secrets: dict[str, str]) -> int:
    sent = 0
    for case in _journeys("REAL"):
        for i, step in enumerate(case.steps):
            agency_id = AGENCY_IDS[step.agency]
            hook = webhook_id("REAL", case.n, i)
            body = orjson.dumps({"type": step.type, "occurred_at": stamp(step.occurred_at),
                                 "crime_reference": case.crime_reference, "data": step.data})
            now = datetime.now(UTC)
            headers = {"webhook-id": hook, "webhook-timestamp": str(int(now.timestamp())),
                       "webhook-signature": Webhook(secrets[agency_id]).sign(
                           hook, now, body.decode())}
            outcome = agencies_service.ingest(session, secret_key, agency_id, body, headers)
            assert outcome.status == 202, (case.crime_reference, step.type)
            sent += 1
    return sent


def _as_bulk(value):
    """A REAL/... record as it reads under its LDN/... twin's references."""
    return json.loads(json.dumps(value, default=str).replace("REAL", "LDN"))


def _case_by_reference(session: Session, reference: str) -> Case:
    return session.scalars(select(Case).where(Case.crime_reference == reference)).one()


def _columns(row, skip: set[str]) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


def test_journeys_look_like_london():
    """~20 events per case; most end without a suspect or with no further action; about 1 in
    10 is charged; some reach court and sentence. Each event is one its sender may send."""
    cases = [journey(1, n, UNTIL, YEARS, 3000) for n in range(1, 3001)]
    ends: Counter[str] = Counter()
    for case in cases:
        types = [s.type for s in case.steps]
        assert types[0] == "case.opened"
        times = [s.occurred_at for s in case.steps]
        assert times == sorted(set(times)), "event times must strictly increase"
        assert times[-1] <= UNTIL
        for step in case.steps:
            assert KINDS[AGENCY_IDS[step.agency]] in catalogue.CATALOGUE[step.type].kinds
        last = case.steps[-1]
        if last.type == "investigation.closed" and last.data["outcome"] in (
                "no_suspect_identified", "no_further_action", "evidential_difficulties"):
            ends["no suspect or NFA"] += 1
        if any(s.type == "charging.decision" and s.data["decision"] == "no_further_action"
               for s in case.steps):
            ends["no suspect or NFA"] += 1
        if any(s.type == "charging.decision" and s.data["decision"] == "charge"
               for s in case.steps):
            ends["charged"] += 1
        ends["sentenced"] += "sentence.passed" in types
    mean = sum(len(c.steps) for c in cases) / len(cases)
    assert 17 <= mean <= 23, mean
    assert ends["no suspect or NFA"] / len(cases) > 0.5, ends
    assert 0.07 <= ends["charged"] / len(cases) <= 0.13, ends
    assert 0 < ends["sentenced"] < ends["charged"], ends


def test_bulk_cases_read_as_the_receiver_would_have_made_them(settings, session, loaded):
    covered = {s.type for case in _journeys("LDN") for s in case.steps}
    assert set(_mirror({})) <= covered, "the sample must exercise every mirrored rule"
    sent = _ingest_for_real(session, settings.secret_key, loaded)
    assert sent == sum(len(c.steps) for c in _journeys("REAL"))

    for bulk_journey in _journeys("LDN"):
        bulk = _case_by_reference(session, bulk_journey.crime_reference)
        real = _case_by_reference(session, bulk_journey.crime_reference.replace("LDN", "REAL"))
        bulk_json = cases_service.case_as_json(cases_service.view_case(session, bulk,
                                                                       everyone=True))
        real_json = cases_service.case_as_json(cases_service.view_case(session, real,
                                                                       everyone=True))
        assert bulk_json == _as_bulk(real_json), bulk_journey.crime_reference
        assert len(bulk_json["timeline"]) == len(bulk_journey.steps)
        skip = {"id", "crime_reference", "created_at", "updated_at"}
        assert _as_bulk(_columns(bulk, skip)) == _as_bulk(_columns(real, skip))
        bulk_victims = session.scalars(select(Victim).where(Victim.case_pk == bulk.id)
                                       .order_by(Victim.victim_ref)).all()
        real_victims = session.scalars(select(Victim).where(Victim.case_pk == real.id)
                                       .order_by(Victim.victim_ref)).all()
        skip = {"id", "case_pk", "created_at"}
        assert [_as_bulk(_columns(v, skip)) for v in bulk_victims] == \
            [_as_bulk(_columns(v, skip)) for v in real_victims]
        for victim in bulk_victims:  # what each victim sees, in their language
            view = cases_service.view_case(session, bulk, victim_pk=victim.id)
            for language in ("en", "cy"):
                texts = [cases_service.entry_text(e, translator(language)) for e in view.timeline]
                assert all(t and "{" not in t and "None" not in t for t in texts), texts


def test_timeline_params_and_event_data_match_the_receivers(settings, session, loaded):
    _ingest_for_real(session, settings.secret_key, loaded)
    for n in (1, 2, 3):
        reference = _journeys("LDN")[n - 1].crime_reference
        rows = {}
        for ref in (reference, reference.replace("LDN", "REAL")):
            case = _case_by_reference(session, ref)
            entries = session.scalars(select(TimelineEntry).where(TimelineEntry.case_pk == case.id)
                                      .order_by(TimelineEntry.occurred_at)).all()
            rows[ref[:3]] = [(e.type, e.params, e.occurred_at, e.event_id) for e in entries]
        assert _as_bulk(rows["LDN"]) == _as_bulk(rows["REA"])


def test_the_receiver_takes_more_events_onto_bulk_cases(settings, session, client, loaded):
    """Sequences are past the COPYed ids and constraints are back: new events, a new case,
    a new officer and a new hearing all go in."""
    charged = next(c for c in _journeys("LDN")
                   if any(s.type == "case.agency_linked" and s.data["agency_id"] ==
                          AGENCY_IDS["court"] for s in c.steps))
    before = session.scalar(select(TimelineEntry.id).order_by(TimelineEntry.id.desc()).limit(1))
    sends = [
        ("met-police", "investigation.update", charged.crime_reference,
         {"message": "We have reviewed the CCTV again."}),
        ("met-police", "officer.assigned", charged.crime_reference,
         {"role": "supervisor", "name": "Ruth Okoro", "rank": "DS"}),
        ("hmcts-london", "hearing.scheduled", charged.crime_reference,
         {"hearing_id": "H9", "hearing_type": "bail", "court": "Southwark Crown Court",
          "starts_at": "2026-12-01T10:00:00Z"}),
        ("met-police", "case.opened", "LDN/9999999/26",
         {"crime_type": "Burglary of a home", "offence_group": "burglary",
          "borough": "Camden", "reported_at": "2026-11-20",
          "victims": [{"victim_ref": "V1", "given_name": "Alex", "family_name": "Testperson",
                       "date_of_birth": "1990-05-17", "email": "alex.t@example.com"}]}),
    ]
    for i, (agency_id, event_type, reference, data) in enumerate(sends):
        body = json.dumps({"type": event_type, "occurred_at": "2026-11-21T09:00:00Z",
                           "crime_reference": reference, "data": data})
        now = datetime.now(UTC)
        hook = f"after-bulk-{i}"
        response = client.post(f"/webhooks/agencies/{agency_id}/events", content=body, headers={
            "content-type": "application/json", "webhook-id": hook,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(loaded[agency_id]).sign(hook, now, body)})
        assert response.status_code == 202, response.text
    session.expire_all()
    case = _case_by_reference(session, charged.crime_reference)
    shown = cases_service.case_as_json(cases_service.view_case(session, case, everyone=True))
    assert shown["timeline"][-1]["text"].startswith(
        "A bail hearing was arranged at Southwark Crown Court on")
    assert "supervisor" in shown["officers"]
    assert any(h["hearing_id"] == "H9" for h in shown["hearings"])
    new = _case_by_reference(session, "LDN/9999999/26")
    assert new.id > CASES
    after = session.scalar(select(TimelineEntry.id).order_by(TimelineEntry.id.desc()).limit(1))
    assert after > before
