"""The `tmc` command as operations.md describes it: agency registration and secret rotation,
`tmc case show`, and refusing unsafe production settings."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydantic import ValidationError

from app.cli import main
from app.core.config import DEV_SECRET_KEY, Settings, get_settings
from tests.agency_client import AgencyClient, at
from tests.journeys import (
    V1,
    V2,
    VICTIM_PERSONAL_DATA,
    assert_problem,
    open_linked_case,
    register_cast,
)

REF = "01/45678/26"


@pytest.fixture
def tmc(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[Any]:
    """Runs `tmc ...` against the test database, with the app's secret key."""
    monkeypatch.setenv("TMC_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TMC_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("TMC_ENV", "test")
    get_settings.cache_clear()

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    yield run
    get_settings.cache_clear()


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def refused(result: Result) -> str:
    """Non-zero exit with a one-line reason on stderr and nothing on stdout."""
    assert result.exit_code != 0, result.stdout
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_agency_add_prints_one_json_object_with_a_secret(tmc):
    result = tmc("agency", "add", "met-police", "--kind", "police", "--name",
                 "Metropolitan Police Service")
    assert result.stdout.count("\n") == 1  # one object, one line
    shown = ok_json(result)
    assert shown["agency_id"] == "met-police"
    assert shown["kind"] == "police"
    assert shown["secret"].startswith("whsec_")
    assert 24 <= len(base64.b64decode(shown["secret"].removeprefix("whsec_"))) <= 64


def test_added_agency_can_send_signed_events(tmc, client, engine):
    added = ok_json(tmc("agency", "add", "met-police", "--kind", "police", "--name", "Met"))
    police = AgencyClient("met-police", "police", added["secret"], client)
    police.send_ok("case.opened", REF, {"crime_type": "Burglary", "offence_group": "burglary",
                                        "borough": "Hackney", "reported_at": "2026-11-19",
                                        "victims": [V1]})


@pytest.mark.parametrize(("args", "reason"), [
    (["agency", "add", "met-police", "--kind", "sheriff", "--name", "Met"], "kind"),
    (["agency", "add", "Met Police!", "--kind", "police", "--name", "Met"], "agency_id"),
    (["agency", "rotate-secret", "no-such-agency"], "no-such-agency"),
    (["agency", "retire-secret", "no-such-agency"], "no-such-agency"),
    (["case", "show", "01/00000/00"], "crime reference"),
])
def test_bad_input_exits_non_zero_with_a_one_line_reason(tmc, args, reason):
    assert reason in refused(tmc(*args))


def test_duplicate_agency_is_refused(tmc):
    ok_json(tmc("agency", "add", "met-police", "--kind", "police", "--name", "Met"))
    assert "already exists" in refused(
        tmc("agency", "add", "met-police", "--kind", "police", "--name", "Met again"))
    assert len(ok_json(tmc("agency", "list"))) == 1


def test_agency_list(tmc):
    assert ok_json(tmc("agency", "list")) == []
    secrets = [ok_json(tmc("agency", "add", "met-police", "--kind", "police", "--name", "Met"))
               ["secret"],
               ok_json(tmc("agency", "add", "cps-london", "--kind", "cps", "--name", "CPS London",
                           "--endpoint-url", "https://cps.example.com/hooks"))["secret"]]
    listed = ok_json(tmc("agency", "list"))
    assert [(a["agency_id"], a["kind"], a["name"]) for a in listed] == [
        ("cps-london", "cps", "CPS London"), ("met-police", "police", "Met")]
    assert listed[0]["endpoint_url"] == "https://cps.example.com/hooks"
    for secret in secrets:
        assert secret not in json.dumps(listed)


def test_secret_rotation(tmc, client):
    first = ok_json(tmc("agency", "add", "met-police", "--kind", "police", "--name", "Met"))
    police = AgencyClient("met-police", "police", first["secret"], client)
    police.send_ok("case.opened", REF, {"crime_type": "Burglary", "offence_group": "burglary",
                                        "borough": "Hackney", "reported_at": "2026-11-19",
                                        "victims": [V1]})
    second = ok_json(tmc("agency", "rotate-secret", "met-police"))
    assert second["agency_id"] == "met-police" and second["kind"] == "police"
    assert second["secret"].startswith("whsec_") and second["secret"] != first["secret"]
    for secret in (first["secret"], second["secret"]):  # both verify during rotation
        police.secret = secret
        police.send_ok("investigation.update", REF, {"message": "Still working on it."})

    ok_json(tmc("agency", "retire-secret", "met-police"))
    police.secret = first["secret"]
    assert_problem(police.send("investigation.update", REF, {"message": "Old key."}), 401)
    police.secret = second["secret"]
    police.send_ok("investigation.update", REF, {"message": "New key."})

    third = ok_json(tmc("agency", "rotate-secret", "met-police"))["secret"]
    ok_json(tmc("agency", "retire-secret", "met-police"))
    for retired in (first["secret"], second["secret"]):
        police.secret = retired
        assert_problem(police.send("investigation.update", REF, {"message": "Old."}), 401)
    police.secret = third
    police.send_ok("investigation.update", REF, {"message": "Newest key."})


def test_case_show_json_has_the_keys_of_operations_md(tmc, registry, police):
    cast = register_cast(registry, police)
    open_linked_case(cast, REF)
    cast.police.send_ok("officer.assigned", REF, {"role": "oic", "name": "Priya Shah-Example",
                                                  "rank": "DC"}, at("2026-11-21"))
    cast.court.send_ok("hearing.scheduled", REF,
                       {"hearing_id": "H-778", "hearing_type": "trial",
                        "court": "Snaresbrook Crown Court",
                        "starts_at": "2027-02-03T10:00:00Z"}, at("2026-12-01"))
    cast.police.send_ok("vps.offered", REF, {"victim_ref": "V2"}, at("2026-11-22"))

    result = tmc("case", "show", REF, "--json")
    shown = ok_json(result)
    assert {"crime_reference", "stage", "agencies", "victims", "officers", "hearings",
            "timeline"} <= shown.keys()
    assert shown["crime_reference"] == REF
    assert shown["stage"] in {"investigation", "charged", "at_court", "sentenced", "closed"}
    assert shown["stage"] == "at_court"
    assert shown["agencies"][0] == "met-police"
    assert set(shown["agencies"]) == {a.agency_id for a in cast.all()}
    assert [v["victim_ref"] for v in shown["victims"]] == ["V1", "V2"]
    for shown_victim in shown["victims"]:
        assert isinstance(shown_victim["enhanced_rights"], bool)
    assert shown["officers"]["oic"] | {"name": "Priya Shah-Example",
                                       "agency_id": "met-police"} == shown["officers"]["oic"]
    (hearing,) = shown["hearings"]
    assert {"hearing_id", "hearing_type", "court", "starts_at", "window", "status"} <= (
        hearing.keys())
    assert (hearing["hearing_id"], hearing["status"], hearing["window"]) == (
        "H-778", "scheduled", None)
    entries = shown["timeline"]
    for entry in entries:
        assert {"event_id", "type", "occurred_at", "agency_id", "victim_ref", "text"} <= (
            entry.keys())
        assert entry["text"]
    assert [e["occurred_at"] for e in entries] == sorted(e["occurred_at"] for e in entries)
    assert entries[0]["type"] == "case.opened"
    assert [e["victim_ref"] for e in entries if e["type"] == "vps.offered"] == ["V2"]
    # Contact details are masked; no victim's personal data is printed.
    for personal in VICTIM_PERSONAL_DATA:
        assert personal not in result.stdout
    assert V2["email"] not in result.stdout


def test_case_show_without_json_is_readable_text(tmc, registry, police):
    police.send_ok("case.opened", REF, {"crime_type": "Burglary", "offence_group": "burglary",
                                        "borough": "Hackney", "reported_at": "2026-11-19",
                                        "victims": [V1]})
    result = tmc("case", "show", REF)
    assert result.exit_code == 0, result.stderr
    assert REF in result.stdout
    assert "Your report of Burglary was recorded by the police." in result.stdout
    assert "Testperson" not in result.stdout


# --- production settings ------------------------------------------------------------------------

def test_production_refuses_the_default_secret_key():
    with pytest.raises(ValidationError, match="TMC_SECRET_KEY"):
        Settings(env="production", secret_key=DEV_SECRET_KEY, sms_backend="twilio",
                 email_backend="smtp")


def test_production_refuses_the_dev_outbox():
    with pytest.raises(ValidationError, match="outbox"):
        Settings(env="production", secret_key="x" * 40)


def test_production_starts_with_real_settings():
    Settings(env="production", secret_key="x" * 40, sms_backend="twilio", email_backend="smtp")


def test_tmc_refuses_production_with_default_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("TMC_DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    monkeypatch.setenv("TMC_ENV", "production")
    monkeypatch.delenv("TMC_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["agency", "list"])
    finally:
        get_settings.cache_clear()
    reason = refused(result)
    assert "refusing to start in production" in reason
    assert "TMC_SECRET_KEY" in reason
