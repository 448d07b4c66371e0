"""The oversight dashboard: compliance aggregates, small counts suppressed in one place, a CSV
export per table, no personal data, role oversight only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from app.agencies.models import Agency
from app.cases.models import Case, Victim
from app.obligations.models import Obligation
from app.oversight import service
from tests.staff_helpers import sign_in_staff

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _case(session, n: int, borough: str, offence_group: str = "burglary") -> tuple[int, int]:
    case = Case(crime_reference=f"01/9{n:04d}/26", crime_type="Burglary",
                offence_group=offence_group, borough=borough, reported_at=START,
                opened_at=START)
    session.add(case)
    session.flush()
    victim = Victim(case_pk=case.id, victim_ref="V1", given_name="Alex",
                    family_name=f"Testperson{n}", version="v")
    session.add(victim)
    session.flush()
    return case.id, victim.id


def _obligation(session, case_pk: int, victim_pk: int, rule_id: str, status: str,
                agency_pk: int | None, hours_to_meet: float | None = None,
                enhanced: bool = False, owner: str = "police") -> None:
    met_at = START + timedelta(hours=hours_to_meet) if hours_to_meet is not None else None
    session.add(Obligation(case_pk=case_pk, victim_pk=victim_pk, rule_id=rule_id, owner=owner,
                           owner_agency_pk=agency_pk, trigger_key=f"k{case_pk}-{rule_id}",
                           trigger_at=START, due_at=START + timedelta(days=5), met_at=met_at,
                           status=status, enhanced=enhanced))


@pytest.fixture
def data(session):
    police = Agency(agency_id="met-police", kind="police", name="Metropolitan Police")
    cps = Agency(agency_id="cps-london", kind="cps", name="CPS London")
    session.add_all([police, cps])
    session.flush()
    for n in range(22):  # Hackney: 12 met on time, 10 breached
        case_pk, victim_pk = _case(session, n, "Hackney")
        _obligation(session, case_pk, victim_pk, "inform-police-decision",
                    "met" if n < 12 else "breached", police.id, hours_to_meet=n + 1)
    for n in range(22, 24):  # Camden: two cases only
        case_pk, victim_pk = _case(session, n, "Camden", "violence")
        _obligation(session, case_pk, victim_pk, "inform-police-decision", "met", police.id,
                    hours_to_meet=1, enhanced=True)
    for n in range(10):  # CPS decisions informed after 1..10 hours
        case_pk = session.query(Case.id).order_by(Case.id).offset(n).limit(1).scalar()
        victim_pk = session.query(Victim.id).filter(Victim.case_pk == case_pk).scalar()
        _obligation(session, case_pk, victim_pk, "inform-cps-decision", "met", cps.id,
                    hours_to_meet=n + 1, owner="cps")
    session.commit()
    service.refresh(session)  # what the worker's oversight-rollup job does every minute


def test_the_small_number_rule():
    assert [service.suppressed(n) for n in (0, 1, 9, 10, 1234)] == ["0", "<10", "<10", "10",
                                                                     "1234"]
    assert service.rate(12, 22) == ("55%", 12 / 22)
    assert service.rate(12, 15)[0] == service.NO_RATE  # 3 breached would show through
    assert service.rate(5, 100)[0] == service.NO_RATE
    assert service.rate(0, 0)[0] == service.NO_RATE


def _rows(table) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table.rows}


def test_compliance_by_every_dimension(session, data):
    by_borough = _rows(service.table(session, "compliance-borough"))
    assert by_borough["Hackney"] == ["32", "22", "0", "10", "0", "69%"]  # 22 of 32 with CPS
    assert by_borough["Camden"] == ["<10", "<10", "0", "0", "0", service.NO_RATE]
    by_rule = _rows(service.table(session, "compliance-obligation"))
    assert by_rule["inform-police-decision"] == ["24", "14", "0", "10", "0", "58%"]
    assert by_rule["inform-cps-decision"] == ["10", "10", "0", "0", "0", "100%"]
    by_agency = _rows(service.table(session, "compliance-agency"))
    assert set(by_agency) == {"Metropolitan Police", "CPS London"}
    by_rights = _rows(service.table(session, "compliance-rights"))
    assert by_rights["enhanced"][0] == "<10" and by_rights["standard"][0] == "32"
    assert _rows(service.table(session, "compliance-month")) == {
        "2026-03": ["34", "24", "0", "10", "0", "71%"]}
    by_offence = _rows(service.table(session, "compliance-offence-group"))
    assert by_offence["violence"][0] == "<10"
    # a suppressed group draws no bar
    camden = [b for b in service.table(session, "compliance-borough").bars
              if b.label == "Camden"]
    assert camden[0].fraction is None


def test_decision_to_informed_median_and_90th_percentile(session, data):
    rows = _rows(service.table(session, "decision-to-informed"))
    assert rows["inform-cps-decision"] == ["10", "5.5", "9.1"]
    # met only (breached ones were never informed in time): 1, 1, 1, 2, ..., 12 hours
    assert rows["inform-police-decision"] == ["14", "5.5", "10.7"]


def test_the_page_and_its_csv_exports(client, session, data):
    sign_in_staff(client, "olu.oversight@example.com", roles=("oversight",))
    page = client.get("/staff/oversight")
    assert page.status_code == 200
    for key in service.TABLE_KEYS:
        assert f'href="/staff/oversight/{key}.csv"' in page.text
        export = client.get(f"/staff/oversight/{key}.csv")
        assert export.status_code == 200, key
        assert export.headers["content-type"].startswith("text/csv")
        assert f'filename="{key}.csv"' in export.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(export.text)))
        assert rows[1:] == service.table(session, key).rows
        session.commit()
    text = page.text + client.get("/staff/oversight/compliance-borough.csv").text
    assert "Testperson" not in text and "01/9" not in text  # no names, no references
    assert "&lt;10" in page.text and "<svg" in page.text
    assert "<10" in client.get("/staff/oversight/compliance-borough.csv").text
    assert client.get("/staff/oversight/nothing.csv").status_code == 404


@pytest.mark.parametrize("roles", [("hub",), ("admin",), ("officer", "supervisor")])
def test_only_oversight_sees_the_dashboard(client, roles):
    sign_in_staff(client, "someone@example.com", roles=roles)
    assert client.get("/staff/oversight").status_code == 403
    assert client.get("/staff/oversight/compliance-borough.csv").status_code == 403
