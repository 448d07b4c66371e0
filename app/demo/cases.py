"""The demo's London cases, as data: each journey is the list of agency events that tell it.

Dates are relative so the demo always looks current. Each journey has an anchor: the Monday
`weeks_ago` weeks before this week's Monday, its "day 0". A step happens `day` days after day 0
(so `day % 7` is the weekday: 0 Monday ... 6 Sunday; court steps fall on weekdays), and must be
in the past. Dates inside event data use markers: `On` (days from day 0), `Ahead` (a working
day in a future week, never a weekend or bank holiday), `AheadMonth` and `BornAged`.

A journey mixes agency events (`Step`) with what the victim does in the portal (`Portal`: send
a Victim Personal Statement, ask for a review, write to the officer, escalate, answer "was this
resolved?"). A portal step may be named; a later agency reply names its request with
`Requested(name)`, resolved to the request_id the portal made (`request.acknowledged`,
`request.completed`, `message.replied`).

People are synthetic: obviously made-up surnames, @example.com addresses, mobiles in Ofcom's
drama range 07700 900000-900999 and London drama landlines 020 7946 0000-0999.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import holidays

from app.core.i18n import LONDON
from app.demo.agencies import CPS, CROWN, MAGS, MET, PROBATION, SUPPORT, WCU

# --- time markers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """Where one journey sits in time."""

    day0: date  # the journey's anchor Monday
    this_monday: date  # Monday of the current week, Europe/London
    requests: Mapping[str, str] = field(default_factory=dict)  # portal step name -> request_id


def _render(day: date, hhmm: str | None) -> str:
    if hhmm is None:
        return day.isoformat()
    local = datetime.combine(day, time.fromisoformat(hhmm), tzinfo=LONDON)
    return local.isoformat(timespec="seconds")


@dataclass(frozen=True)
class On:
    """`day` days after the journey's day 0: a date, or a London time if `at` is given."""

    day: int
    at: str | None = None

    def resolve(self, frame: Frame) -> str:
        return _render(frame.day0 + timedelta(days=self.day), self.at)


# England and Wales share one bank holiday calendar; the object adds years as they are asked for.
_BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG")


@dataclass(frozen=True)
class Ahead:
    """A working day in a future week (`weeks` >= 1 weeks after this week's Monday), moved on
    past a bank holiday so that no court sits on Christmas Day."""

    weeks: int
    weekday: int = 0
    at: str | None = None

    def resolve(self, frame: Frame) -> str:
        day = frame.this_monday + timedelta(weeks=self.weeks, days=self.weekday)
        while day.weekday() >= 5 or day in _BANK_HOLIDAYS:
            day += timedelta(days=1)
        return _render(day, self.at)


@dataclass(frozen=True)
class AheadMonth:
    """A future month, YYYY-MM."""

    months: int

    def resolve(self, frame: Frame) -> str:
        index = frame.this_monday.year * 12 + frame.this_monday.month - 1 + self.months
        return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class BornAged:
    """A date of birth making the person `years` old (and `days` more) on day 0."""

    years: int
    days: int = 0

    def resolve(self, frame: Frame) -> str:
        day = frame.day0 - timedelta(days=self.days)
        try:
            born = day.replace(year=day.year - self.years)
        except ValueError:  # 29 February
            born = day.replace(year=day.year - self.years, day=28)
        return born.isoformat()


@dataclass(frozen=True)
class Requested:
    """The request_id of the request an earlier, named `Portal` step of the journey made."""

    name: str

    def resolve(self, frame: Frame) -> str:
        try:
            return frame.requests[self.name]
        except KeyError:
            raise LookupError(f"no earlier portal step named {self.name!r} made a request"
                              ) from None


Marker = On | Ahead | AheadMonth | BornAged | Requested


def resolve(value: Any, frame: Frame) -> Any:
    """The value with every time marker replaced by its RFC 3339 / ISO text."""
    if isinstance(value, Marker):
        return value.resolve(frame)
    if isinstance(value, dict):
        return {k: resolve(v, frame) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, frame) for v in value]
    return value


# --- journeys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    agency_id: str
    day: int
    at: str  # "HH:MM", Europe/London
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Portal:
    """Something the victim does in the portal (`action`, a key of app.demo.portal.ACTIONS),
    with what the portal's form would send. The loader does it through the portal's domain
    services."""

    day: int
    at: str  # "HH:MM", Europe/London
    action: str
    form: dict[str, str]
    name: str = ""  # for `Requested(name)` in later replies
    about: str = ""  # feedback: the name of the escalation it answers
    victim_ref: str = "V1"
    author: str = "victim"  # or "representative"


@dataclass(frozen=True)
class Journey:
    crime_reference: str
    summary: str  # one line, for people reading the demo
    weeks_ago: int
    steps: tuple[Step | Portal, ...]

    @property
    def agency_steps(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if isinstance(step, Step))

    def frame(self, this_monday: date) -> Frame:
        return Frame(this_monday - timedelta(weeks=self.weeks_ago), this_monday)


# --- building blocks ------------------------------------------------------------------------

THAMES = {"court": "Thames Magistrates' Court", "address": "58 Bow Road, London E3 4DJ"}
SNARESBROOK = {"court": "Snaresbrook Crown Court",
               "address": "75 Hollybush Hill, Snaresbrook, London E11 1QW"}
VICTIM_SUPPORT = "Victim Support (London Victim and Witness Service)"


def mobile(n: int) -> str:
    return f"07700 900{n:03d}"


def person(ref: str, given: str, family: str, *, born: str | BornAged | None = None,
           mobile_n: int | None = None, email: bool = True, **extra: Any) -> dict[str, Any]:
    """A Victim object. `extra` takes the contract's other fields (contact, needs, ...)."""
    victim: dict[str, Any] = {"victim_ref": ref, "given_name": given, "family_name": family}
    if born is not None:
        victim["date_of_birth"] = born
    if email:
        victim["email"] = f"{given}.{family}@example.com".lower()
    if mobile_n is not None:
        victim["mobile"] = mobile(mobile_n)
    return victim | extra


def officer(role: str, rank: str, given: str, family: str, team: str, phone_n: int,
            working_pattern: str | None = None) -> dict[str, Any]:
    data = {"role": role, "name": f"{given} {family}", "rank": rank, "team": team,
            "email": f"{given}.{family}@example.com".lower(), "phone": f"020 7946 0{phone_n:03d}"}
    if working_pattern:
        data["working_pattern"] = working_pattern
    return data


def contact_person(given: str, family: str, phone_n: int) -> dict[str, Any]:
    return {"name": f"{given} {family}", "email": f"{given}.{family}@example.com".lower(),
            "phone": f"020 7946 0{phone_n:03d}"}


def opened(crime_type: str, offence_group: str, borough: str, reported_at: On,
           *victims: dict[str, Any]) -> dict[str, Any]:
    return {"crime_type": crime_type, "offence_group": offence_group, "borough": borough,
            "reported_at": reported_at, "victims": list(victims)}


def hearing(hearing_id: str, hearing_type: str, place: dict[str, str], *,
            starts_at: On | Ahead | None = None,
            window: tuple[On | Ahead, On | Ahead] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"hearing_id": hearing_id, "hearing_type": hearing_type, **place}
    if starts_at is not None:
        data["starts_at"] = starts_at
    if window is not None:
        data["window"] = {"from": window[0], "to": window[1]}
    return data


def link(agency_id: str) -> dict[str, str]:
    return {"agency_id": agency_id}


def victim_ref(ref: str = "V1", **extra: Any) -> dict[str, Any]:
    return {"victim_ref": ref, **extra}


def referred(service: str, ref: str = "V1") -> dict[str, Any]:
    return {"victim_ref": ref, "service": service, "consent": True}


QUIET_NIGHTS = {"from": "21:00", "to": "08:00"}

# --- the cases ------------------------------------------------------------------------------

DOMESTIC_ABUSE_BAIL = Journey(
    "01/31207/26",
    "Domestic abuse ABH, Tower Hamlets: suspect on police bail, conditions tightened, "
    "file with the CPS",
    weeks_ago=14,
    steps=(
        Step(MET, 0, "21:40", "case.opened", opened(
            "Assault occasioning actual bodily harm (domestic abuse)", "domestic_abuse",
            "Tower Hamlets", On(0, "21:15"),
            person("V1", "Aisha", "Example", born="1991-04-09", mobile_n=101,
                   contact={"sms_allowed": True, "email_allowed": False,
                            "quiet_hours": QUIET_NIGHTS}))),
        Step(MET, 0, "22:30", "officer.assigned", officer(
            "oic", "DC", "Morgan", "Notreal", "Central East BCU - Safeguarding (Domestic Abuse)",
            101, "Monday to Friday, early and late shifts")),
        Step(MET, 1, "00:50", "suspect.arrested", {
            "summary": "A man was arrested at the address shortly after officers arrived."}),
        Step(MET, 1, "09:30", "support.referred", referred(
            "Victim Support domestic abuse service (IDVA)")),
        Step(MET, 1, "09:35", "case.agency_linked", link(SUPPORT)),
        Step(MET, 1, "14:20", "suspect.interviewed", {
            "summary": "He was interviewed under caution and answered 'no comment'."}),
        Step(MET, 1, "19:05", "suspect.bailed", {
            "bail_conditions": [
                "Not to contact Aisha Example directly or indirectly, including through "
                "social media or other people",
                "Not to go within 200 metres of her home address",
                "To live and sleep each night at an address in Barking"],
            "return_date": On(88)}),
        Step(SUPPORT, 2, "11:00", "support.accepted", victim_ref(
            service="Independent Domestic Violence Advisor (IDVA) service",
            worker_name="Sam Sample", contact="020 7946 0201, Monday to Friday 9am to 5pm")),
        Step(MET, 23, "15:10", "case.agency_linked", link(CPS)),
        Step(MET, 23, "15:20", "investigation.update", victim_ref(
            message="Your statement, the 999 call recording and the photographs of your "
                    "injuries have been sent to the Crown Prosecution Service for a charging "
                    "decision.")),
        Step(MET, 30, "10:05", "suspect.bail_conditions_changed", {"bail_conditions": [
            "Not to contact Aisha Example directly or indirectly, including through social "
            "media or other people",
            "Not to enter the London Borough of Tower Hamlets, except to attend court or a "
            "pre-arranged appointment with his solicitor",
            "To live and sleep each night at an address in Barking"]}),
        Step(MET, 30, "10:15", "investigation.update", victim_ref(
            message="After you told us he had been seen near your road, his bail conditions "
                    "were changed: he must now stay out of Tower Hamlets.")),
        Step(MET, 88, "12:00", "suspect.bailed", {
            "bail_conditions": [
                "Not to contact Aisha Example directly or indirectly, including through "
                "social media or other people",
                "Not to enter the London Borough of Tower Hamlets, except to attend court or "
                "a pre-arranged appointment with his solicitor",
                "To live and sleep each night at an address in Barking"],
            "return_date": Ahead(5, 2)}),
        Step(MET, 88, "12:10", "investigation.update", victim_ref(
            message="The CPS asked for his phone to be examined before they decide. His bail "
                    "was extended with the same conditions while this is done.")),
    ),
)

BURGLARY_NFA = Journey(
    "01/28841/26",
    "Residential burglary, Croydon: fingerprint suspect interviewed, no further action, "
    "VRR eligible",
    weeks_ago=22,
    steps=(
        Step(MET, 0, "07:45", "case.opened", opened(
            "Burglary (residential)", "burglary", "Croydon", On(0, "07:20"),
            person("V1", "Kwame", "Specimen", born="1978-11-02", mobile_n=102))),
        Step(MET, 0, "11:30", "officer.assigned", officer(
            "oic", "DC", "Frankie", "Madeup", "South Area BCU - Burglary Team", 102)),
        Step(MET, 0, "12:00", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 0, "12:05", "case.agency_linked", link(SUPPORT)),
        Step(SUPPORT, 2, "10:30", "support.accepted", victim_ref(
            service=VICTIM_SUPPORT, worker_name="Jo Notreal",
            contact="020 7946 0202 or victim.support.demo@example.com")),
        Step(MET, 6, "16:00", "investigation.update", victim_ref(
            message="A crime scene examiner found a fingerprint on the kitchen window. It has "
                    "been sent for comparison.")),
        Step(MET, 20, "11:15", "investigation.update", victim_ref(
            message="The fingerprint matched a person known to police. We are trying to "
                    "find them.")),
        Step(MET, 27, "08:10", "suspect.arrested", {
            "summary": "A 34-year-old man was arrested at his home."}),
        Step(MET, 27, "13:40", "suspect.interviewed", {
            "summary": "He said he had done building work in your neighbour's garden last "
                       "year and may have touched the window then."}),
        Step(MET, 27, "17:00", "suspect.released_under_investigation", {
            "summary": "Officers are checking his account with the builder's records."}),
        Step(SUPPORT, 30, "15:00", "support.closed", victim_ref()),
        Step(MET, 55, "10:30", "investigation.closed", {
            "outcome": "no_further_action",
            "explanation": "The builder's records confirm his account, so the fingerprint can "
                           "be explained by his earlier, lawful visit. There is no other "
                           "evidence linking him to the burglary.",
            "vrr_eligible": True}),
        Portal(58, "19:30", "vrr", {
            "reasons": "The builder worked in next door's garden, not ours. Our kitchen window "
                       "cannot be reached from their side of the fence, so I do not see how "
                       "he could have touched it then."}, name="review"),
        Step(MET, 59, "10:00", "request.acknowledged", {"request_id": Requested("review")}),
        Step(MET, 84, "15:00", "request.completed", {
            "request_id": Requested("review"), "decision": "not_upheld",
            "explanation": "An inspector who had not worked on the case reviewed the file. "
                           "Officers visited again and measured the fence: the window can be "
                           "reached from the neighbour's garden with a ladder, and the "
                           "builder's records show one was used. The decision stands: there "
                           "is not enough evidence to charge him."}),
    ),
)

RAPE_CROWN_COURT = Journey(
    "01/19624/26",
    "Rape, Waltham Forest: charged, remanded, not guilty plea at Snaresbrook, trial on a "
    "warned list, special measures granted",
    weeks_ago=36,
    steps=(
        Step(MET, 0, "23:10", "case.opened", opened(
            "Rape", "sexual", "Waltham Forest", On(0, "22:30"),
            person("V1", "Jordan", "Testperson", born="1999-06-21", mobile_n=103,
                   enhanced_rights=["intimidated"],
                   contact={"quiet_hours": {"from": "22:00", "to": "07:30"}}))),
        Step(MET, 1, "02:00", "officer.assigned", officer(
            "soit", "DC", "Alex", "Madeup", "North East BCU - Sexual Offences (SOIT)", 103,
            "Shifts, including nights")),
        Step(MET, 1, "10:00", "support.referred", referred(
            "Independent Sexual Violence Advisor (ISVA) service")),
        Step(MET, 1, "10:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 2, "09:00", "officer.assigned", officer(
            "oic", "DC", "Rowan", "Specimen",
            "North East BCU - Rape and Serious Sexual Offences (RASSO)", 104,
            "Monday to Friday, 8am to 4pm")),
        Step(SUPPORT, 3, "14:00", "support.accepted", victim_ref(
            service="Independent Sexual Violence Advisor (ISVA) service",
            worker_name="Charlie Notreal", contact="020 7946 0203")),
        Step(MET, 4, "06:30", "suspect.arrested", {"summary": "A man was arrested at his home."}),
        Step(MET, 4, "15:00", "suspect.interviewed", {
            "summary": "He was interviewed with a solicitor and denied the offence."}),
        Step(MET, 5, "01:30", "suspect.bailed", {
            "bail_conditions": ["Not to contact Jordan Testperson directly or indirectly",
                                "Not to enter the London Borough of Waltham Forest"],
            "return_date": On(60)}),
        Step(MET, 35, "16:00", "investigation.update", victim_ref(
            message="The digital evidence has been reviewed. The file has been sent to the "
                    "CPS for a charging decision.")),
        Step(MET, 35, "16:05", "case.agency_linked", link(CPS)),
        Step(CPS, 59, "17:30", "charging.decision", {
            "decision": "charge", "charges": ["Rape (Sexual Offences Act 2003, s.1)"],
            "explanation": "The prosecutor decided there is enough evidence and a prosecution "
                           "is in the public interest."}),
        Step(MET, 59, "18:00", "vps.offered", victim_ref()),
        Step(MET, 59, "18:05", "case.agency_linked", link(WCU)),
        Step(CPS, 59, "18:10", "case.agency_linked", link(MAGS)),
        Step(MAGS, 59, "18:30", "hearing.scheduled", hearing(
            "H-19624-1", "first_appearance", THAMES, starts_at=On(60, "10:00"))),
        Step(WCU, 60, "09:00", "witness_care.assigned", contact_person("Taylor", "Dummy", 301)),
        Step(MAGS, 60, "12:40", "hearing.outcome", {
            "hearing_id": "H-19624-1", "outcome": "other", "remand": "custody",
            "summary": "The case was sent to Snaresbrook Crown Court."}),
        Step(CPS, 60, "14:00", "case.agency_linked", link(CROWN)),
        Step(CROWN, 60, "16:00", "hearing.scheduled", hearing(
            "H-19624-2", "plea", SNARESBROOK, starts_at=On(88, "10:00"))),
        Step(CROWN, 88, "12:15", "hearing.outcome", {
            "hearing_id": "H-19624-2", "outcome": "not_guilty_plea", "remand": "custody"}),
        Step(CROWN, 88, "15:30", "hearing.scheduled", hearing(
            "H-19624-3", "trial", SNARESBROOK, window=(Ahead(8, 0), Ahead(9, 4)))),
        Step(WCU, 89, "10:00", "witness.required", victim_ref(hearing_id="H-19624-3")),
        Step(WCU, 110, "11:00", "special_measures.decided", victim_ref(
            granted=["video_recorded_evidence_in_chief", "pre_recorded_cross_examination",
                     "screens", "evidence_in_private"],
            refused=["removal_of_wigs_and_gowns"])),
        Step(WCU, 112, "14:30", "pretrial_visit.offered", victim_ref(
            court="Snaresbrook Crown Court")),
        Portal(120, "21:10", "vps", {
            "statement": "Since that night I have not been able to sleep with the light off. "
                         "I moved back in with my parents and stopped going to my evening "
                         "classes, because I could not face walking home in the dark. I want "
                         "the court to know how much this has taken from me.",
            "reading": "read_for_me"}, name="statement"),
        Step(MET, 121, "09:30", "request.acknowledged", {"request_id": Requested("statement")}),
        Step(MET, 130, "16:00", "vps.recorded", victim_ref()),
        Step(MET, 130, "16:05", "request.completed", {
            "request_id": Requested("statement"), "decision": "done",
            "explanation": "DC Rowan Specimen has added your statement to the case file. The "
                           "prosecutor will ask for it to be read to the court if he is "
                           "convicted, as you chose."}),
    ),
)

SENTENCED_VIOLENCE_VCS = Journey(
    "01/12538/26",
    "Wounding, Newham: plea to s.20 GBH, 4 years' custody, Victim Contact Scheme, release "
    "month set (Polish interpreter)",
    weeks_ago=42,
    steps=(
        Step(MET, 0, "02:15", "case.opened", opened(
            "Wounding with intent to cause grievous bodily harm", "violence", "Newham",
            On(0, "01:50"),
            person("V1", "Tomasz", "Sample", born="1987-02-14", mobile_n=104,
                   preferred_language="pl", needs=["interpreter: Polish"]))),
        Step(MET, 0, "04:00", "suspect.arrested", {
            "summary": "A man was arrested nearby shortly after the attack."}),
        Step(MET, 0, "09:00", "officer.assigned", officer(
            "oic", "DC", "Sasha", "Example", "North East BCU - CID", 105)),
        Step(MET, 0, "16:00", "suspect.interviewed", {
            "summary": "He said he acted in self-defence."}),
        Step(MET, 1, "09:00", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 1, "09:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 1, "11:00", "case.agency_linked", link(CPS)),
        Step(CPS, 1, "19:45", "charging.decision", {
            "decision": "charge",
            "charges": ["Wounding with intent to cause grievous bodily harm (Offences "
                        "Against the Person Act 1861, s.18)"]}),
        Step(MET, 1, "20:00", "case.agency_linked", link(WCU)),
        Step(CPS, 1, "20:10", "case.agency_linked", link(MAGS)),
        Step(MAGS, 1, "20:30", "hearing.scheduled", hearing(
            "H-12538-1", "first_appearance", THAMES, starts_at=On(2, "10:00"))),
        Step(MET, 2, "09:30", "vps.offered", victim_ref()),
        Step(MAGS, 2, "12:30", "hearing.outcome", {
            "hearing_id": "H-12538-1", "outcome": "other", "remand": "custody",
            "summary": "The case was sent to Snaresbrook Crown Court."}),
        Step(SUPPORT, 2, "13:00", "support.accepted", victim_ref(
            service=VICTIM_SUPPORT, worker_name="Kasia Notreal",
            contact="020 7946 0204 (Polish-speaking volunteer)")),
        Step(CPS, 2, "15:00", "case.agency_linked", link(CROWN)),
        Step(CROWN, 3, "10:00", "hearing.scheduled", hearing(
            "H-12538-2", "plea", SNARESBROOK, starts_at=On(30, "10:00"))),
        Step(WCU, 3, "11:00", "witness_care.assigned", contact_person("Jesse", "Dummy", 302)),
        Step(CROWN, 30, "12:00", "hearing.outcome", {
            "hearing_id": "H-12538-2", "outcome": "not_guilty_plea", "remand": "custody"}),
        Step(CROWN, 30, "15:00", "hearing.scheduled", hearing(
            "H-12538-3", "trial", SNARESBROOK, starts_at=On(128, "10:00"))),
        Step(WCU, 32, "10:00", "witness.required", victim_ref(hearing_id="H-12538-3")),
        Step(CPS, 107, "16:00", "charges.altered", {
            "charges": ["Inflicting grievous bodily harm (Offences Against the Person Act "
                        "1861, s.20)"],
            "explanation": "The defendant offered to plead guilty to the s.20 offence. After "
                           "speaking with you through an interpreter, the prosecutor accepted "
                           "the plea: it reflects the injuries and avoids a trial."}),
        Step(CROWN, 108, "09:00", "hearing.scheduled", hearing(
            "H-12538-4", "plea", SNARESBROOK, starts_at=On(114, "10:00"))),
        Step(CROWN, 114, "11:30", "hearing.outcome", {
            "hearing_id": "H-12538-4", "outcome": "guilty_plea", "remand": "custody",
            "summary": "Sentencing was put off for a pre-sentence report."}),
        Step(CROWN, 114, "11:45", "hearing.vacated", {
            "hearing_id": "H-12538-3",
            "reason": "The defendant pleaded guilty, so there will be no trial."}),
        Step(CROWN, 114, "12:00", "hearing.scheduled", hearing(
            "H-12538-5", "sentence", SNARESBROOK, starts_at=On(142, "14:00"))),
        Step(WCU, 115, "09:30", "witness.not_required", victim_ref(hearing_id="H-12538-3")),
        Step(MET, 120, "17:00", "vps.recorded", victim_ref()),
        Step(CROWN, 142, "16:00", "hearing.outcome", {
            "hearing_id": "H-12538-5", "outcome": "other", "remand": "custody",
            "summary": "Your Victim Personal Statement was read to the court before sentence."}),
        Step(CROWN, 142, "16:05", "sentence.passed", {
            "sentence": "4 years' imprisonment. He will serve up to half in prison and the "
                        "rest on licence.",
            "custody_months": 48}),
        Step(CROWN, 142, "16:30", "case.agency_linked", link(PROBATION)),
        Step(PROBATION, 146, "10:00", "vcs.referred", victim_ref()),
        Step(PROBATION, 155, "11:00", "vlo.assigned", contact_person("Quinn", "Testperson", 401)),
        Step(PROBATION, 200, "14:00", "release.scheduled", {
            "release_month": AheadMonth(14),
            "licence_conditions": [
                "Not to contact Tomasz Sample directly or indirectly",
                "Not to enter the London Borough of Newham without his probation officer's "
                "approval",
                "To live at an address approved by his probation officer"]}),
    ),
)

OFFICER_CHANGED_TWICE = Journey(
    "01/40217/26",
    "Street robbery, Camden: officer in charge handed over twice, suspect released under "
    "investigation",
    weeks_ago=26,
    steps=(
        Step(MET, 0, "19:20", "case.opened", opened(
            "Robbery (personal property)", "robbery", "Camden", On(0, "18:55"),
            person("V1", "Riley", "Placeholder", born="1995-09-30", mobile_n=105,
                   contact={"sms_allowed": False}))),
        Step(MET, 0, "20:00", "officer.assigned", officer(
            "supervisor", "DS", "Avery", "Dummy", "Central North BCU - Robbery Squad", 106)),
        Step(MET, 1, "09:00", "officer.assigned", officer(
            "oic", "DC", "Harper", "Fictional", "Central North BCU - Robbery Squad", 107)),
        Step(MET, 1, "09:30", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 1, "09:35", "case.agency_linked", link(SUPPORT)),
        Step(MET, 9, "14:00", "investigation.update", victim_ref(
            message="We have asked for CCTV from Camden Town station and the shops on the "
                    "high street.")),
        Step(MET, 31, "10:00", "officer.assigned", officer(
            "oic", "DC", "Ellis", "Mockford", "Central North BCU - Robbery Squad", 108,
            "Tuesday to Saturday")),
        Step(MET, 31, "10:05", "investigation.update", victim_ref(
            message="DC Harper Fictional has moved to another team. DC Ellis Mockford is now "
                    "dealing with your case and has read the whole file.")),
        Step(MET, 40, "16:30", "investigation.update", victim_ref(
            message="Images of the suspect from the CCTV have been shared with local "
                    "officers.")),
        Step(MET, 62, "07:15", "suspect.arrested", {
            "summary": "A man was arrested after officers recognised him from the images."}),
        Step(MET, 62, "13:00", "suspect.interviewed", {
            "summary": "He denied being in Camden that evening."}),
        Step(MET, 62, "18:20", "suspect.released_under_investigation", {
            "summary": "Officers are checking his phone's location records."}),
        Step(MET, 88, "09:00", "officer.assigned", officer(
            "oic", "DC", "Jesse", "Notreal", "Central North BCU - Robbery Squad", 109)),
        Step(MET, 88, "09:10", "investigation.update", victim_ref(
            message="DC Ellis Mockford has been promoted. DC Jesse Notreal is your new "
                    "officer in charge.")),
        Portal(117, "19:40", "message", {
            "body": "Has the phone company sent the location records yet? It has been a long "
                    "time and I still see him around Camden."}, name="asked"),
        Step(MET, 118, "10:15", "message.replied", {
            "request_id": Requested("asked"), "victim_ref": "V1", "name": "DC Jesse Notreal",
            "message": "Not yet, I am sorry. I have chased them again this morning and asked "
                       "my supervisor to escalate it. If he approaches you or you feel unsafe, "
                       "call 999."}),
        Step(MET, 120, "15:00", "investigation.update", victim_ref(
            message="The phone company has not yet provided the location records. We "
                    "have chased them.")),
        Step(MET, 150, "15:00", "investigation.update", victim_ref(
            message="The location records have arrived and are being analysed.")),
        Step(MET, 176, "11:00", "investigation.update", victim_ref(
            message="The analysis puts his phone near the scene. The file is being prepared "
                    "for the CPS.")),
    ),
)

CHILD_ROBBERY = Journey(
    "01/35560/26",
    "Robbery of a 14-year-old's phone, Enfield: mother as representative, youth conditional "
    "caution, restorative justice information",
    weeks_ago=18,
    steps=(
        Step(MET, 0, "17:30", "case.opened", opened(
            "Robbery (mobile phone taken from a child)", "robbery", "Enfield", On(0, "16:45"),
            person("V1", "Kai", "Testperson", born=BornAged(14, 150), email=False,
                   representative={"name": "Dana Testperson", "relationship": "mother",
                                   "email": "dana.testperson@example.com",
                                   "mobile": mobile(201)}))),
        Step(MET, 0, "18:30", "officer.assigned", officer(
            "oic", "PC", "Blake", "Example", "North Area BCU - Youth and Schools", 110)),
        Step(MET, 1, "10:00", "support.referred", referred(
            "Victim Support children and young people's service")),
        Step(MET, 1, "10:05", "case.agency_linked", link(SUPPORT)),
        Step(SUPPORT, 3, "16:00", "support.accepted", victim_ref(
            service="Victim Support children and young people's service",
            worker_name="Robin Specimen", contact="020 7946 0205, after school hours")),
        Step(MET, 12, "15:30", "investigation.update", victim_ref(
            message="A 15-year-old has been identified from the bus CCTV.")),
        Step(MET, 14, "09:00", "suspect.arrested", {
            "summary": "A 15-year-old was arrested and the phone was recovered."}),
        Step(MET, 14, "14:00", "suspect.interviewed", {
            "summary": "He was interviewed with an appropriate adult and admitted taking "
                       "the phone."}),
        Step(MET, 30, "11:00", "out_of_court_disposal", {
            "disposal": "conditional_caution",
            "details": "A youth conditional caution: he must attend a Youth Justice Service "
                       "programme and write you a letter of apology. If he does not, he can "
                       "be prosecuted."}),
        Step(MET, 31, "10:00", "rj.information_given", victim_ref()),
    ),
)

BIKE_THEFT = Journey(
    "01/47712/26",
    "Bicycle theft, Islington: no suspect identified (Welsh-speaking victim)",
    weeks_ago=9,
    steps=(
        Step(MET, 0, "20:05", "case.opened", opened(
            "Theft of a pedal cycle", "theft", "Islington", On(0, "19:40"),
            person("V1", "Cerys", "Demo", born="1993-03-01", mobile_n=106,
                   preferred_language="cy"))),
        Step(MET, 1, "09:00", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 1, "09:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 3, "14:30", "investigation.closed", {
            "outcome": "no_suspect_identified",
            "explanation": "No CCTV covers the bike racks and there are no forensic "
                           "opportunities. If your bike is found or new information comes to "
                           "light, we will look at it again."}),
    ),
)

PHONE_SNATCH = Journey(
    "01/44306/26",
    "Phone snatched by a moped rider, Westminster: no suspect identified",
    weeks_ago=12,
    steps=(
        Step(MET, 0, "13:10", "case.opened", opened(
            "Theft from the person (mobile phone snatched)", "theft", "Westminster",
            On(0, "12:50"),
            person("V1", "Priya", "Placeholder", born="2001-07-12", mobile_n=107,
                   contact={"quiet_hours": {"from": "22:00", "to": "07:00"}}))),
        Step(MET, 0, "15:00", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 0, "15:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 1, "10:00", "investigation.update", victim_ref(
            message="Your phone's last location was in Edmonton, but it was switched off "
                    "before officers could get there.")),
        Step(MET, 9, "11:20", "investigation.closed", {
            "outcome": "no_suspect_identified",
            "explanation": "CCTV shows the rider with their face covered on a moped with false "
                           "plates; no one could be identified."}),
    ),
)

CRIMINAL_DAMAGE = Journey(
    "01/29953/26",
    "Car damaged, Ealing: neighbour interviewed, closed for evidential difficulties, VRR "
    "eligible (BSL user)",
    weeks_ago=20,
    steps=(
        Step(MET, 0, "08:40", "case.opened", opened(
            "Criminal damage to a motor vehicle", "criminal_damage", "Ealing", On(0, "08:15"),
            person("V1", "Noor", "Sample", born="1969-10-23", mobile_n=108,
                   needs=["BSL", "Contact by text message or email, not phone calls"]))),
        Step(MET, 0, "12:00", "officer.assigned", officer(
            "oic", "PC", "Drew", "Specimen", "West Area BCU - Neighbourhood Policing", 111)),
        Step(MET, 2, "09:00", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 2, "09:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 10, "10:00", "suspect.arrested", {"summary": "A neighbour was arrested."}),
        Step(MET, 10, "12:30", "suspect.interviewed", {
            "summary": "He denied damaging your car."}),
        Step(MET, 11, "09:00", "suspect.released_under_investigation", {
            "summary": "Officers are looking for more doorbell camera footage."}),
        Step(MET, 48, "14:00", "investigation.closed", {
            "outcome": "evidential_difficulties",
            "explanation": "There were no independent witnesses and the doorbell camera "
                           "footage does not show the person's face.",
            "vrr_eligible": True}),
    ),
)

COURIER_FRAUD = Journey(
    "01/38125/26",
    "Courier fraud against an 87-year-old, Barnet: son as representative, support closed, no "
    "suspect identified",
    weeks_ago=16,
    steps=(
        Step(MET, 0, "11:00", "case.opened", opened(
            "Fraud by false representation (courier fraud)", "fraud", "Barnet",
            On(0, "10:30"),
            person("V1", "Florence", "Testperson", born=BornAged(87, 40), email=False,
                   enhanced_rights=["vulnerable"], needs=["large print"],
                   contact={"sms_allowed": False, "email_allowed": False},
                   representative={"name": "Graham Testperson", "relationship": "son",
                                   "email": "graham.testperson@example.com",
                                   "mobile": mobile(202)}))),
        Step(MET, 0, "15:00", "officer.assigned", officer(
            "oic", "DC", "Parker", "Madeup", "North West BCU - Economic Crime", 112)),
        Step(MET, 0, "15:30", "support.referred", referred(
            "Victim Support fraud and scams service")),
        Step(MET, 0, "15:35", "case.agency_linked", link(SUPPORT)),
        Step(SUPPORT, 2, "10:00", "support.accepted", victim_ref(
            service="Victim Support fraud and scams service", worker_name="Jo Specimen",
            contact="020 7946 0206")),
        Step(MET, 14, "12:00", "investigation.update", victim_ref(
            message="Your bank has frozen £2,400 of the money taken and is working to return "
                    "it to you.")),
        Step(MET, 40, "12:00", "investigation.update", victim_ref(
            message="The car used by the courier was traced, but it was on false plates.")),
        Step(SUPPORT, 60, "16:00", "support.closed", victim_ref()),
        Step(MET, 75, "10:00", "investigation.closed", {
            "outcome": "no_suspect_identified",
            "explanation": "The phone numbers and the car could not be linked to anyone. The "
                           "case details are shared with the national fraud team in case it "
                           "links to other crimes."}),
    ),
)

HATE_CRIME_TWO_VICTIMS = Journey(
    "01/22790/26",
    "Racially aggravated harassment of bus staff, Hackney: second victim added, guilty plea, "
    "community order",
    weeks_ago=30,
    steps=(
        Step(MET, 0, "18:50", "case.opened", opened(
            "Racially aggravated harassment, alarm or distress", "hate", "Hackney",
            On(0, "18:20"),
            person("V1", "Samir", "Example", born="1984-05-19", mobile_n=109))),
        Step(MET, 0, "19:30", "suspect.arrested", {"summary": "A man was arrested at the scene."}),
        Step(MET, 0, "20:00", "officer.assigned", officer(
            "oic", "PC", "Frankie", "Notreal", "Central East BCU - Hate Crime Unit", 113)),
        Step(MET, 0, "23:40", "suspect.interviewed", {
            "summary": "He admitted shouting at the driver but denied racist abuse."}),
        Step(MET, 1, "09:30", "support.referred", referred(
            "Victim Support hate crime service")),
        Step(MET, 1, "09:35", "case.agency_linked", link(SUPPORT)),
        Step(SUPPORT, 3, "11:00", "support.accepted", victim_ref(
            service="Victim Support hate crime service", worker_name="Nico Example",
            contact="020 7946 0207")),
        Step(MET, 3, "14:00", "victim.added", {"victim": person(
            "V2", "Lee", "Sample", born="1990-12-03", mobile_n=110)}),
        Step(MET, 5, "10:00", "victim.updated", {"victim": person(
            "V1", "Samir", "Example", born="1984-05-19", mobile_n=111,
            contact={"quiet_hours": {"from": "23:00", "to": "07:00"}})}),
        Step(MET, 6, "12:00", "case.agency_linked", link(CPS)),
        Step(CPS, 8, "16:00", "charging.decision", {
            "decision": "charge",
            "charges": ["Racially aggravated intentional harassment, alarm or distress "
                        "(Crime and Disorder Act 1998, s.31)"]}),
        Step(MET, 8, "16:30", "vps.offered", victim_ref()),
        Step(MET, 8, "16:35", "vps.offered", victim_ref("V2")),
        Step(MET, 8, "16:40", "case.agency_linked", link(WCU)),
        Step(CPS, 8, "16:45", "case.agency_linked", link(MAGS)),
        Step(WCU, 9, "10:00", "witness_care.assigned", contact_person("Billie", "Mockford", 303)),
        Step(MAGS, 9, "11:00", "hearing.scheduled", hearing(
            "H-22790-1", "first_appearance", THAMES, starts_at=On(29, "10:00"))),
        Step(MAGS, 29, "12:30", "hearing.outcome", {
            "hearing_id": "H-22790-1", "outcome": "guilty_plea", "remand": "bail",
            "bail_conditions": ["Not to contact Samir Example or Lee Sample",
                                "Not to travel on the 38 bus route"],
            "summary": "Sentencing was put off for a pre-sentence report."}),
        Step(MAGS, 29, "12:45", "hearing.scheduled", hearing(
            "H-22790-2", "sentence", THAMES, starts_at=On(57, "14:00"))),
        Step(MET, 40, "15:00", "vps.recorded", victim_ref()),
        Step(MET, 42, "15:00", "vps.recorded", victim_ref("V2")),
        Step(MAGS, 57, "16:00", "hearing.outcome", {
            "hearing_id": "H-22790-2", "outcome": "other", "remand": "none",
            "summary": "Both Victim Personal Statements were read to the court."}),
        Step(MAGS, 57, "16:05", "sentence.passed", {
            "sentence": "A 12-month community order with 150 hours of unpaid work and a "
                        "rehabilitation activity requirement, and £200 compensation to each "
                        "victim. The sentence was increased because the offence was racially "
                        "aggravated."}),
        Step(SUPPORT, 70, "10:00", "support.closed", victim_ref()),
    ),
)

STALKING_TRIAL = Journey(
    "01/26481/26",
    "Stalking, Tower Hamlets: on court bail, trial at Thames Magistrates' moved to a later "
    "date, screens granted",
    weeks_ago=24,
    steps=(
        Step(MET, 0, "10:20", "case.opened", opened(
            "Stalking involving fear of violence", "stalking_harassment", "Tower Hamlets",
            On(0, "09:50"),
            person("V1", "Hannah", "Specimen", born="1996-01-27", mobile_n=112,
                   enhanced_rights=["persistently_targeted", "intimidated"],
                   contact={"email_allowed": False}))),
        Step(MET, 0, "14:00", "officer.assigned", officer(
            "oic", "DC", "Kit", "Fictional", "Central East BCU - Stalking and Harassment", 114)),
        Step(MET, 1, "09:00", "support.referred", referred(
            "Independent Stalking Advocate (ISAC) service")),
        Step(MET, 1, "09:05", "case.agency_linked", link(SUPPORT)),
        Step(SUPPORT, 2, "12:00", "support.accepted", victim_ref(
            service="Independent Stalking Advocate (ISAC) service", worker_name="Ari Dummy",
            contact="020 7946 0208")),
        Step(MET, 6, "07:00", "suspect.arrested", {"summary": "A man was arrested at his home."}),
        Step(MET, 6, "15:00", "suspect.interviewed", {
            "summary": "He accepted sending messages but said they were not threatening."}),
        Step(MET, 7, "10:00", "suspect.bailed", {
            "bail_conditions": ["Not to contact Hannah Specimen by any means, including "
                                "social media",
                                "Not to go within 100 metres of her workplace in Canary "
                                "Wharf"],
            "return_date": On(35)}),
        Step(MET, 30, "11:00", "case.agency_linked", link(CPS)),
        Step(CPS, 32, "15:00", "charging.decision", {
            "decision": "charge",
            "charges": ["Stalking involving fear of violence (Protection from Harassment Act "
                        "1997, s.4A)"]}),
        Step(MET, 32, "15:30", "vps.offered", victim_ref()),
        Step(MET, 32, "15:35", "case.agency_linked", link(WCU)),
        Step(CPS, 32, "15:40", "case.agency_linked", link(MAGS)),
        Step(MAGS, 32, "16:00", "hearing.scheduled", hearing(
            "H-26481-1", "first_appearance", THAMES, starts_at=On(36, "10:00"))),
        Step(WCU, 35, "10:00", "witness_care.assigned", contact_person("Remy", "Example", 304)),
        Step(MAGS, 36, "13:00", "hearing.outcome", {
            "hearing_id": "H-26481-1", "outcome": "not_guilty_plea", "remand": "bail",
            "bail_conditions": [
                "Not to contact Hannah Specimen by any means, including social media",
                "Not to enter the E14 postcode area",
                "Curfew from 9pm to 6am at his home address, electronically monitored"],
            "summary": "The magistrates agreed to keep the case and fixed a trial."}),
        Step(MAGS, 36, "13:15", "hearing.scheduled", hearing(
            "H-26481-2", "trial", THAMES, starts_at=Ahead(3, 1, "10:00"))),
        Step(WCU, 37, "10:00", "witness.required", victim_ref(hearing_id="H-26481-2")),
        Step(WCU, 60, "11:00", "special_measures.decided", victim_ref(
            granted=["screens"], refused=["live_link"])),
        Step(WCU, 70, "14:00", "pretrial_visit.offered", victim_ref(
            court="Thames Magistrates' Court")),
        Step(MET, 100, "16:00", "vps.recorded", victim_ref()),
        Step(MAGS, 140, "12:00", "hearing.changed", {
            "hearing_id": "H-26481-2", "starts_at": Ahead(6, 3, "10:00"),
            "reason": "The court list for the original day was over-booked."}),
    ),
)

ASSAULT_DISCONTINUED = Journey(
    "01/33094/26",
    "ABH outside a bar, Hackney (Shoreditch): charged, then prosecution discontinued, VRR "
    "eligible",
    weeks_ago=28,
    steps=(
        Step(MET, 0, "02:40", "case.opened", opened(
            "Assault occasioning actual bodily harm", "violence", "Hackney", On(0, "02:05"),
            person("V1", "Tunde", "Example", born="1992-08-08", mobile_n=113))),
        Step(MET, 0, "03:00", "suspect.arrested", {"summary": "A man was arrested at the scene."}),
        Step(MET, 0, "11:00", "suspect.interviewed", {"summary": "He said he acted in "
                                                                 "self-defence."}),
        Step(MET, 0, "14:00", "officer.assigned", officer(
            "oic", "DC", "Lane", "Specimen", "Central East BCU - CID", 115)),
        Step(MET, 1, "09:00", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 1, "09:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 14, "10:00", "case.agency_linked", link(CPS)),
        Step(CPS, 20, "15:00", "charging.decision", {
            "decision": "charge",
            "charges": ["Assault occasioning actual bodily harm (Offences Against the Person "
                        "Act 1861, s.47)"]}),
        Step(MET, 20, "15:30", "vps.offered", victim_ref()),
        Step(MET, 20, "15:35", "case.agency_linked", link(WCU)),
        Step(CPS, 20, "15:40", "case.agency_linked", link(MAGS)),
        Step(MAGS, 21, "10:00", "hearing.scheduled", hearing(
            "H-33094-1", "first_appearance", THAMES, starts_at=On(43, "10:00"))),
        Step(WCU, 21, "11:00", "witness_care.assigned", contact_person("Sky", "Placeholder",
                                                                       305)),
        Step(MAGS, 43, "12:00", "hearing.outcome", {
            "hearing_id": "H-33094-1", "outcome": "not_guilty_plea", "remand": "none"}),
        Step(MAGS, 43, "12:10", "hearing.scheduled", hearing(
            "H-33094-2", "trial", THAMES, starts_at=On(150, "10:00"))),
        Step(WCU, 44, "10:00", "witness.required", victim_ref(hearing_id="H-33094-2")),
        Step(CPS, 90, "16:30", "prosecution.discontinued", {
            "explanation": "New CCTV from the bar shows another man may have thrown the first "
                           "punch, so the defendant's account of self-defence cannot be "
                           "disproved. There is no longer a realistic prospect of conviction.",
            "vrr_eligible": True}),
        Step(MAGS, 91, "09:00", "hearing.vacated", {
            "hearing_id": "H-33094-2", "reason": "The prosecution was stopped."}),
        Step(WCU, 91, "10:00", "witness.not_required", victim_ref(hearing_id="H-33094-2")),
    ),
)

SEXUAL_ASSAULT_CPS_NFA = Journey(
    "01/41873/26",
    "Sexual assault on a bus, Newham: CPS decided not to charge, VRR eligible "
    "(Welsh-speaking victim)",
    weeks_ago=17,
    steps=(
        Step(MET, 0, "09:10", "case.opened", opened(
            "Sexual assault (touching) on a bus", "sexual", "Newham", On(0, "08:45"),
            person("V1", "Rhiannon", "Testperson", born="2004-02-11", mobile_n=114,
                   preferred_language="cy"))),
        Step(MET, 0, "13:00", "officer.assigned", officer(
            "oic", "DC", "Noel", "Specimen",
            "North East BCU - Rape and Serious Sexual Offences (RASSO)", 116)),
        Step(MET, 1, "09:00", "support.referred", referred(
            "Independent Sexual Violence Advisor (ISVA) service")),
        Step(MET, 1, "09:05", "case.agency_linked", link(SUPPORT)),
        Step(SUPPORT, 3, "15:00", "support.accepted", victim_ref(
            service="Independent Sexual Violence Advisor (ISVA) service",
            worker_name="Mel Notreal", contact="020 7946 0209")),
        Step(MET, 9, "12:00", "investigation.update", victim_ref(
            message="The bus company has provided CCTV and a man has been identified.")),
        Step(MET, 10, "07:30", "suspect.arrested", {"summary": "A man was arrested at his home."}),
        Step(MET, 10, "12:00", "suspect.interviewed", {"summary": "He denied the offence."}),
        Step(MET, 10, "16:00", "suspect.released_under_investigation", {
            "summary": "The file is being prepared for the CPS."}),
        Step(MET, 40, "11:00", "case.agency_linked", link(CPS)),
        Step(CPS, 60, "15:00", "charging.decision", {
            "decision": "no_further_action",
            "explanation": "The CCTV does not clearly show the touching and there were no "
                           "other witnesses. The prosecutor decided there is not enough "
                           "evidence for a realistic prospect of conviction.",
            "vrr_eligible": True}),
        Step(MET, 61, "10:00", "investigation.update", victim_ref(
            message="DC Noel Specimen would like to meet you to explain the CPS decision and "
                    "how to ask for a review.")),
    ),
)

ROBBERY_ACQUITTAL = Journey(
    "01/10377/26",
    "Knifepoint robbery, Redbridge: trial at Snaresbrook, defendant acquitted",
    weeks_ago=40,
    steps=(
        Step(MET, 0, "21:30", "case.opened", opened(
            "Robbery (threatened with a knife)", "robbery", "Redbridge", On(0, "21:05"),
            person("V1", "Ash", "Placeholder", born="2003-05-05", mobile_n=115,
                   contact={"quiet_hours": {"from": "20:00", "to": "09:00"}}))),
        Step(MET, 1, "09:00", "officer.assigned", officer(
            "oic", "DC", "Nova", "Madeup", "East Area BCU - CID", 117)),
        Step(MET, 1, "09:30", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 1, "09:35", "case.agency_linked", link(SUPPORT)),
        Step(MET, 3, "06:00", "suspect.arrested", {"summary": "A man was arrested at his home."}),
        Step(SUPPORT, 3, "10:00", "support.accepted", victim_ref(
            service=VICTIM_SUPPORT, worker_name="Sol Mockford", contact="020 7946 0210")),
        Step(MET, 3, "14:00", "suspect.interviewed", {"summary": "He denied being there."}),
        Step(MET, 3, "16:00", "case.agency_linked", link(CPS)),
        Step(CPS, 3, "21:00", "charging.decision", {
            "decision": "charge",
            "charges": ["Robbery (Theft Act 1968, s.8)",
                        "Possession of a bladed article in a public place"]}),
        Step(MET, 3, "21:30", "case.agency_linked", link(WCU)),
        Step(CPS, 3, "21:35", "case.agency_linked", link(MAGS)),
        Step(MAGS, 3, "22:00", "hearing.scheduled", hearing(
            "H-10377-1", "first_appearance", THAMES, starts_at=On(4, "10:00"))),
        Step(MAGS, 4, "12:00", "hearing.outcome", {
            "hearing_id": "H-10377-1", "outcome": "other", "remand": "custody",
            "summary": "The case was sent to Snaresbrook Crown Court."}),
        Step(CPS, 4, "14:00", "case.agency_linked", link(CROWN)),
        Step(WCU, 7, "10:00", "witness_care.assigned", contact_person("Dev", "Specimen", 306)),
        Step(CROWN, 7, "11:00", "hearing.scheduled", hearing(
            "H-10377-2", "plea", SNARESBROOK, starts_at=On(35, "10:00"))),
        Step(MET, 7, "15:00", "vps.offered", victim_ref()),
        Step(CROWN, 35, "12:30", "hearing.outcome", {
            "hearing_id": "H-10377-2", "outcome": "not_guilty_plea", "remand": "custody"}),
        Step(CROWN, 35, "15:00", "hearing.scheduled", hearing(
            "H-10377-3", "trial", SNARESBROOK, starts_at=On(161, "10:00"))),
        Step(WCU, 36, "10:00", "witness.required", victim_ref(hearing_id="H-10377-3")),
        Step(MET, 60, "15:00", "vps.declined", victim_ref()),
        Step(WCU, 150, "11:00", "pretrial_visit.offered", victim_ref(
            court="Snaresbrook Crown Court")),
        Step(CROWN, 164, "16:00", "hearing.outcome", {
            "hearing_id": "H-10377-3", "outcome": "acquitted", "remand": "none",
            "summary": "The jury found him not guilty after a four-day trial."}),
        Step(SUPPORT, 190, "10:00", "support.closed", victim_ref()),
    ),
)

ASSAULT_APPEAL = Journey(
    "01/24419/26",
    "Assault by beating, Tower Hamlets: convicted at Thames Magistrates', appeal to "
    "Snaresbrook dismissed",
    weeks_ago=32,
    steps=(
        Step(MET, 0, "17:30", "case.opened", opened(
            "Assault by beating", "violence", "Tower Hamlets", On(0, "17:00"),
            person("V1", "Jamie", "Mockford", born="1983-09-14", mobile_n=116))),
        Step(MET, 0, "18:00", "suspect.arrested", {"summary": "A man was arrested nearby."}),
        Step(MET, 0, "21:00", "suspect.interviewed", {"summary": "He denied hitting you."}),
        Step(MET, 0, "21:30", "officer.assigned", officer(
            "oic", "PC", "Rory", "Example", "Central East BCU - Response", 118)),
        Step(MET, 1, "09:00", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 1, "09:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 1, "10:00", "case.agency_linked", link(CPS)),
        Step(CPS, 1, "12:00", "charging.decision", {
            "decision": "charge",
            "charges": ["Assault by beating (Criminal Justice Act 1988, s.39)"]}),
        Step(MET, 1, "12:30", "vps.offered", victim_ref()),
        Step(MET, 1, "12:35", "case.agency_linked", link(WCU)),
        Step(CPS, 1, "12:40", "case.agency_linked", link(MAGS)),
        Step(MAGS, 1, "13:00", "hearing.scheduled", hearing(
            "H-24419-1", "first_appearance", THAMES, starts_at=On(29, "10:00"))),
        Step(WCU, 2, "10:00", "witness_care.assigned", contact_person("Kim", "Notreal", 307)),
        Step(MAGS, 29, "12:00", "hearing.outcome", {
            "hearing_id": "H-24419-1", "outcome": "not_guilty_plea", "remand": "bail",
            "bail_conditions": ["Not to contact Jamie Mockford directly or indirectly"]}),
        Step(MAGS, 29, "12:10", "hearing.scheduled", hearing(
            "H-24419-2", "trial", THAMES, starts_at=On(92, "10:00"))),
        Step(WCU, 30, "10:00", "witness.required", victim_ref(hearing_id="H-24419-2")),
        Step(MET, 80, "16:00", "vps.recorded", victim_ref()),
        Step(MAGS, 92, "15:00", "hearing.outcome", {
            "hearing_id": "H-24419-2", "outcome": "convicted", "remand": "none",
            "summary": "He was sentenced the same day."}),
        Step(MAGS, 92, "15:10", "sentence.passed", {
            "sentence": "A fine of £600, £400 compensation to you, and a restraining order "
                        "for two years."}),
        Step(CPS, 100, "11:00", "case.agency_linked", link(CROWN)),
        Step(CROWN, 101, "10:00", "appeal.lodged", {
            "summary": "He has appealed against his conviction. A judge and two magistrates "
                       "will hear the case again at Snaresbrook Crown Court."}),
        Step(CROWN, 101, "10:30", "hearing.scheduled", hearing(
            "H-24419-3", "appeal", SNARESBROOK, starts_at=On(155, "10:00"))),
        Step(WCU, 102, "10:00", "witness.required", victim_ref(hearing_id="H-24419-3")),
        Step(CROWN, 155, "15:30", "hearing.outcome", {
            "hearing_id": "H-24419-3", "outcome": "other"}),
        Step(CROWN, 155, "15:35", "appeal.decided", {
            "summary": "The appeal was dismissed. The conviction, the sentence and the "
                       "restraining order stand."}),
    ),
)

MANSLAUGHTER_PAROLE = Journey(
    "01/11408/22",
    "Manslaughter, Waltham Forest (bereaved family): extended sentence, Victim Contact "
    "Scheme, Parole Board hearing coming up",
    weeks_ago=230,
    steps=(
        Step(MET, 0, "03:30", "case.opened", opened(
            "Manslaughter", "homicide", "Waltham Forest", On(0, "01:10"),
            person("V1", "Marley", "Testperson", born="1988-03-30", mobile_n=117,
                   enhanced_rights=["bereaved_family"],
                   contact={"quiet_hours": {"from": "21:00", "to": "09:00"}}),
            person("V2", "Lou", "Testperson", born="1961-11-11", mobile_n=118,
                   enhanced_rights=["bereaved_family"], needs=["easy read"],
                   contact={"sms_allowed": False}))),
        Step(MET, 0, "04:00", "suspect.arrested", {"summary": "A man was arrested at the scene."}),
        Step(MET, 0, "08:00", "officer.assigned", officer(
            "oic", "DI", "Kendall", "Fictional",
            "Specialist Crime - Homicide and Major Crime Command", 119)),
        Step(MET, 0, "10:00", "officer.assigned", officer(
            "family_liaison", "DC", "Toni", "Specimen",
            "Specialist Crime - Homicide and Major Crime Command", 120)),
        Step(MET, 1, "09:00", "suspect.interviewed", {
            "summary": "He said he did not mean to cause serious harm."}),
        Step(MET, 1, "11:00", "support.referred", referred("Homicide Service (Victim Support)")),
        Step(MET, 1, "11:05", "support.referred", referred("Homicide Service (Victim Support)",
                                                           "V2")),
        Step(MET, 1, "11:10", "case.agency_linked", link(SUPPORT)),
        Step(SUPPORT, 2, "10:00", "support.accepted", victim_ref(
            service="Homicide Service (Victim Support)", worker_name="Jules Example",
            contact="020 7946 0211")),
        Step(SUPPORT, 2, "10:05", "support.accepted", victim_ref(
            "V2", service="Homicide Service (Victim Support)", worker_name="Jules Example",
            contact="020 7946 0211")),
        Step(MET, 2, "12:00", "case.agency_linked", link(CPS)),
        Step(CPS, 2, "18:00", "charging.decision", {"decision": "charge", "charges": ["Murder"]}),
        Step(MET, 2, "18:30", "case.agency_linked", link(WCU)),
        Step(CPS, 2, "18:35", "case.agency_linked", link(MAGS)),
        Step(MAGS, 2, "19:00", "hearing.scheduled", hearing(
            "H-11408-1", "first_appearance", THAMES, starts_at=On(3, "10:00"))),
        Step(MAGS, 3, "11:30", "hearing.outcome", {
            "hearing_id": "H-11408-1", "outcome": "other", "remand": "custody",
            "summary": "The case was sent to Snaresbrook Crown Court."}),
        Step(CPS, 3, "13:00", "case.agency_linked", link(CROWN)),
        Step(CROWN, 4, "10:00", "hearing.scheduled", hearing(
            "H-11408-2", "plea", SNARESBROOK, starts_at=On(31, "10:00"))),
        Step(WCU, 4, "11:00", "witness_care.assigned", contact_person("Ollie", "Dummy", 308)),
        Step(CROWN, 31, "12:00", "hearing.outcome", {
            "hearing_id": "H-11408-2", "outcome": "not_guilty_plea", "remand": "custody",
            "summary": "He pleaded not guilty to murder. A trial date was fixed."}),
        Step(CROWN, 31, "14:00", "hearing.scheduled", hearing(
            "H-11408-3", "trial", SNARESBROOK, starts_at=On(206, "10:00"))),
        Step(WCU, 32, "10:00", "witness.required", victim_ref(hearing_id="H-11408-3")),
        Step(MET, 32, "15:00", "vps.offered", victim_ref()),
        Step(MET, 32, "15:05", "vps.offered", victim_ref("V2")),
        Step(CROWN, 220, "15:30", "hearing.outcome", {
            "hearing_id": "H-11408-3", "outcome": "convicted", "remand": "custody",
            "summary": "The jury found him not guilty of murder but guilty of manslaughter."}),
        Step(CROWN, 220, "16:00", "hearing.scheduled", hearing(
            "H-11408-4", "sentence", SNARESBROOK, starts_at=On(248, "10:00"))),
        Step(MET, 240, "14:00", "vps.recorded", victim_ref()),
        Step(MET, 240, "14:30", "vps.recorded", victim_ref("V2")),
        Step(CROWN, 248, "13:00", "hearing.outcome", {
            "hearing_id": "H-11408-4", "outcome": "other", "remand": "custody",
            "summary": "Your family's statements were read to the court."}),
        Step(CROWN, 248, "13:05", "sentence.passed", {
            "sentence": "An extended sentence of 10 years: 7 years in custody and an "
                        "extended licence period of 3 years. He can be considered for parole "
                        "after two-thirds of the custodial term.",
            "custody_months": 84}),
        Step(CROWN, 248, "14:00", "case.agency_linked", link(PROBATION)),
        Step(PROBATION, 252, "10:00", "vcs.referred", victim_ref()),
        Step(PROBATION, 252, "10:05", "vcs.referred", victim_ref("V2")),
        Step(PROBATION, 262, "11:00", "vlo.assigned", contact_person("Frances", "Madeup", 402)),
        Step(PROBATION, 1570, "11:00", "parole.hearing_scheduled", {"date": Ahead(14, 2)}),
    ),
)

DOMESTIC_ABUSE_RECALL = Journey(
    "01/20965/24",
    "Coercive control and ABH, Newham: 3 years, released on licence, recalled for entering "
    "the exclusion zone",
    weeks_ago=120,
    steps=(
        Step(MET, 0, "20:15", "case.opened", opened(
            "Controlling or coercive behaviour and assault (domestic abuse)",
            "domestic_abuse", "Newham", On(0, "19:45"),
            person("V1", "Bea", "Example", born="1990-06-06", mobile_n=119,
                   contact={"email_allowed": False,
                            "quiet_hours": {"from": "21:30", "to": "07:30"}}))),
        Step(MET, 0, "21:00", "suspect.arrested", {
            "summary": "A man was arrested at the address."}),
        Step(MET, 0, "23:00", "officer.assigned", officer(
            "oic", "DC", "Cam", "Placeholder", "North East BCU - Safeguarding (Domestic Abuse)",
            121)),
        Step(MET, 1, "10:00", "suspect.interviewed", {"summary": "He denied the offences."}),
        Step(MET, 1, "11:00", "support.referred", referred(
            "Victim Support domestic abuse service (IDVA)")),
        Step(MET, 1, "11:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 1, "12:00", "case.agency_linked", link(CPS)),
        Step(CPS, 1, "18:00", "charging.decision", {
            "decision": "charge",
            "charges": ["Controlling or coercive behaviour in an intimate or family "
                        "relationship (Serious Crime Act 2015, s.76)",
                        "Assault occasioning actual bodily harm (Offences Against the Person "
                        "Act 1861, s.47)"]}),
        Step(CPS, 1, "18:10", "case.agency_linked", link(MAGS)),
        Step(MAGS, 1, "18:30", "hearing.scheduled", hearing(
            "H-20965-1", "first_appearance", THAMES, starts_at=On(2, "10:00"))),
        Step(MET, 1, "19:00", "case.agency_linked", link(WCU)),
        Step(SUPPORT, 2, "10:00", "support.accepted", victim_ref(
            service="Independent Domestic Violence Advisor (IDVA) service",
            worker_name="Izzy Dummy", contact="020 7946 0212")),
        Step(MET, 2, "10:30", "vps.offered", victim_ref()),
        Step(MAGS, 2, "12:30", "hearing.outcome", {
            "hearing_id": "H-20965-1", "outcome": "other", "remand": "custody",
            "summary": "The case was sent to Snaresbrook Crown Court."}),
        Step(CPS, 2, "14:00", "case.agency_linked", link(CROWN)),
        Step(WCU, 3, "10:00", "witness_care.assigned", contact_person("Ray", "Testperson", 309)),
        Step(CROWN, 3, "11:00", "hearing.scheduled", hearing(
            "H-20965-2", "plea", SNARESBROOK, starts_at=On(30, "10:00"))),
        Step(CROWN, 30, "12:00", "hearing.outcome", {
            "hearing_id": "H-20965-2", "outcome": "guilty_plea", "remand": "custody",
            "summary": "Sentencing was put off for a pre-sentence report."}),
        Step(CROWN, 30, "12:15", "hearing.scheduled", hearing(
            "H-20965-3", "sentence", SNARESBROOK, starts_at=On(58, "10:00"))),
        Step(MET, 50, "15:00", "vps.recorded", victim_ref()),
        Step(CROWN, 58, "12:30", "hearing.outcome", {
            "hearing_id": "H-20965-3", "outcome": "other", "remand": "custody"}),
        Step(CROWN, 58, "12:35", "sentence.passed", {
            "sentence": "3 years' imprisonment and a restraining order with no end date.",
            "custody_months": 36}),
        Step(CROWN, 58, "13:00", "case.agency_linked", link(PROBATION)),
        Step(PROBATION, 63, "10:00", "vcs.referred", victim_ref()),
        Step(PROBATION, 70, "10:00", "vlo.assigned", contact_person("Nat", "Example", 403)),
        Step(PROBATION, 480, "11:00", "release.scheduled", {
            "release_date": On(548),
            "licence_conditions": [
                "Not to contact Bea Example directly or indirectly",
                "Not to enter the London Borough of Newham (exclusion zone map enclosed)",
                "Electronic monitoring and a curfew from 7pm to 7am",
                "To tell his probation officer about any new relationship"]}),
        Step(PROBATION, 548, "09:30", "offender.released", {
            "licence_conditions": [
                "Not to contact Bea Example directly or indirectly",
                "Not to enter the London Borough of Newham (exclusion zone map enclosed)",
                "Electronic monitoring and a curfew from 7pm to 7am",
                "To tell his probation officer about any new relationship"]}),
        Step(PROBATION, 600, "17:00", "offender.recalled", {
            "summary": "His electronic tag showed him inside the exclusion zone. He is back "
                       "in prison."}),
        Step(PROBATION, 640, "11:00", "release.scheduled", {"release_month": AheadMonth(8)}),
    ),
)

SHOP_ROBBERY_ABSCONDED = Journey(
    "01/08132/24",
    "Phone shop robbery, Redbridge: 5 years, day release from open prison, failed to return, "
    "back in custody",
    weeks_ago=110,
    steps=(
        Step(MET, 0, "16:20", "case.opened", opened(
            "Robbery (commercial, at a mobile phone shop)", "robbery", "Redbridge",
            On(0, "16:00"),
            person("V1", "Sid", "Specimen", born="1998-04-17", mobile_n=120))),
        Step(MET, 0, "18:00", "officer.assigned", officer(
            "oic", "DC", "Bobbie", "Madeup", "East Area BCU - CID", 122)),
        Step(MET, 1, "09:00", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 1, "09:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 8, "06:00", "suspect.arrested", {
            "summary": "A man was arrested after being identified from the shop's CCTV."}),
        Step(MET, 8, "14:00", "suspect.interviewed", {"summary": "He made no comment."}),
        Step(MET, 8, "16:00", "case.agency_linked", link(CPS)),
        Step(CPS, 9, "10:00", "charging.decision", {
            "decision": "charge",
            "charges": ["Robbery (Theft Act 1968, s.8)",
                        "Possession of an offensive weapon in a public place"]}),
        Step(MET, 9, "10:30", "vps.offered", victim_ref()),
        Step(MET, 9, "10:35", "case.agency_linked", link(WCU)),
        Step(CPS, 9, "10:40", "case.agency_linked", link(MAGS)),
        Step(MAGS, 9, "11:00", "hearing.scheduled", hearing(
            "H-08132-1", "first_appearance", THAMES, starts_at=On(10, "10:00"))),
        Step(MAGS, 10, "12:00", "hearing.outcome", {
            "hearing_id": "H-08132-1", "outcome": "other", "remand": "custody",
            "summary": "The case was sent to Snaresbrook Crown Court."}),
        Step(CPS, 10, "14:00", "case.agency_linked", link(CROWN)),
        Step(WCU, 11, "10:00", "witness_care.assigned", contact_person("Lex", "Sample", 310)),
        Step(CROWN, 11, "11:00", "hearing.scheduled", hearing(
            "H-08132-2", "plea", SNARESBROOK, starts_at=On(38, "10:00"))),
        Step(CROWN, 38, "12:00", "hearing.outcome", {
            "hearing_id": "H-08132-2", "outcome": "guilty_plea", "remand": "custody"}),
        Step(CROWN, 38, "12:15", "hearing.scheduled", hearing(
            "H-08132-3", "sentence", SNARESBROOK, starts_at=On(66, "14:00"))),
        Step(MET, 60, "15:00", "vps.recorded", victim_ref()),
        Step(CROWN, 66, "16:00", "hearing.outcome", {
            "hearing_id": "H-08132-3", "outcome": "other", "remand": "custody"}),
        Step(CROWN, 66, "16:05", "sentence.passed", {
            "sentence": "5 years' imprisonment.", "custody_months": 60}),
        Step(CROWN, 66, "16:30", "case.agency_linked", link(PROBATION)),
        Step(PROBATION, 70, "10:00", "vcs.referred", victim_ref()),
        Step(PROBATION, 78, "10:00", "vlo.assigned", contact_person("Max", "Specimen", 404)),
        Step(PROBATION, 700, "09:00", "offender.temporary_release", {
            "licence_conditions": [
                "Day release to work only, returning to the open prison by 7pm",
                "Not to enter the London Borough of Redbridge"]}),
        Step(PROBATION, 735, "20:30", "offender.escaped", {
            "summary": "He did not return to the open prison after a day release. The police "
                       "are looking for him."}),
        Step(MET, 738, "12:00", "investigation.update", victim_ref(
            message="He was arrested in Croydon this morning.")),
        Step(PROBATION, 738, "17:00", "offender.recalled", {
            "summary": "He is back in custody, in a closed prison. He will not be given day "
                       "release again."}),
        Step(PROBATION, 745, "11:00", "release.scheduled", {
            "release_month": AheadMonth(5),
            "licence_conditions": [
                "Not to contact Sid Specimen directly or indirectly",
                "Not to enter the London Borough of Redbridge",
                "To live at approved premises"]}),
    ),
)

ASSAULT_VICTIM_WITHDREW = Journey(
    "01/43529/26",
    "Assault on a night out, Southwark: victim asked for the investigation to stop",
    weeks_ago=10,
    steps=(
        Step(MET, 0, "23:50", "case.opened", opened(
            "Assault by beating", "violence", "Southwark", On(0, "23:30"),
            person("V1", "Ren", "Sample", born="2000-10-10", mobile_n=121,
                   contact={"email_allowed": False, "discreet": True}))),
        Step(MET, 1, "10:00", "officer.assigned", officer(
            "oic", "PC", "Lane", "Madeup", "Central South BCU - Response", 123,
            "Four days on, four days off")),
        Step(MET, 1, "10:30", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 1, "10:35", "case.agency_linked", link(SUPPORT)),
        Step(MET, 12, "14:00", "investigation.update", victim_ref(
            message="We have asked the venue for its CCTV.")),
        Step(MET, 20, "16:00", "investigation.closed", {
            "outcome": "victim_withdrew",
            "explanation": "You told PC Lane Madeup that you did not want the investigation "
                           "to continue. If you change your mind, contact us and we will look "
                           "at it again."}),
    ),
)

CATALYTIC_CONVERTER = Journey(
    "01/46081/26",
    "Catalytic converter stolen, Hounslow: closed within days, no suspect identified",
    weeks_ago=6,
    steps=(
        Step(MET, 0, "08:30", "case.opened", opened(
            "Theft from a motor vehicle (catalytic converter)", "theft", "Hounslow",
            On(0, "08:05"),
            person("V1", "Pat", "Demo", born="1958-12-24",
                   contact={"sms_allowed": False}))),
        Step(MET, 0, "12:00", "support.referred", referred(VICTIM_SUPPORT)),
        Step(MET, 0, "12:05", "case.agency_linked", link(SUPPORT)),
        Step(MET, 2, "10:00", "investigation.closed", {
            "outcome": "no_suspect_identified",
            "explanation": "There is no CCTV or forensic evidence and no witnesses. If more "
                           "information comes to light, we will look at it again."}),
        Portal(3, "18:20", "escalate", {
            "reason": "something_wrong",
            "details": "The case was closed saying there is no CCTV, but my neighbour's "
                       "doorbell camera faces the street where the car was parked. Nobody "
                       "asked to see it."}, name="concern"),
        Step(MET, 4, "09:30", "request.acknowledged", {"request_id": Requested("concern")}),
        Step(MET, 7, "16:00", "request.completed", {
            "request_id": Requested("concern"), "decision": "done",
            "explanation": "An officer collected your neighbour's doorbell footage. It shows "
                           "two people at the car at 3.40am, but their faces and their "
                           "vehicle cannot be made out, so the case stays closed. The footage "
                           "is kept in case it links to other thefts."}),
        Portal(8, "08:15", "feedback", {"answer": "yes"}, about="concern"),
    ),
)

JOURNEYS: tuple[Journey, ...] = (
    DOMESTIC_ABUSE_BAIL,
    BURGLARY_NFA,
    RAPE_CROWN_COURT,
    SENTENCED_VIOLENCE_VCS,
    OFFICER_CHANGED_TWICE,
    CHILD_ROBBERY,
    BIKE_THEFT,
    PHONE_SNATCH,
    CRIMINAL_DAMAGE,
    COURIER_FRAUD,
    HATE_CRIME_TWO_VICTIMS,
    STALKING_TRIAL,
    ASSAULT_DISCONTINUED,
    SEXUAL_ASSAULT_CPS_NFA,
    ROBBERY_ACQUITTAL,
    ASSAULT_APPEAL,
    MANSLAUGHTER_PAROLE,
    DOMESTIC_ABUSE_RECALL,
    SHOP_ROBBERY_ABSCONDED,
    ASSAULT_VICTIM_WITHDREW,
    CATALYTIC_CONVERTER,
)
