"""The case page: timeline newest first with the agency on each entry, hearing cards (a warned
list shown as a window), who is dealing with the case (hand-overs shown as such), the stage
explainer; htmx fragments; headers; Welsh."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import event

from tests.agency_client import AgencyClient
from tests.event_loop_probe import transaction_ends
from tests.portal.helpers import ALEX, SAM, case_ids, csrf_of, open_case, sign_in

REF = "01/20001/26"


def build_case(a: dict[str, AgencyClient]) -> None:
    police = a["police"]
    open_case(police, REF, [ALEX, SAM])
    for agency in ("cps-london", "wcu-london-north", "victim-support-london"):
        police.send_ok("case.agency_linked", REF, {"agency_id": agency},
                       occurred_at="2026-11-19T19:05:00Z")
    a["cps"].send_ok("case.agency_linked", REF, {"agency_id": "hmcts-snaresbrook"},
                     occurred_at="2026-11-19T19:06:00Z")
    police.send_ok("officer.assigned", REF, {
        "role": "oic", "name": "Yusuf Ali", "rank": "DC", "phone": "020 7946 0000",
        "email": "y.ali@police.example.com", "working_pattern": "Mon-Fri 8am-4pm"},
        occurred_at="2026-11-20T09:00:00Z")
    police.send_ok("officer.assigned", REF, {
        "role": "oic", "name": "Priya Shah", "rank": "DC",
        "working_pattern": "Tue-Sat 10am-6pm, email first"}, occurred_at="2026-11-24T09:00:00Z")
    police.send_ok("officer.assigned", REF, {"role": "soit", "name": "Kim Example", "rank": "PC",
                                             "working_pattern": "Weekdays"},
                   occurred_at="2026-11-21T09:00:00Z")
    a["wcu"].send_ok("witness_care.assigned", REF, {"name": "Morgan Example",
                                                    "phone": "020 7946 0001"},
                     occurred_at="2026-11-25T09:00:00Z")
    a["support"].send_ok("support.accepted", REF, {
        "victim_ref": "V1", "service": "Victim Support London", "worker_name": "Robin Example",
        "contact": "Call 0808 168 9111, weekdays"}, occurred_at="2026-11-26T09:00:00Z")
    a["court"].send_ok("hearing.scheduled", REF, {
        "hearing_id": "H-1", "hearing_type": "first_appearance",
        "court": "Thames Magistrates' Court", "address": "58 Bow Road, London E3 4DJ",
        "starts_at": "2026-12-03T10:00:00Z"}, occurred_at="2026-11-27T09:00:00Z")
    a["court"].send_ok("hearing.scheduled", REF, {
        "hearing_id": "H-2", "hearing_type": "trial", "court": "Snaresbrook Crown Court",
        "address": "75 Hollybush Hill, London E11 1QW",
        "window": {"from": "2027-02-01", "to": "2027-02-12"}},
        occurred_at="2026-11-28T09:00:00Z")
    police.send_ok("investigation.update", REF, {"message": "Only for Sam.", "victim_ref": "V2"},
                   occurred_at="2026-11-29T09:00:00Z")


def signed_in_case(client, engine, agencies) -> tuple[str, str]:
    build_case(agencies)
    page = sign_in(client, engine, REF, "1990-05-17", "+447700900123")
    [public_id] = case_ids(page.text)
    return public_id, client.get(f"/cases/{public_id}").text


def test_case_page_shows_the_whole_case(client, engine, agencies):
    _public_id, html = signed_in_case(client, engine, agencies)
    # Timeline newest first, with the agency name on each entry.
    first = html.index("A trial hearing was arranged")
    assert first < html.index("A first appearance hearing was arranged") < html.index(
        "Your report of Burglary was recorded by the police.")
    titles = re.findall(r'moj-timeline__title">([^<]+)<', html)
    assert titles[0] == "Snaresbrook Crown Court" and "Metropolitan Police Service" in titles
    # Hearing cards: date, time, court, address; the warned list as a window.
    assert "Thursday 3 December 2026" in html and "10:00 am" in html
    assert "58 Bow Road, London E3 4DJ" in html
    assert "Between Monday 1 February 2027 and Friday 12 February 2027" in html
    assert "warned list" in html
    # Who is dealing with the case, how and when to reach them, and the hand-over.
    for text in ("Officer in charge", "DC Priya Shah", "Tue-Sat 10am-6pm, email first",
                 "Specialist officer", "PC Kim Example", "Witness care officer",
                 "Morgan Example", "Support worker", "Robin Example",
                 "Call 0808 168 9111, weekdays",
                 "DC Priya Shah took over from DC Yusuf Ali on Tuesday 24 November 2026."):
        assert text in html, text
    # Stage explainer, including cases that end without a charge.
    assert "Where your case is now" in html and "At court" in html
    assert "A case can end without a charge" in html
    # Another victim's own entries never show.
    assert "Only for Sam." not in html


def test_pages_carry_no_case_detail_in_title_or_url(client, engine, agencies):
    public_id, html = signed_in_case(client, engine, agencies)
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert title.strip() == "Your case \u2013 Track My Crime"
    for detail in (REF, REF.replace("/", "%2F"), "Burglary"):
        assert detail not in public_id and detail not in title
    assert not public_id.isdigit() and len(public_id) >= 16


def test_security_headers_on_portal_pages(client, engine, agencies):
    public_id, _html = signed_in_case(client, engine, agencies)
    response = client.get(f"/cases/{public_id}")
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert "HX-Request" in headers["vary"]
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in response.text  # no inline script: all are src=
    assert 'class="govuk-exit-this-page"' in response.text


def test_htmx_gets_a_fragment_history_restore_gets_the_page(client, engine, agencies):
    public_id, html = signed_in_case(client, engine, agencies)
    token = csrf_of(html)
    fragment = client.get(f"/cases/{public_id}", headers={"HX-Request": "true",
                                                          "X-CSRF-Token": token})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Who is dealing with your case" in fragment.text
    restore = client.get(f"/cases/{public_id}", headers={
        "HX-Request": "true", "HX-History-Restore-Request": "true", "X-CSRF-Token": token})
    assert "<html" in restore.text and "govuk-exit-this-page" in restore.text


def test_htmx_requests_need_the_csrf_header(client, engine, agencies):
    public_id, _html = signed_in_case(client, engine, agencies)
    response = client.get(f"/cases/{public_id}/timeline?seen=0", headers={"HX-Request": "true"})
    assert response.status_code == 403


def test_timeline_poll_is_204_until_something_new(client, engine, agencies):
    public_id, html = signed_in_case(client, engine, agencies)
    token = csrf_of(html)
    seen = re.search(r"timeline\?seen=(\d+)", html).group(1)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    assert client.get(f"/cases/{public_id}/timeline?seen={seen}",
                      headers=headers).status_code == 204
    agencies["court"].send_ok("hearing.changed", REF, {
        "hearing_id": "H-1", "starts_at": "2026-12-04T14:00:00Z", "reason": "Court availability"},
        occurred_at="2026-11-30T09:00:00Z")
    fresh = client.get(f"/cases/{public_id}/timeline?seen={seen}", headers=headers)
    assert fresh.status_code == 200 and "A court hearing has changed." in fresh.text
    assert "<html" not in fresh.text and 'hx-swap-oob="true"' in fresh.text
    assert re.search(r"timeline\?seen=(\d+)", fresh.text).group(1) != seen
    # Without htmx the same address is the whole page (JavaScript off).
    plain = client.get(f"/cases/{public_id}/timeline")
    assert "<html" in plain.text and "A court hearing has changed." in plain.text


def test_polling_does_not_keep_an_idle_session_alive(client, engine, agencies):
    from datetime import timedelta

    from sqlalchemy import select

    from app.core.db import make_sessionmaker, utcnow
    from app.portal.models import PortalSession

    public_id, html = signed_in_case(client, engine, agencies)
    with make_sessionmaker(engine)() as db:
        for row in db.scalars(select(PortalSession)):
            row.last_seen_at = utcnow() - timedelta(minutes=10)
        db.commit()
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf_of(html)}
    client.get(f"/cases/{public_id}/timeline?seen=0", headers=headers)
    with make_sessionmaker(engine)() as db:
        rows = db.scalars(select(PortalSession).where(PortalSession.signed_in_at.is_not(None)))
        assert all(utcnow() - r.last_seen_at > timedelta(minutes=9) for r in rows)


def test_expired_session_poll_redirects_htmx_to_sign_in(client, engine, agencies):
    public_id, html = signed_in_case(client, engine, agencies)
    token = csrf_of(html)
    client.post("/sign-out", data={"csrf_token": token})
    response = client.get(f"/cases/{public_id}/timeline?seen=0",
                          headers={"HX-Request": "true", "X-CSRF-Token": token})
    # The signed-out session's token no longer matches: refused, and htmx reloads the page.
    assert response.status_code in (200, 403)
    assert response.headers.get("HX-Redirect") == "/sign-in" or \
        response.headers.get("HX-Refresh") == "true"


def test_welsh_switch_and_preferred_language(client, engine, agencies):
    public_id, html = signed_in_case(client, engine, agencies)
    response = client.post("/language", data={"csrf_token": csrf_of(html), "language": "cy",
                                              "next": f"/cases/{public_id}"})
    assert response.status_code == 200  # followed the redirect back to the case
    text = unescape(response.text)
    assert 'lang="cy"' in text
    assert "Pwy sy'n delio â'ch achos" in text
    assert "Cafodd eich adroddiad am Burglary ei gofnodi gan yr heddlu." in text  # catalogue
    assert "Gadael y dudalen hon" in text
    assert "Cymerodd DC Priya Shah yr awenau gan DC Yusuf Ali" in text


def test_preferred_language_is_the_default(client, engine, police):
    open_case(police, "01/20002/26", [ALEX | {"preferred_language": "cy"}])
    page = sign_in(client, engine, "01/20002/26", "1990-05-17", "+447700900123")
    assert 'lang="cy"' in page.text and "Eich achosion" in page.text


def test_exit_this_page_ends_the_session(client, engine, agencies):
    public_id, _html = signed_in_case(client, engine, agencies)
    response = client.get("/exit", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "https://www.bbc.co.uk/weather"
    assert client.get(f"/cases/{public_id}", follow_redirects=False).status_code == 303


def test_representative_sees_the_case_and_is_told_they_act_for_the_victim(client, engine,
                                                                        agencies):
    build_case(agencies)
    page = sign_in(client, engine, REF, "2011-02-03", "jo.e@example.com", role="representative",
                   channel="email")
    [public_id] = case_ids(page.text)
    html = client.get(f"/cases/{public_id}").text
    assert "You are acting for Sam" in html
    assert "Only for Sam." in html  # the victim's own entries
    assert "Robin Example" not in html  # Alex's support worker is Alex's alone


def test_portal_requests_end_their_transactions_off_the_event_loop(app, client, engine,
                                                                   agencies):
    """Ending a transaction is a round trip to the database; on the event loop it would hold
    up every other request of the process while it waits."""
    public_id, html = signed_in_case(client, engine, agencies)
    seen = re.search(r"timeline\?seen=(\d+)", html).group(1)
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf_of(html)}
    with transaction_ends(app.state.engine) as ended:  # per COMMIT or ROLLBACK: on the loop?
        assert client.get(f"/cases/{public_id}").status_code == 200
        assert client.get(f"/cases/{public_id}/timeline", headers=htmx).status_code == 200
        assert client.get(f"/cases/{public_id}/timeline?seen={seen}",
                          headers=htmx).status_code == 204
    # One transaction per request: the browser session is read in the route's transaction.
    assert len(ended) == 3
    assert not any(ended)


def test_a_case_route_reads_the_session_and_the_case_in_one_statement(app, client, engine,
                                                                      agencies):
    """The browser session, its grants and the case the path names (if they reach it) are one
    round trip (Portal.open): a timeline poll with nothing new is that and the newest entry."""
    public_id, html = signed_in_case(client, engine, agencies)
    seen = re.search(r"timeline\?seen=(\d+)", html).group(1)
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf_of(html)}

    def selects_of(path: str, status: int) -> list[str]:
        statements: list[str] = []

        def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
            statements.append(" ".join(statement.split()))

        event.listen(app.state.engine, "before_cursor_execute", record)
        try:
            assert client.get(path, headers=htmx).status_code == status
        finally:
            event.remove(app.state.engine, "before_cursor_execute", record)
        return [s for s in statements if s.startswith("SELECT")]

    first, *rest = selects_of(f"/cases/{public_id}/timeline?seen={seen}", 204)
    def tables(statement: str) -> set[str]:
        return set(re.findall(r"(?:FROM|JOIN) \(?(\S+)", statement))

    case_read = {"portal_session", "portal_grant", "victim", '"case"'}
    assert case_read <= tables(first), first
    assert len(rest) == 1 and "max(timeline_entry.id)" in rest[0]
    # A case the grants do not reach: found out in that same first statement, then 404.
    assert case_read <= tables(selects_of("/cases/NotThisCase00000000000/timeline", 404)[0])
