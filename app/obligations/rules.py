"""The Victims' Code rules the portal tracks, as data (victims-code.md). One row per obligation.

Change a deadline, a trigger or what counts as evidence here; the engine
(`app.obligations.service`) only interprets these rows. Each row cites its right in the Code of
Practice for Victims of Crime in England and Wales (2021), the police or CPS Victims' Right to
Review scheme ("VRR"), or says it is a service level of the portal itself ("portal").

Also here: who is entitled to enhanced rights (the shorter deadlines), and the plain-English
"next step" wording of each obligation (English source strings, translated through gettext).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from app.cases.models import Case, Victim
from app.core.i18n import LONDON, N_
from app.obligations import calendar

# --- who gets enhanced rights -----------------------------------------------------------------

# Victims of the most serious crime (Code, Right 1 and its definitions).
ENHANCED_OFFENCE_GROUPS = frozenset({"sexual", "domestic_abuse", "hate", "homicide"})
ADULT_AGE = 18


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def has_enhanced_rights(categories: list[Any] | None, date_of_birth: date | None,
                        offence_group: str, reported_at: datetime) -> bool:
    """Any police-listed category, an offence group of the most serious crime, or a victim
    under 18 on the (London) day the crime was reported."""
    if categories:
        return True
    if offence_group in ENHANCED_OFFENCE_GROUPS:
        return True
    if date_of_birth is not None:
        reported_day = reported_at.astimezone(LONDON).date()
        return age_on(date_of_birth, reported_day) < ADULT_AGE
    return False


def victim_has_enhanced_rights(case: Case, victim: Victim) -> bool:
    return has_enhanced_rights(victim.enhanced_categories, victim.date_of_birth,
                               case.offence_group, case.reported_at)


# --- the vocabulary of the rules table --------------------------------------------------------

Unit = Literal["working_days", "days", "months", "hours"]


@dataclass(frozen=True)
class Period:
    amount: int
    unit: Unit

    def after(self, moment: datetime) -> datetime:
        match self.unit:
            case "working_days":
                return calendar.working_days_after(moment, self.amount)
            case "days":
                return calendar.days_after(moment, self.amount)
            case "months":
                return calendar.months_after(moment, self.amount)
            case "hours":
                return calendar.hours_after(moment, self.amount)
        raise ValueError(f"unknown unit {self.unit}")

    def __str__(self) -> str:
        unit = self.unit.replace("_", " ")
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"


def working_days(n: int) -> Period:
    return Period(n, "working_days")


@dataclass(frozen=True)
class When:
    """A condition on the triggering event: `field` of its data (or `case.offence_group`)."""

    field: str
    op: Literal["eq", "in", "ge", "true"]
    value: Any = None

    def holds(self, data: Mapping[str, Any], offence_group: str) -> bool:
        actual = offence_group if self.field == "case.offence_group" else data.get(self.field)
        match self.op:
            case "eq":
                return bool(actual == self.value)
            case "in":
                return actual in self.value
            case "ge":
                return actual is not None and actual >= self.value
            case "true":
                return actual is True
        raise ValueError(f"unknown operator {self.op}")


@dataclass(frozen=True)
class On:
    """An agency event type that raises (or ends) an obligation, when every condition holds."""

    type: str
    when: tuple[When, ...] = ()

    def matches(self, event_type: str, data: Mapping[str, Any], offence_group: str,
                safety_critical: bool) -> bool:
        if self.type == SAFETY_CRITICAL:
            return safety_critical
        return event_type == self.type and all(w.holds(data, offence_group) for w in self.when)


# Any event the catalogue (app/agencies/catalogue.py) marks safety-critical.
SAFETY_CRITICAL = "*safety-critical*"

# Sources of evidence that a victim (or their representative) had an event's information.
DELIVERY_RECEIPT, PORTAL_VIEW, ACKNOWLEDGED = "delivery_receipt", "portal_view", "acknowledged"
INFORMED_SOURCES = frozenset({DELIVERY_RECEIPT, PORTAL_VIEW, ACKNOWLEDGED})
# Things a victim does in the portal that the rules use (kinds of `obligation_evidence` rows).
INFORMED, VPS_PAGE_OPENED, SUPPORT_DECLINED = "informed", "vps_page_opened", "support_declined"
# Things a victim starts in the portal that raise obligations (see `Rule.raised_by`).
VRR_REQUEST_POLICE, VRR_REQUEST_CPS = "vrr_request_police", "vrr_request_cps"
COMPLAINT, MESSAGE = "complaint", "message"
# The owner of complaint-ack is whoever the complaint is about, given when it is raised.
COMPLAINT_OWNER = "complaint_owner"

Basis = Literal["occurred", "received", "informed", "portal"]


@dataclass(frozen=True)
class Evidence:
    """What meets an obligation; the first moment any of these happened is `met_at`."""

    # the victim demonstrably had the triggering event's information, from these sources
    informed: frozenset[str] = frozenset()
    # an agency event of these types for the victim (at any time: an earlier one already meets)
    events: frozenset[str] = frozenset()
    # something the victim did in the portal (kinds of `obligation_evidence`)
    actions: frozenset[str] = frozenset()
    # the victim made one of these portal requests after the trigger (VRR windows)
    requests: frozenset[str] = frozenset()
    # recorded by `service.meet()` (portal features: replies, acknowledgements, decisions)
    manual: bool = False
    text: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    right: str  # Code right number, "VRR" or "portal"
    obligation: str
    trigger_text: str
    owner: str  # agency kind, "victim", or COMPLAINT_OWNER
    enhanced: Period
    standard: Period
    basis: Basis  # what the deadline counts from
    evidence: Evidence
    next_step: str  # gettext source; {date} is the due date, {closes} a window's last day
    scope: Literal["victim", "case"] = "victim"
    triggers: tuple[On, ...] = ()  # agency events that raise it
    raised_by: str | None = None  # or a portal action, via service.open_obligations_for()
    # events that withdraw it while it is unmet and not yet due
    cancelled_by: tuple[On, ...] = ()
    # victim actions that withdraw it while unmet (e.g. declining a referral)
    cancelled_by_actions: frozenset[str] = frozenset()
    # rolling: a new period starts at each piece of evidence, until one of `until`
    rolling: bool = False
    until: tuple[On, ...] = ()
    # vps-offer: due at the first listed hearing's start; the deadline applies when none is
    before_first_hearing: bool = False
    closes: Period | None = None  # a window's last day, when later than the due date
    receipt_within: Period | None = None  # the sender must deliver the trigger within this
    escalations: tuple[tuple[Period, str], ...] = ()  # who is told when it is still unmet
    deadline_text: str = ""
    notes: str = ""
    code: bool = True  # False for the portal's own service levels

    def deadline(self, enhanced: bool) -> Period:
        return self.enhanced if enhanced else self.standard


def _informed(text: str = "victim informed") -> Evidence:
    return Evidence(informed=INFORMED_SOURCES, text=text)


_VRR = When("vrr_eligible", "true")
VERDICT_OUTCOMES = frozenset({"guilty_plea", "convicted", "acquitted", "dismissed"})
VCS_OFFENCE_GROUPS = frozenset(
    {"violence", "sexual", "domestic_abuse", "homicide", "stalking_harassment"}
)
VCS_MIN_CUSTODY_MONTHS = 12
# Police events a victim sees on their timeline as news about the investigation.
POLICE_UPDATES = frozenset({
    "investigation.update", "officer.assigned", "suspect.arrested", "suspect.interviewed",
    "suspect.bailed", "suspect.released_under_investigation", "suspect.bail_conditions_changed",
    "investigation.closed", "out_of_court_disposal", "vps.offered", "vps.recorded",
    "support.referred", "rj.information_given",
})
# The investigation stage ends at the charging decision or a closure.
INVESTIGATION_ENDS = (On("charging.decision"), On("investigation.closed"),
                      On("out_of_court_disposal"), On("prosecution.discontinued"))
REGULAR_UPDATE_DAYS = 28

RULES: tuple[Rule, ...] = (
    Rule(
        id="support-referral", right="4",
        obligation="referred to a support service, unless the victim declines in the portal",
        trigger_text="case.opened (or victim.added, for a victim added later)",
        triggers=(On("case.opened"), On("victim.added")),
        owner="police", enhanced=working_days(2), standard=working_days(2), basis="occurred",
        evidence=Evidence(events=frozenset({"support.referred"}), text="support.referred"),
        cancelled_by_actions=frozenset({SUPPORT_DECLINED}),
        next_step=N_("The police must refer you to a support service by {date}, unless you "
                     "tell us you do not want this."),
    ),
    Rule(
        id="inform-police-decision", right="6", obligation="victim informed",
        trigger_text="suspect.arrested, suspect.interviewed, suspect.bailed, "
                     "suspect.released_under_investigation, suspect.bail_conditions_changed, "
                     "investigation.closed, out_of_court_disposal",
        triggers=tuple(On(t) for t in (
            "suspect.arrested", "suspect.interviewed", "suspect.bailed",
            "suspect.released_under_investigation", "suspect.bail_conditions_changed",
            "investigation.closed", "out_of_court_disposal")),
        owner="police", enhanced=working_days(1), standard=working_days(5), basis="occurred",
        evidence=_informed(),
        next_step=N_("The police must tell you about their decision by {date}."),
    ),
    Rule(
        id="inform-cps-decision", right="6",
        obligation="victim informed; when vrr_eligible, with how to ask for a review",
        trigger_text="charging.decision, charges.altered, prosecution.discontinued",
        triggers=(On("charging.decision"), On("charges.altered"),
                  On("prosecution.discontinued")),
        owner="cps", enhanced=working_days(1), standard=working_days(5), basis="occurred",
        evidence=_informed(),
        next_step=N_("The Crown Prosecution Service must tell you its decision by {date}."),
    ),
    Rule(
        id="regular-update", right="6",
        obligation="a victim-facing police update at least every 28 days while the "
                   "investigation is open",
        trigger_text="case.opened (or victim.added), then each police update, until the "
                     "charging decision or a closure",
        triggers=(On("case.opened"), On("victim.added")),
        owner="police", enhanced=Period(REGULAR_UPDATE_DAYS, "days"),
        standard=Period(REGULAR_UPDATE_DAYS, "days"), basis="occurred",
        evidence=Evidence(events=POLICE_UPDATES,
                          text="any police event the victim sees (investigation.update, "
                               "suspect.*, officer.assigned, investigation.closed, ...)"),
        rolling=True, until=INVESTIGATION_ENDS,
        deadline_text="rolling: 28 days after the previous update (end of that day)",
        notes="Each gap between updates is one row. A period still running at the charging "
              "decision or closure is cancelled; one already overdue stays breached.",
        next_step=N_("The police must give you an update on the investigation by {date}."),
    ),
    Rule(
        id="vps-offer", right="7",
        obligation="Victim Personal Statement offered",
        trigger_text="charging.decision with decision = charge",
        triggers=(On("charging.decision", (When("decision", "eq", "charge"),)),),
        owner="police", enhanced=working_days(10), standard=working_days(10), basis="occurred",
        evidence=Evidence(events=frozenset({"vps.offered", "vps.recorded", "vps.declined"}),
                          actions=frozenset({VPS_PAGE_OPENED}),
                          text="vps.offered, vps.recorded, vps.declined, or the victim opened "
                               "the VPS page"),
        before_first_hearing=True,
        cancelled_by=(On("prosecution.discontinued"),),
        deadline_text="before the first listed hearing's start; 10 working days when no "
                      "hearing is listed",
        next_step=N_("The police must offer you the chance to make a Victim Personal "
                     "Statement by {date}."),
    ),
    Rule(
        id="inform-hearing", right="8", obligation="victim informed of date, time and place",
        trigger_text="hearing.scheduled, hearing.changed, hearing.vacated",
        triggers=(On("hearing.scheduled"), On("hearing.changed"), On("hearing.vacated")),
        owner="witness_care", enhanced=working_days(1), standard=working_days(1),
        basis="received", evidence=_informed(),
        notes="A vacated or changed hearing cancels nothing already owed: each of these "
              "events is its own obligation to inform.",
        next_step=N_("The Witness Care Unit must tell you about the court hearing by {date}."),
    ),
    Rule(
        id="inform-witness-required", right="8", obligation="victim informed",
        trigger_text="witness.required (that victim)",
        triggers=(On("witness.required"),),
        owner="witness_care", enhanced=working_days(1), standard=working_days(1),
        basis="received", evidence=_informed(),
        next_step=N_("The Witness Care Unit must tell you that you are needed as a witness "
                     "by {date}."),
    ),
    Rule(
        id="inform-bail-outcome", right="8", obligation="victim informed, with conditions",
        trigger_text="hearing.outcome with remand = bail",
        triggers=(On("hearing.outcome", (When("remand", "eq", "bail"),)),),
        owner="witness_care", enhanced=working_days(1), standard=working_days(5),
        basis="occurred", evidence=_informed(),
        next_step=N_("The Witness Care Unit must tell you about the defendant's bail and its "
                     "conditions by {date}."),
    ),
    Rule(
        id="inform-outcome", right="9", obligation="victim informed",
        trigger_text="hearing.outcome with a verdict (guilty_plea, convicted, acquitted, "
                     "dismissed), sentence.passed, appeal.decided",
        triggers=(On("hearing.outcome", (When("outcome", "in", VERDICT_OUTCOMES),)),
                  On("sentence.passed"), On("appeal.decided")),
        owner="witness_care", enhanced=working_days(1), standard=working_days(1),
        basis="received", evidence=_informed(), receipt_within=working_days(5),
        deadline_text="1 working day from receipt; the sender must deliver within 5 working "
                      "days of occurred_at (receipt_due_at)",
        next_step=N_("The Witness Care Unit must tell you the outcome at court by {date}."),
    ),
    Rule(
        id="vcs-referral", right="11",
        obligation="referred to the Victim Contact Scheme",
        trigger_text="sentence.passed with custody_months >= 12 and offence_group in violence, "
                     "sexual, domestic_abuse, homicide, stalking_harassment",
        triggers=(On("sentence.passed", (
            When("custody_months", "ge", VCS_MIN_CUSTODY_MONTHS),
            When("case.offence_group", "in", VCS_OFFENCE_GROUPS))),),
        owner="probation", enhanced=working_days(10), standard=working_days(10),
        basis="occurred",
        evidence=Evidence(events=frozenset({"vcs.referred"}), text="vcs.referred"),
        next_step=N_("The Probation Service must refer you to its Victim Contact Scheme by "
                     "{date}."),
    ),
    Rule(
        id="vlo-contact", right="11", obligation="Victim Liaison Officer assigned",
        trigger_text="vcs.referred (that victim)",
        triggers=(On("vcs.referred"),),
        owner="probation", enhanced=working_days(20), standard=working_days(20),
        basis="occurred",
        evidence=Evidence(events=frozenset({"vlo.assigned"}), text="vlo.assigned"),
        next_step=N_("The Probation Service must give you a victim liaison officer by "
                     "{date}."),
    ),
    Rule(
        id="vrr-police-window", right="VRR", obligation="the victim may ask for a review",
        trigger_text="investigation.closed with vrr_eligible",
        triggers=(On("investigation.closed", (_VRR,)),),
        owner="victim", enhanced=Period(3, "months"), standard=Period(3, "months"),
        basis="informed",
        evidence=Evidence(requests=frozenset({VRR_REQUEST_POLICE}),
                          text="the victim asked the police for a review"),
        deadline_text="3 months from being informed (end of that day); no due date until "
                      "the victim is informed",
        next_step=N_("You can ask the police to review their decision until {date}."),
    ),
    Rule(
        id="vrr-police-ack", right="VRR", obligation="the victim's review request acknowledged",
        trigger_text="victim's VRR request to the police (portal)",
        raised_by=VRR_REQUEST_POLICE,
        owner="police", enhanced=working_days(10), standard=working_days(10), basis="portal",
        evidence=Evidence(manual=True, text="request.acknowledged from the police"),
        next_step=N_("The police must confirm they have your request for a review by {date}."),
    ),
    Rule(
        id="vrr-police-done", right="VRR", obligation="the victim's review decided",
        trigger_text="victim's VRR request to the police (portal)",
        raised_by=VRR_REQUEST_POLICE,
        owner="police", enhanced=working_days(30), standard=working_days(30), basis="portal",
        evidence=Evidence(manual=True, text="request.completed from the police"),
        next_step=N_("The police must tell you the result of the review by {date}."),
    ),
    Rule(
        id="vrr-cps-window", right="VRR", obligation="the victim may ask for a review",
        trigger_text="charging.decision no_further_action, prosecution.discontinued, "
                     "charges.altered, each with vrr_eligible",
        triggers=(On("charging.decision", (When("decision", "eq", "no_further_action"), _VRR)),
                  On("prosecution.discontinued", (_VRR,)), On("charges.altered", (_VRR,))),
        owner="victim", enhanced=working_days(10), standard=working_days(10),
        basis="informed", closes=Period(3, "months"),
        evidence=Evidence(requests=frozenset({VRR_REQUEST_CPS}),
                          text="the victim asked the CPS for a review"),
        deadline_text="ask promptly: 10 working days from being informed (due_at); accepted "
                      "up to 3 months (closes_at); no due date until the victim is informed",
        next_step=N_("If you want the Crown Prosecution Service to review its decision, ask "
                     "by {date} if you can. It accepts requests until {closes}."),
    ),
    Rule(
        id="vrr-cps-done", right="VRR", obligation="the victim's review decided",
        trigger_text="victim's VRR request to the CPS (portal)",
        raised_by=VRR_REQUEST_CPS,
        owner="cps", enhanced=working_days(30), standard=working_days(30), basis="portal",
        evidence=Evidence(manual=True, text="request.completed from the CPS"),
        next_step=N_("The Crown Prosecution Service must tell you the result of the review by "
                     "{date}."),
    ),
    Rule(
        id="complaint-ack", right="12", obligation="complaint acknowledged",
        trigger_text="victim's complaint (portal)", raised_by=COMPLAINT,
        owner=COMPLAINT_OWNER, enhanced=working_days(10), standard=working_days(10),
        basis="portal", evidence=Evidence(manual=True, text="acknowledgement recorded"),
        next_step=N_("Your complaint must be acknowledged by {date}."),
    ),
    Rule(
        id="reply-to-victim", right="portal", code=False, obligation="officer replies",
        trigger_text="victim sends a message (portal)", raised_by=MESSAGE,
        owner="police", enhanced=working_days(2), standard=working_days(2), basis="portal",
        evidence=Evidence(manual=True, text="the officer's reply"),
        escalations=((working_days(2), "supervisor"), (working_days(3), "victim_care_hub")),
        deadline_text="2 working days, then the supervisor; 1 more working day, then the "
                      "Victim Care Hub",
        next_step=N_("Your officer should reply to your message by {date}."),
    ),
    Rule(
        id="safety-ack", right="portal", code=False,
        obligation="victim acknowledges receipt",
        trigger_text="a safety-critical event (catalogue)",
        triggers=(On(SAFETY_CRITICAL),),
        owner="victim", enhanced=Period(2, "hours"), standard=Period(2, "hours"),
        basis="received",
        evidence=Evidence(informed=frozenset({ACKNOWLEDGED}),
                          text="the victim acknowledged it"),
        escalations=((Period(2, "hours"), "victim_care_hub"),),
        deadline_text="2 hours from receipt, then a person at the Victim Care Hub calls",
        next_step=N_("Please confirm you have seen our important update by {date}."),
    ),
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
RULE_ORDER: dict[str, int] = {rule.id: index for index, rule in enumerate(RULES)}
# Shown after the next step when its date has passed.
OVERDUE = N_("This date has passed.")


def rule(rule_id: str) -> Rule:
    try:
        return RULES_BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"no Victims' Code rule {rule_id!r}") from None


def rules_raised_by(action: str) -> tuple[Rule, ...]:
    return tuple(r for r in RULES if r.raised_by == action)
