"""The rules table, enhanced rights, and every row through the (pure) obligations engine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from app.cases.models import Case, Victim
from app.obligations import engine
from app.obligations.rules import (
    RULES,
    RULES_BY_ID,
    On,
    Period,
    When,
    has_enhanced_rights,
    victim_has_enhanced_rights,
    working_days,
)
from tests.obligation_facts import (
    end,
    ev,
    facts,
    informed,
    one,
    opened_event,
    person,
    rows,
    utc,
)

CODE_IDS = {
    "support-referral", "inform-police-decision", "inform-cps-decision", "regular-update",
    "vps-offer", "inform-hearing", "inform-witness-required", "inform-bail-outcome",
    "inform-outcome", "vcs-referral", "vlo-contact", "vrr-police-window", "vrr-police-ack",
    "vrr-police-done", "vrr-cps-window", "vrr-cps-done", "complaint-ack",
}
PORTAL_IDS = {"reply-to-victim", "safety-ack"}

# victims-code.md, transcribed independently of app/obligations/rules.py:
# id -> (right, owner, enhanced, standard, basis)
SPEC = {
    "support-referral": ("4", "police", working_days(2), working_days(2), "occurred"),
    "inform-police-decision": ("6", "police", working_days(1), working_days(5), "occurred"),
    "inform-cps-decision": ("6", "cps", working_days(1), working_days(5), "occurred"),
    "regular-update": ("6", "police", Period(28, "days"), Period(28, "days"), "occurred"),
    "vps-offer": ("7", "police", working_days(10), working_days(10), "occurred"),
    "inform-hearing": ("8", "witness_care", working_days(1), working_days(1), "received"),
    "inform-witness-required": ("8", "witness_care", working_days(1), working_days(1),
                                "received"),
    "inform-bail-outcome": ("8", "witness_care", working_days(1), working_days(5), "occurred"),
    "inform-outcome": ("9", "witness_care", working_days(1), working_days(1), "received"),
    "vcs-referral": ("11", "probation", working_days(10), working_days(10), "occurred"),
    "vlo-contact": ("11", "probation", working_days(20), working_days(20), "occurred"),
    "vrr-police-window": ("VRR", "victim", Period(3, "months"), Period(3, "months"),
                          "informed"),
    "vrr-police-ack": ("VRR", "police", working_days(10), working_days(10), "portal"),
    "vrr-police-done": ("VRR", "police", working_days(30), working_days(30), "portal"),
    "vrr-cps-window": ("VRR", "victim", working_days(10), working_days(10), "informed"),
    "vrr-cps-done": ("VRR", "cps", working_days(30), working_days(30), "portal"),
    "complaint-ack": ("12", "complaint_owner", working_days(10), working_days(10), "portal"),
    "reply-to-victim": ("portal", "police", working_days(2), working_days(2), "portal"),
    "safety-ack": ("portal", "victim", Period(2, "hours"), Period(2, "hours"), "received"),
}


# --- the table ----------------------------------------------------------------------------------

def test_the_table_has_one_row_per_obligation_of_the_contract():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert set(ids) == CODE_IDS | PORTAL_IDS
    assert {r.id for r in RULES if not r.code} == PORTAL_IDS


@pytest.mark.parametrize("rule_id", sorted(SPEC))
def test_each_row_matches_victims_code_md(rule_id):
    rule = RULES_BY_ID[rule_id]
    right, owner, enhanced, standard, basis = SPEC[rule_id]
    assert (rule.right, rule.owner, rule.enhanced, rule.standard, rule.basis) == \
        (right, owner, enhanced, standard, basis)
    assert rule.obligation and rule.trigger_text and rule.evidence.text
    assert "{date}" in rule.next_step
    # raised either by agency events or by a portal action, never both, never neither
    assert bool(rule.triggers) != bool(rule.raised_by)


def test_portal_raised_rows_are_in_the_table():
    raised = {r.id: r.raised_by for r in RULES if r.raised_by}
    assert raised == {"vrr-police-ack": "vrr_request_police",
                      "vrr-police-done": "vrr_request_police",
                      "vrr-cps-done": "vrr_request_cps", "complaint-ack": "complaint",
                      "reply-to-victim": "message"}


def test_conditions():
    vrr = When("vrr_eligible", "true")
    assert vrr.holds({"vrr_eligible": True}, "x")
    assert not vrr.holds({"vrr_eligible": None}, "x")
    assert not vrr.holds({}, "x")
    custody = When("custody_months", "ge", 12)
    assert custody.holds({"custody_months": 12}, "x")
    assert not custody.holds({"custody_months": 11.5}, "x")
    assert not custody.holds({}, "x")
    group = When("case.offence_group", "in", {"sexual"})
    assert group.holds({}, "sexual") and not group.holds({}, "theft")
    on = On("charging.decision", (When("decision", "eq", "charge"),))
    assert on.matches("charging.decision", {"decision": "charge"}, "x", False)
    assert not on.matches("charging.decision", {"decision": "no_further_action"}, "x", False)
    assert not on.matches("charges.altered", {"decision": "charge"}, "x", False)


def test_a_changed_row_changes_the_engine_without_touching_it():
    quicker = replace(RULES_BY_ID["support-referral"], enhanced=working_days(1),
                      standard=working_days(1))
    case_facts = facts(opened_event("2026-12-01"))
    (row,) = engine.evaluate(case_facts, [quicker])
    assert row.due_at == end("2026-12-02")


def test_a_per_case_row_is_owed_once_per_trigger():
    per_case = replace(RULES_BY_ID["inform-cps-decision"], id="inform-cps-decision",
                       scope="case")
    charge = ev("charging.decision", "2026-12-02", {"decision": "charge"})
    case_facts = facts(opened_event(victims=[person("V1"), person("V2")]), charge,
                       victims={"V1": 101, "V2": 102},
                       evidence=[informed(102, charge, "2026-12-02T15:00")])
    (row,) = engine.evaluate(case_facts, [per_case])
    assert row.victim_pk is None
    assert row.met_at == utc("2026-12-02T15:00")


# --- enhanced rights ----------------------------------------------------------------------------

REPORTED = datetime(2026, 11, 19, 18, 30, tzinfo=UTC)


@pytest.mark.parametrize("category", ["most_serious_crime", "persistently_targeted",
                                      "vulnerable", "intimidated", "bereaved_family"])
def test_any_police_listed_category_gives_enhanced_rights(category):
    assert has_enhanced_rights([category], date(1980, 1, 1), "burglary", REPORTED)


@pytest.mark.parametrize(("group", "enhanced"), [
    ("sexual", True), ("domestic_abuse", True), ("hate", True), ("homicide", True),
    ("violence", False), ("stalking_harassment", False), ("robbery", False),
    ("burglary", False), ("theft", False), ("criminal_damage", False), ("fraud", False),
    ("other", False),
])
def test_offence_groups_of_the_most_serious_crime(group, enhanced):
    assert has_enhanced_rights([], date(1980, 1, 1), group, REPORTED) is enhanced


@pytest.mark.parametrize(("born", "enhanced"), [
    (date(2008, 11, 20), True),  # 18 tomorrow: under 18 when reported
    (date(2008, 11, 19), False),  # 18th birthday on the day of reporting
    (date(2012, 1, 1), True),
    (None, False),
])
def test_under_18_when_the_crime_was_reported(born, enhanced):
    assert has_enhanced_rights([], born, "burglary", REPORTED) is enhanced


def test_age_is_taken_on_the_london_day_of_reporting():
    # 23:30 UTC on 30 Jun is 00:30 on 1 Jul in London: the victim born 1 Jul 2008 is 18.
    reported = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert not has_enhanced_rights([], date(2008, 7, 1), "theft", reported)


def test_victim_has_enhanced_rights_reads_the_case_and_victim():
    case = Case(offence_group="theft", reported_at=REPORTED)
    assert not victim_has_enhanced_rights(case, Victim(enhanced_categories=[],
                                                       date_of_birth=date(1990, 5, 17)))
    assert victim_has_enhanced_rights(case, Victim(enhanced_categories=["intimidated"],
                                                   date_of_birth=None))
    assert victim_has_enhanced_rights(case, Victim(enhanced_categories=[],
                                                   date_of_birth=date(2010, 3, 3)))


def test_a_child_victim_gets_the_enhanced_deadline():
    child = person("V1", date_of_birth="2011-02-03")
    adult = person("V2")
    arrest = ev("suspect.arrested", "2026-12-02")
    case_facts = facts(opened_event(victims=[child, adult]), arrest,
                       victims={"V1": 101, "V2": 102})
    by_victim = {r.victim_pk: r for r in rows(case_facts, "inform-police-decision")}
    assert by_victim[101].enhanced and by_victim[101].due_at == end("2026-12-03")
    assert not by_victim[102].enhanced and by_victim[102].due_at == end("2026-12-09")


def test_enhanced_is_as_the_victim_was_described_when_the_obligation_arose():
    arrest = ev("suspect.arrested", "2026-12-02")
    flagged = ev("victim.updated", "2026-12-03",
                 {"victim": person("V1", enhanced_rights=["vulnerable"])})
    bailed = ev("suspect.bailed", "2026-12-04")
    by_trigger = {r.trigger_key: r for r in rows(facts(opened_event(), arrest, flagged, bailed),
                                                 "inform-police-decision")}
    assert not by_trigger[arrest.key].enhanced
    assert by_trigger[arrest.key].due_at == end("2026-12-09")
    assert by_trigger[bailed.key].enhanced
    assert by_trigger[bailed.key].due_at == end("2026-12-07")


# --- each row through the engine ----------------------------------------------------------------

def test_support_referral():
    opened = opened_event("2026-12-01")
    row = one(facts(opened), "support-referral")
    assert (row.owner, row.trigger_at, row.due_at, row.met_at) == \
        ("police", utc("2026-12-01"), end("2026-12-03"), None)
    referred = ev("support.referred", "2026-12-02",
                  {"victim_ref": "V1", "service": "Victim Support", "consent": True})
    row = one(facts(opened, referred), "support-referral")
    assert row.met_at == utc("2026-12-02") and row.evidence == referred.label


def test_support_referral_for_a_victim_added_later_and_declining_it():
    added = ev("victim.added", "2026-12-10", {"victim": person("V2")})
    declined = engine.EvidenceFact(102, None, "support_declined", "portal", utc("2026-12-10T12:00"))
    case_facts = facts(opened_event("2026-12-01"), added, victims={"V1": 101, "V2": 102},
                       evidence=[declined])
    by_victim = {r.victim_pk: r for r in rows(case_facts, "support-referral")}
    assert by_victim[102].trigger_key == added.key
    assert by_victim[102].due_at == end("2026-12-14")
    assert by_victim[102].cancelled and not by_victim[101].cancelled


def test_declining_after_the_deadline_does_not_undo_a_breach():
    late = engine.EvidenceFact(101, None, "support_declined", "portal", utc("2026-12-20"))
    assert not one(facts(opened_event("2026-12-01"), evidence=[late]),
                   "support-referral").cancelled


@pytest.mark.parametrize("event_type", [
    "suspect.arrested", "suspect.interviewed", "suspect.bailed",
    "suspect.released_under_investigation", "suspect.bail_conditions_changed",
    "investigation.closed", "out_of_court_disposal"])
def test_inform_police_decision(event_type):
    data = {"bail_conditions": ["Not to contact the victim"], "outcome": "no_further_action",
            "disposal": "caution"}
    decision = ev(event_type, "2026-12-02T14:00", data)
    row = one(facts(opened_event(), decision), "inform-police-decision")
    assert (row.owner, row.owner_agency_pk, row.due_at) == ("police", 1, end("2026-12-09"))
    met = one(facts(opened_event(), decision, evidence=[
        informed(101, decision, "2026-12-03T08:00", "portal_view"),
        informed(101, decision, "2026-12-02T16:00", "delivery_receipt")]),
        "inform-police-decision")
    assert met.met_at == utc("2026-12-02T16:00")  # the first moment of evidence
    assert met.evidence == "informed: delivery_receipt"


@pytest.mark.parametrize(("event_type", "data"), [
    ("charging.decision", {"decision": "charge"}),
    ("charging.decision", {"decision": "no_further_action"}),
    ("charges.altered", {"charges": ["Theft"]}),
    ("prosecution.discontinued", {}),
])
def test_inform_cps_decision(event_type, data):
    decision = ev(event_type, "2026-12-24T11:00", data)
    row = one(facts(opened_event(), decision, offence_group="sexual"), "inform-cps-decision")
    assert row.enhanced and row.owner == "cps" and row.owner_agency_pk == 2
    assert row.due_at == end("2026-12-29")  # one working day over Christmas
    standard = one(facts(opened_event(), decision), "inform-cps-decision")
    assert not standard.enhanced
    assert standard.due_at == end("2027-01-05")  # 29, 30, 31 Dec, 4 and 5 Jan


def test_vps_offer_due_ten_working_days_after_charge_without_a_hearing():
    charge = ev("charging.decision", "2026-12-01", {"decision": "charge"})
    row = one(facts(opened_event(), charge), "vps-offer")
    assert row.due_at == end("2026-12-15")
    assert not rows(facts(opened_event(), ev("charging.decision", "2026-12-01",
                                             {"decision": "no_further_action"})), "vps-offer")


def test_vps_offer_due_before_the_first_listed_hearing():
    charge = ev("charging.decision", "2026-12-01", {"decision": "charge"})
    hearings = [engine.HearingFact("H-2", utc("2027-01-20T10:00"), False),
                engine.HearingFact("H-1", utc("2026-12-03T10:00"), True),  # vacated
                engine.HearingFact("H-3", utc("2027-01-06T10:00"), False)]
    row = one(facts(opened_event(), charge, hearings=hearings), "vps-offer")
    assert row.due_at == utc("2027-01-06T10:00")


def test_vps_offer_met_by_an_earlier_offer_or_the_vps_page():
    offered = ev("vps.offered", "2026-11-25", {"victim_ref": "V1"})
    charge = ev("charging.decision", "2026-12-01", {"decision": "charge"})
    row = one(facts(opened_event("2026-11-20"), offered, charge), "vps-offer")
    assert row.met_at == charge.occurred_at  # already offered when it arose
    page = engine.EvidenceFact(101, None, "vps_page_opened", "portal", utc("2026-12-04"))
    row = one(facts(opened_event("2026-11-20"), charge, evidence=[page]), "vps-offer")
    assert row.met_at == utc("2026-12-04") and row.evidence == "vps_page_opened: portal"


def test_vps_offer_withdrawn_when_the_prosecution_is_discontinued():
    charge = ev("charging.decision", "2026-12-01", {"decision": "charge"})
    stopped = ev("prosecution.discontinued", "2026-12-05", {})
    assert one(facts(opened_event(), charge, stopped), "vps-offer").cancelled
    too_late = ev("prosecution.discontinued", "2027-01-05", {})
    assert not one(facts(opened_event(), charge, too_late), "vps-offer").cancelled


@pytest.mark.parametrize(("event_type", "data"), [
    ("hearing.scheduled", {"hearing_id": "H-1", "hearing_type": "trial", "court": "Snaresbrook",
                           "starts_at": "2027-02-03T10:00:00Z"}),
    ("hearing.changed", {"hearing_id": "H-1", "starts_at": "2027-02-04T10:00:00Z"}),
    ("hearing.vacated", {"hearing_id": "H-1", "reason": "Judge unavailable"}),
])
def test_inform_hearing_counts_from_receipt(event_type, data):
    hearing = ev(event_type, "2026-12-18T10:00", data, received="2026-12-24T17:00")
    row = one(facts(opened_event(), hearing), "inform-hearing")
    assert (row.owner, row.owner_agency_pk) == ("witness_care", 3)
    assert row.trigger_at == utc("2026-12-24T17:00")
    assert row.due_at == end("2026-12-29")


def test_a_vacated_hearing_cancels_nothing_already_owed():
    listed = ev("hearing.scheduled", "2026-12-01", {
        "hearing_id": "H-1", "hearing_type": "trial", "court": "Snaresbrook",
        "starts_at": "2027-02-03T10:00:00Z"})
    vacated = ev("hearing.vacated", "2026-12-02", {"hearing_id": "H-1"})
    found = rows(facts(opened_event(), listed, vacated), "inform-hearing")
    assert [r.trigger_key for r in found] == [listed.key, vacated.key]
    assert not any(r.cancelled for r in found)


def test_inform_witness_required_only_for_that_victim():
    required = ev("witness.required", "2026-12-02", {"victim_ref": "V2", "hearing_id": "H-1"})
    case_facts = facts(opened_event(victims=[person("V1"), person("V2")]), required,
                       victims={"V1": 101, "V2": 102})
    row = one(case_facts, "inform-witness-required")
    assert row.victim_pk == 102 and row.due_at == end("2026-12-03")


@pytest.mark.parametrize(("remand", "raised"), [("bail", True), ("custody", False),
                                                ("none", False), (None, False)])
def test_inform_bail_outcome(remand, raised):
    outcome = ev("hearing.outcome", "2026-12-02",
                 {"hearing_id": "H-1", "outcome": "adjourned", "remand": remand})
    found = rows(facts(opened_event(), outcome), "inform-bail-outcome")
    assert bool(found) is raised
    if raised:
        assert found[0].due_at == end("2026-12-09")


@pytest.mark.parametrize(("outcome", "raised"), [
    ("guilty_plea", True), ("convicted", True), ("acquitted", True), ("dismissed", True),
    ("adjourned", False), ("not_guilty_plea", False), ("other", False)])
def test_inform_outcome_for_verdicts(outcome, raised):
    event = ev("hearing.outcome", "2026-12-02", {"hearing_id": "H-1", "outcome": outcome})
    assert bool(rows(facts(opened_event(), event), "inform-outcome")) is raised


def test_inform_outcome_and_the_senders_receipt_deadline():
    sentence = ev("sentence.passed", "2026-12-01T15:00", {"sentence": "2 years"},
                  received="2026-12-10T09:00")
    row = one(facts(opened_event(), sentence), "inform-outcome")
    assert row.trigger_at == utc("2026-12-10T09:00")
    assert row.due_at == end("2026-12-11")
    assert row.receipt_due_at == end("2026-12-08")  # received late by the Witness Care Unit
    appeal = ev("appeal.decided", "2026-12-01", {"summary": "Dismissed"})
    assert one(facts(opened_event(), appeal), "inform-outcome").receipt_due_at == \
        end("2026-12-08")


@pytest.mark.parametrize(("group", "months", "raised"), [
    ("violence", 12, True), ("sexual", 30, True), ("domestic_abuse", 12, True),
    ("homicide", 240, True), ("stalking_harassment", 18, True),
    ("violence", 11, False), ("violence", None, False), ("robbery", 36, False),
    ("burglary", 24, False), ("hate", 24, False)])
def test_vcs_referral_only_for_12_months_or_more_in_the_listed_groups(group, months, raised):
    data = {"sentence": "Imprisonment"} | ({"custody_months": months} if months else {})
    sentence = ev("sentence.passed", "2026-12-01", data)
    found = rows(facts(opened_event(), sentence, offence_group=group), "vcs-referral")
    assert bool(found) is raised
    if raised:
        assert found[0].owner == "probation" and found[0].due_at == end("2026-12-15")


def test_vcs_referral_met_and_vlo_contact():
    sentence = ev("sentence.passed", "2026-12-01", {"sentence": "3 years", "custody_months": 36})
    referred = ev("vcs.referred", "2026-12-07", {"victim_ref": "V1"})
    vlo = ev("vlo.assigned", "2027-01-20", {"name": "Sam Placeholder"})
    case_facts = facts(opened_event(), sentence, referred, vlo, offence_group="violence")
    assert one(case_facts, "vcs-referral").met_at == utc("2026-12-07")
    contact = one(case_facts, "vlo-contact")
    # 20 working days from Mon 7 Dec 2026 over Christmas and New Year: Thu 7 Jan 2027
    assert contact.due_at == end("2027-01-07")
    assert contact.met_at == utc("2027-01-20")  # met late


def test_vrr_police_window_runs_from_being_informed():
    closed = ev("investigation.closed", "2026-12-01",
                {"outcome": "no_further_action", "vrr_eligible": True})
    not_told = one(facts(opened_event(), closed), "vrr-police-window")
    assert (not_told.owner, not_told.due_at, not_told.trigger_at) == \
        ("victim", None, utc("2026-12-01"))
    told = one(facts(opened_event(), closed,
                     evidence=[informed(101, closed, "2026-12-03T18:00", "portal_view")]),
               "vrr-police-window")
    assert told.trigger_at == utc("2026-12-03T18:00")
    assert told.due_at == end("2027-03-03")
    assert not rows(facts(opened_event(), ev("investigation.closed", "2026-12-01",
                                             {"outcome": "no_further_action"})),
                    "vrr-police-window")


def test_vrr_police_window_met_by_a_review_request():
    closed = ev("investigation.closed", "2026-12-01",
                {"outcome": "evidential_difficulties", "vrr_eligible": True})
    request = engine.RequestFact("vrr_request_police", 101, utc("2027-01-10"))
    row = one(facts(opened_event(), closed, requests=[request],
                    evidence=[informed(101, closed, "2026-12-02")]), "vrr-police-window")
    assert row.met_at == utc("2027-01-10") and row.evidence == "request: vrr_request_police"


@pytest.mark.parametrize(("event_type", "data", "raised"), [
    ("charging.decision", {"decision": "no_further_action", "vrr_eligible": True}, True),
    ("charging.decision", {"decision": "no_further_action"}, False),
    ("charging.decision", {"decision": "charge", "vrr_eligible": True}, False),
    ("charging.decision", {"decision": "out_of_court_disposal", "vrr_eligible": True}, False),
    ("prosecution.discontinued", {"vrr_eligible": True}, True),
    ("prosecution.discontinued", {"vrr_eligible": False}, False),
    ("charges.altered", {"charges": ["Assault"], "vrr_eligible": True}, True),
])
def test_vrr_cps_window(event_type, data, raised):
    decision = ev(event_type, "2026-12-01", data)
    case_facts = facts(opened_event(), decision,
                       evidence=[informed(101, decision, "2026-12-02T10:00")])
    found = rows(case_facts, "vrr-cps-window")
    assert bool(found) is raised
    if raised:
        assert found[0].due_at == end("2026-12-16")  # ask promptly: 10 working days
        assert found[0].closes_at == end("2027-03-02")  # accepted up to 3 months


def test_safety_ack_for_safety_critical_events_only():
    bailed = ev("suspect.bailed", "2026-12-01T20:00", {}, received="2026-12-01T20:05")
    arrested = ev("suspect.arrested", "2026-12-01T19:00", {})
    remand = ev("hearing.outcome", "2026-12-02", {"hearing_id": "H", "outcome": "adjourned",
                                                  "remand": "bail"})
    custody = ev("hearing.outcome", "2026-12-03", {"hearing_id": "H", "outcome": "adjourned",
                                                   "remand": "custody"})
    found = rows(facts(opened_event(), arrested, bailed, remand, custody), "safety-ack")
    assert [r.trigger_key for r in found] == [bailed.key, remand.key]
    assert found[0].due_at == utc("2026-12-01T22:05")
    assert found[0].owner == "victim" and found[0].owner_agency_pk is None


def test_safety_ack_is_met_only_by_an_acknowledgement():
    bailed = ev("suspect.bailed", "2026-12-01T20:00", {})
    delivered = informed(101, bailed, "2026-12-01T20:01", "delivery_receipt")
    acked = informed(101, bailed, "2026-12-01T21:30", "acknowledged")
    only_delivered = facts(opened_event(), bailed, evidence=[delivered])
    assert one(only_delivered, "safety-ack").met_at is None
    assert one(only_delivered, "inform-police-decision").met_at == utc("2026-12-01T20:01")
    both = facts(opened_event(), bailed, evidence=[delivered, acked])
    assert one(both, "safety-ack").met_at == utc("2026-12-01T21:30")


# --- regular updates ----------------------------------------------------------------------------

def _updates(case_facts: engine.CaseFacts) -> list[engine.Computed]:
    return rows(case_facts, "regular-update")


def test_regular_update_first_period_from_case_opened():
    (row,) = _updates(facts(opened_event("2026-12-01")))
    assert row.due_at == end("2026-12-29") and row.met_at is None and not row.cancelled


def test_each_update_meets_its_period_and_starts_the_next():
    opened = opened_event("2026-12-01")
    first = ev("investigation.update", "2026-12-20", {"message": "CCTV being reviewed"})
    officer = ev("officer.assigned", "2027-01-30", {"role": "oic", "name": "DC Placeholder"})
    found = _updates(facts(opened, first, officer))
    assert [(r.trigger_key, r.met_at) for r in found] == [
        (opened.key, utc("2026-12-20")), (first.key, utc("2027-01-30")), (officer.key, None)]
    assert found[1].due_at == end("2027-01-17")  # met late on 30 Jan
    assert found[2].due_at == end("2027-02-27")


def test_an_update_for_another_victim_does_not_count():
    opened = opened_event("2026-12-01", victims=[person("V1"), person("V2")])
    only_v2 = ev("investigation.update", "2026-12-10", {"message": "x", "victim_ref": "V2"})
    found = _updates(facts(opened, only_v2, victims={"V1": 101, "V2": 102}))
    v1 = [r for r in found if r.victim_pk == 101]
    assert len(v1) == 1 and v1[0].met_at is None
    assert len([r for r in found if r.victim_pk == 102]) == 2


def test_regular_update_closes_at_charge():
    opened = opened_event("2026-12-01")
    charge = ev("charging.decision", "2026-12-15", {"decision": "charge"}, agency="cps-london")
    after = ev("investigation.update", "2026-12-20", {"message": "after charge"})
    (row,) = _updates(facts(opened, charge, after))
    assert row.cancelled and row.met_at is None


def test_an_overdue_period_stays_unmet_at_charge():
    charge = ev("charging.decision", "2027-01-15", {"decision": "charge"})
    (row,) = _updates(facts(opened_event("2026-12-01"), charge))
    assert not row.cancelled and row.met_at is None and row.due_at == end("2026-12-29")


def test_a_police_closure_is_the_last_update():
    opened = opened_event("2026-12-01")
    closed = ev("investigation.closed", "2026-12-10", {"outcome": "no_suspect_identified"})
    (row,) = _updates(facts(opened, closed))
    assert row.met_at == utc("2026-12-10") and not row.cancelled


def test_no_updates_owed_to_a_victim_added_after_charge():
    charge = ev("charging.decision", "2026-12-10", {"decision": "charge"})
    added = ev("victim.added", "2026-12-20", {"victim": person("V2")})
    found = _updates(facts(opened_event("2026-12-01"), charge, added,
                           victims={"V1": 101, "V2": 102}))
    assert {r.victim_pk for r in found} == {101}


def test_a_victim_added_later_is_not_owed_earlier_decisions():
    arrest = ev("suspect.arrested", "2026-12-02")
    added = ev("victim.added", "2026-12-05", {"victim": person("V2")})
    bailed = ev("suspect.bailed", "2026-12-06")
    found = rows(facts(opened_event(), arrest, added, bailed, victims={"V1": 101, "V2": 102}),
                 "inform-police-decision")
    assert sorted((r.trigger_key, r.victim_pk) for r in found) == sorted(
        [(arrest.key, 101), (bailed.key, 101), (bailed.key, 102)])


def test_evaluation_ignores_the_order_facts_are_given_in():
    events = [opened_event("2026-12-01"), ev("suspect.arrested", "2026-12-02"),
              ev("investigation.update", "2026-12-05", {"message": "x"}),
              ev("charging.decision", "2026-12-10", {"decision": "charge"})]
    forwards = engine.evaluate(facts(*events))
    backwards = engine.evaluate(facts(*reversed(events)))
    assert forwards == backwards


def test_due_times_are_timezone_aware():
    row = one(facts(opened_event()), "support-referral")
    assert row.due_at is not None and row.due_at.utcoffset() == timedelta(0)


def test_the_docs_table_lists_every_rule():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[1] / "docs" / "obligations.md").read_text()
    table = docs.split("## The rules table", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [line.split("`")[1] for line in rows] == [r.id for r in RULES]
