"""The oversight dashboard in Welsh: labels that join words with values (an obligation and its
status, a request and its outcome, the rights group) are whole translated sentences, in the
tables, the charts and the page; in English they read as before."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from app.agencies.models import Agency
from app.cases.models import Case, Victim
from app.core.i18n import translator
from app.core.templating import environment
from app.obligations.models import Obligation
from app.outbound.models import AgencyRequest
from app.oversight import service

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CY = translator("cy")


@pytest.fixture
def data(session):
    police = Agency(agency_id="met-police", kind="police", name="Metropolitan Police")
    session.add(police)
    session.flush()
    case = Case(crime_reference="01/99999/26", crime_type="Burglary", offence_group="burglary",
                borough="Hackney", reported_at=START, opened_at=START)
    session.add(case)
    session.flush()
    victim = Victim(case_pk=case.id, victim_ref="V1", given_name="Alex",
                    family_name="Testperson", version="v")
    session.add(victim)
    session.flush()
    for n in range(3):
        session.add(Obligation(case_pk=case.id, victim_pk=victim.id, rule_id="vps-offer",
                               owner="police", owner_agency_pk=police.id, trigger_key=f"k{n}",
                               trigger_at=START, due_at=START + timedelta(days=5),
                               met_at=START + timedelta(hours=1), status="met", enhanced=True))
    session.add(AgencyRequest(request_id=str(uuid.uuid4()), case_pk=case.id,
                              victim_pk=victim.id, agency_pk=police.id, kind="vps",
                              status="completed", decision="granted"))
    session.commit()
    service.refresh(session)


def test_the_labels_are_whole_welsh_sentences(session, data):
    vps = service.table(session, "vps", t=CY).rows
    assert ["vps-offer: wedi'i chyflawni mewn pryd", "<10"] in vps
    assert ["Cais vps: wedi'i gwblhau (caniatawyd)", "<10"] in vps
    assert ["Datganiadau Personol y Dioddefwr a wnaed (wedi'u cofnodi gan yr heddlu)",
            "0"] in vps
    rights = service.table(session, "compliance-rights", t=CY)
    assert [row[0] for row in rights.rows] == ["gwell"]
    assert [bar.label for bar in rights.bars] == ["gwell"]


def test_in_english_the_labels_read_as_before(session, data):
    vps = service.table(session, "vps").rows
    assert ["vps-offer: met on time", "<10"] in vps
    assert ["vps request: completed (granted)", "<10"] in vps
    assert service.table(session, "compliance-rights").rows[0][0] == "enhanced"


def test_the_dashboard_renders_in_welsh(session, data):
    html = environment().get_template("oversight/dashboard.html").render(
        t=CY, _=CY._, lang="cy", staff=None, csrf_token="", current_path="/staff/oversight",
        tables=service.dashboard(session, t=CY), as_at=service.figures_as_at(session))
    page = unescape(html)
    row_headers = [unescape(h) for h in re.findall(r'<th scope="row"[^>]*>([^<]*)</th>', html)]
    assert "vps-offer: wedi'i chyflawni mewn pryd" in row_headers
    assert "Cais vps: wedi'i gwblhau (caniatawyd)" in row_headers
    chart_labels = [unescape(label) for label in
                    re.findall(r'<text class="tmc-chart__label"[^>]*>([^<]*)</text>', html)]
    assert "vps-offer: wedi'i chyflawni mewn pryd: <10" in chart_labels
    assert "Cydymffurfiaeth fesul rhwymedigaeth" in page  # a table title, translated as before
    for english in ("met on time", "vps request", "completed", "enhanced"):
        assert english not in page, english
