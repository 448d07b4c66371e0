"""No victim can reach another's case, timeline entry or fragment by any route: 404, never 403,
and the same page as for something that does not exist."""

from __future__ import annotations

import itertools
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.cases.models import Case, TimelineEntry, Victim
from app.core.db import make_sessionmaker
from app.portal import service
from tests.portal.helpers import ALEX, CHRIS, SAM, case_ids, csrf_of, open_case, sign_in

CASE_A, CASE_B = "01/30001/26", "01/30002/26"


def _entries(engine, settings) -> dict[str, list[tuple[str, int | None]]]:
    """Public ids of every entry per case, with the victim (if any) each belongs to."""
    with make_sessionmaker(engine)() as db:
        rows = db.execute(select(Case.crime_reference, TimelineEntry.id, Victim.victim_ref)
                          .join(Case, Case.id == TimelineEntry.case_pk)
                          .outerjoin(Victim, Victim.id == TimelineEntry.victim_pk)).all()
    out: dict[str, list] = {}
    for reference, pk, victim_ref in rows:
        out.setdefault(reference, []).append(
            (service.entry_public_id(settings.secret_key, pk), victim_ref))
    return out


def _routes(public_id: str, entry_id: str) -> list[str]:
    return [f"/cases/{public_id}", f"/cases/{public_id}/timeline",
            f"/cases/{public_id}/timeline?seen=0", f"/cases/{public_id}/updates/{entry_id}"]


def test_access_matrix(app, police, engine, settings):
    open_case(police, CASE_A, [ALEX, SAM])
    open_case(police, CASE_B, [CHRIS])
    police.send_ok("investigation.update", CASE_A, {"message": "For Alex only.",
                                                    "victim_ref": "V1"},
                   occurred_at="2026-11-21T09:00:00Z")
    police.send_ok("investigation.update", CASE_A, {"message": "For Sam only.",
                                                    "victim_ref": "V2"},
                   occurred_at="2026-11-21T10:00:00Z")
    people = {
        "alex": (CASE_A, "1990-05-17", "+447700900123", "victim", "sms"),
        "jo_for_sam": (CASE_A, "2011-02-03", "jo.e@example.com", "representative", "email"),
        "chris": (CASE_B, "1985-03-27", "+447700900321", "victim", "sms"),
    }
    browsers, own_case, tokens = {}, {}, {}
    for name, (reference, born, to, role, channel) in people.items():
        browser = TestClient(app)
        page = sign_in(browser, engine, reference, born, to, role, channel)
        [own_case[name]] = case_ids(page.text)
        browsers[name], tokens[name] = browser, csrf_of(page.text)
    entries = _entries(engine, settings)
    own_victim = {"alex": "V1", "jo_for_sam": "V2", "chris": "V1"}
    case_of = {own_case["alex"]: CASE_A, own_case["chris"]: CASE_B}
    assert own_case["alex"] == own_case["jo_for_sam"]  # same case, different victims

    not_found_body = None
    checked = 0
    for name, browser in browsers.items():
        for public_id in set(own_case.values()) | {"doesNotExist0000000000"}:
            mine = public_id == own_case[name]
            reference = case_of.get(public_id)
            for entry_id, victim_ref in itertools.chain(*entries.values()):
                entry_visible = mine and entry_id in {e for e, _ in entries[reference]} and \
                    victim_ref in (None, own_victim[name])
                for path in _routes(public_id, entry_id):
                    if "/updates/" not in path and entry_id != entries[CASE_A][0][0]:
                        continue  # case-level routes: once per case is enough
                    for htmx in (False, True):
                        headers = {"HX-Request": "true", "X-CSRF-Token": tokens[name]} \
                            if htmx else {}
                        response = browser.get(path, headers=headers)
                        checked += 1
                        allowed = mine and ("/updates/" not in path or entry_visible)
                        if allowed:
                            assert response.status_code in (200, 204), (name, path)
                            continue
                        assert response.status_code == 404, (name, path, htmx)
                        if not htmx:
                            body = re.sub(r'name="next" value="[^"]*"', "",
                                          response.text.replace(tokens[name], ""))
                            not_found_body = not_found_body or body
                            assert body == not_found_body  # nothing tells them apart
    assert checked > 100
    # And what is reachable never leaks another victim's entry.
    alex_page = browsers["alex"].get(f"/cases/{own_case['alex']}").text
    assert "For Alex only." in alex_page and "For Sam only." not in alex_page
    sam_page = browsers["jo_for_sam"].get(f"/cases/{own_case['jo_for_sam']}").text
    assert "For Sam only." in sam_page and "For Alex only." not in sam_page


def test_signed_out_visitors_are_sent_to_sign_in_not_told_anything(client, police, engine):
    open_case(police, CASE_A, [ALEX])
    page = sign_in(TestClient(client.app), engine, CASE_A, "1990-05-17", "+447700900123")
    [public_id] = case_ids(page.text)
    for path in (f"/cases/{public_id}", f"/cases/{public_id}/timeline", "/cases",
                 "/cases/doesNotExist0000000000"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/sign-in"


def test_forged_entry_ids_are_404(client, police, engine, settings):
    open_case(police, CASE_A, [ALEX])
    page = sign_in(client, engine, CASE_A, "1990-05-17", "+447700900123")
    [public_id] = case_ids(page.text)
    for forged in ("1", "AAAAAAAAAAAAAAAAAAAAAA", service.entry_public_id("other-key" * 5, 1),
                   "%2e%2e", "x" * 300):
        assert client.get(f"/cases/{public_id}/updates/{forged}").status_code == 404


def test_changed_contact_details_end_access(client, police, engine):
    open_case(police, CASE_A, [ALEX])
    page = sign_in(client, engine, CASE_A, "1990-05-17", "+447700900123")
    [public_id] = case_ids(page.text)
    police.send_ok("victim.updated", CASE_A, {"victim": ALEX | {"mobile": "07700 900999"}},
                   occurred_at="2026-11-22T09:00:00Z")
    assert client.get(f"/cases/{public_id}").status_code == 404


def test_one_sign_in_reaches_every_case_with_the_same_contact_and_birth_date(client, police,
                                                                             engine):
    open_case(police, CASE_A, [ALEX])
    open_case(police, CASE_B, [ALEX])
    open_case(police, "01/30003/26", [ALEX | {"date_of_birth": "1991-01-01"}])
    page = sign_in(client, engine, CASE_A, "1990-05-17", "+447700900123")
    assert len(case_ids(page.text)) == 2


def test_a_browser_signed_in_for_two_cases_reaches_both_and_no_other(app, police, engine):
    """Signing in again adds a grant to the session: each case is reached through its own
    grant (the second reaches what the first does not), and a third case stays 404."""
    open_case(police, CASE_A, [ALEX])
    open_case(police, CASE_B, [CHRIS])
    open_case(police, "01/30003/26", [SAM])
    for reference, name in ((CASE_A, "Alex"), (CASE_B, "Chris")):
        police.send_ok("investigation.update", reference,
                       {"message": f"For {name} only.", "victim_ref": "V1"})
    other = case_ids(sign_in(TestClient(app), engine, "01/30003/26", "2011-02-03",
                             "+447700900456").text)[0]
    browser = TestClient(app)
    sign_in(browser, engine, CASE_A, "1990-05-17", "+447700900123")
    ids = case_ids(sign_in(browser, engine, CASE_B, "1985-03-27", "+447700900321").text)
    assert len(ids) == 2
    shown = {public_id: browser.get(f"/cases/{public_id}") for public_id in ids}
    assert all(page.status_code == 200 for page in shown.values())
    assert sorted(name for name in ("Alex", "Chris")
                  for page in shown.values() if f"For {name} only." in page.text) == \
        ["Alex", "Chris"]
    assert browser.get(f"/cases/{other}").status_code == 404
    assert browser.get(f"/cases/{other}/timeline?seen=0").status_code == 404
