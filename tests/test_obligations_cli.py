"""`tmc obligations`, the staff JSON API (behind the staff sign-in) and the victim's next steps."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from click.testing import CliRunner

from app.cli import main
from app.core.config import get_settings
from app.obligations import service
from tests import obligation_helpers
from tests.obligation_helpers import (
    REF,
    open_case,
    send,
    the_case,
    the_victim,
    utc,
)
from tests.staff_helpers import sign_in_staff

agencies = obligation_helpers.agencies  # fixture
clock = obligation_helpers.clock  # fixture

CONTRACT_KEYS = {"id", "victim_ref", "owner", "trigger_at", "due_at", "met_at", "status"}
STATUSES = {"open", "met", "breached", "met_late", "cancelled"}


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("TMC_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _is_rfc3339_with_offset(value: str) -> bool:
    parsed = datetime.fromisoformat(value)
    return parsed.tzinfo is not None and "T" in value


def test_tmc_obligations_json_shape(agencies, clock, session, cli):
    open_case(agencies, clock, "2026-12-01")
    send(agencies.cps, clock, "charging.decision", "2026-12-24T11:00",
         {"decision": "no_further_action", "vrr_eligible": True})
    session.commit()
    result = cli.invoke(main, ["obligations", REF, "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert isinstance(shown, list) and len(shown) >= 4
    for item in shown:
        assert item.keys() >= CONTRACT_KEYS
        assert item["status"] in STATUSES
        for key in ("trigger_at", "due_at", "met_at"):
            assert item[key] is None or _is_rfc3339_with_offset(item[key])
    cps = next(o for o in shown if o["id"] == "inform-cps-decision")
    assert cps | {"victim_ref": "V1", "owner": "cps", "due_at": "2027-01-05T23:59:59.999999+00:00",
                  "met_at": None} == cps
    # the command swept first: past-due obligations are stored as breached (today is later)
    assert cps["status"] in ("open", "breached")


def test_tmc_obligations_sweeps_the_case_before_printing(agencies, clock, session, cli):
    open_case(agencies, clock, "2025-01-06")  # long past: every deadline has gone by
    session.commit()
    result = cli.invoke(main, ["obligations", REF, "--json"])
    assert result.exit_code == 0, result.output
    stored = {o.rule_id: o.status for o in service.repository.obligations_of_case(
        session, the_case(session).id)}
    session.commit()
    assert stored == {"support-referral": "breached", "regular-update": "breached"}


def test_tmc_obligations_table(agencies, clock, session, cli):
    open_case(agencies, clock, "2026-12-01")
    session.commit()
    result = cli.invoke(main, ["obligations", REF])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "victim", "owner", "trigger", "due", "met", "status"]
    assert any(line.startswith("support-referral") and "V1" in line for line in lines[1:])


def test_tmc_obligations_unknown_case(settings, cli):
    result = cli.invoke(main, ["obligations", "99/99999/99", "--json"])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == ["Error: no case has that crime reference"]


def test_staff_api_needs_a_staff_sign_in(client, agencies, clock):
    open_case(agencies, clock)
    signed_out = client.get("/api/staff/obligations", params={"crime_reference": REF})
    assert signed_out.status_code == 401
    assert signed_out.headers["content-type"] == "application/problem+json"
    sign_in_staff(client, "vic.support@example.com", roles=("oversight",))
    assert client.get("/api/staff/obligations", params={"crime_reference": REF}).status_code \
        == 200


def test_staff_api_for_the_hub(client, agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    sign_in_staff(client, "hub.person@example.com", roles=("hub",))
    response = client.get("/api/staff/obligations", params={"crime_reference": REF})
    assert response.status_code == 200, response.text
    listed = response.json()
    assert {o["id"] for o in listed} == {"support-referral", "regular-update"}
    assert all(o.keys() >= CONTRACT_KEYS for o in listed)
    assert listed == service.obligations_as_json(session, the_case(session))
    session.commit()
    missing = client.get("/api/staff/obligations", params={"crime_reference": "99/1/99"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/api/staff/obligations").status_code == 422
    assert "/api/staff/obligations" in client.get("/openapi.json").json()["paths"]


def test_staff_api_hides_other_officers_cases(client, agencies, clock):
    open_case(agencies, clock)
    sign_in_staff(client, "not.the.oic@example.com", roles=("officer",))
    response = client.get("/api/staff/obligations", params={"crime_reference": REF})
    assert response.status_code == 404  # the same as a case that does not exist


def test_next_steps_in_plain_english(agencies, clock, session):
    open_case(agencies, clock, "2026-12-21", offence_group="domestic_abuse")
    send(agencies.police, clock, "support.referred", "2026-12-21T12:00",
         {"victim_ref": "V1", "service": "Victim Support", "consent": True})
    send(agencies.cps, clock, "charging.decision", "2026-12-24T11:00", {"decision": "charge"})
    case, v1 = the_case(session), the_victim(session)
    steps = service.next_steps(session, case, v1, "en", now=utc("2026-12-24T12:00"))
    session.commit()
    texts = [s.text for s in steps]
    assert texts[0] == ("The Crown Prosecution Service must tell you its decision by Tuesday "
                        "29 December 2026.")
    # ten working days after Thu 24 Dec 2026, no hearing listed yet
    assert "The police must offer you the chance to make a Victim Personal Statement by " \
           "Tuesday 12 January 2027." in texts
    assert [s.due_at for s in steps] == sorted(s.due_at for s in steps)
    assert not any(s.overdue for s in steps)
    assert not any(s.rule_id in ("support-referral", "regular-update") for s in steps)


def test_next_steps_say_when_a_date_has_passed_and_skip_unstarted_windows(agencies, clock,
                                                                         session):
    open_case(agencies, clock, "2026-12-01")
    send(agencies.police, clock, "investigation.closed", "2026-12-02",
         {"outcome": "no_further_action", "vrr_eligible": True})
    case, v1 = the_case(session), the_victim(session)
    steps = service.next_steps(session, case, v1, "en", now=utc("2026-12-20"))
    session.commit()
    decision = next(s for s in steps if s.rule_id == "inform-police-decision")
    assert decision.overdue
    assert decision.text == ("The police must tell you about their decision by Wednesday "
                             "9 December 2026. This date has passed.")
    assert not any(s.rule_id == "vrr-police-window" for s in steps)  # not told yet: no date


def test_next_steps_for_a_safety_acknowledgement_give_the_time(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    send(agencies.police, clock, "suspect.bailed", "2026-12-02T18:00", {})
    case, v1 = the_case(session), the_victim(session)
    steps = service.next_steps(session, case, v1, "cy", now=utc("2026-12-02T18:30"))
    session.commit()
    ack = next(s for s in steps if s.rule_id == "safety-ack")
    assert not ack.text.startswith("Please confirm")  # Welsh wording from the catalogue
    assert "2 Rhagfyr 2026" in ack.text and "20:00" in ack.text  # Welsh date, with the time
    english = service.next_steps(session, case, v1, "en", now=utc("2026-12-02T18:30"))
    session.commit()
    assert next(s for s in english if s.rule_id == "safety-ack").text == (
        "Please confirm you have seen our important update by Wednesday 2 December 2026 at "
        "8:00 pm.")
