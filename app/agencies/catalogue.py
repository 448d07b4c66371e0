"""The event catalogue: the one place that says, for each agency event type, who may send it,
its schema, whether it concerns one victim, whether it is safety-critical, and how a victim reads
it on their timeline (English source strings, translated through gettext).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from app.agencies import schemas as s
from app.core.i18n import N_, Translator

Params = dict[str, Any]
Wording = Callable[[Params, Translator], str]

POLICE, CPS, WCU, COURT, PROBATION, SUPPORT = (
    "police", "cps", "witness_care", "court", "probation", "support_service",
)
ANY_KIND = frozenset({POLICE, CPS, WCU, COURT, PROBATION, SUPPORT})

# Who may link whom to a case with `case.agency_linked` (contract s.4).
LINKABLE_KINDS: dict[str, frozenset[str]] = {
    POLICE: frozenset({CPS, WCU, SUPPORT}),
    CPS: frozenset({WCU, COURT, PROBATION}),
    WCU: frozenset({COURT}),
    COURT: frozenset({PROBATION}),
    PROBATION: frozenset(),
    SUPPORT: frozenset(),
}

HEARING_TYPES = {
    "first_appearance": N_("first appearance"),
    "plea": N_("plea"),
    "trial": N_("trial"),
    "sentence": N_("sentencing"),
    "bail": N_("bail"),
    "appeal": N_("appeal"),
    "other": N_("court"),
}
HEARING_OUTCOMES = {
    "adjourned": N_("The hearing was adjourned (put off to a later date)."),
    "guilty_plea": N_("The defendant pleaded guilty."),
    "not_guilty_plea": N_("The defendant pleaded not guilty. There will be a trial."),
    "convicted": N_("The defendant was found guilty."),
    "acquitted": N_("The defendant was found not guilty."),
    "dismissed": N_("The case was dismissed by the court."),
    "other": N_("The court has reached a decision."),
}
REMAND = {
    "custody": N_("The defendant was kept in custody (remanded in prison) until the next hearing."),
    "bail": N_("The defendant was given bail until the next hearing."),
    "none": "",
}
CLOSURE_OUTCOMES = {
    "no_further_action": N_("The police have decided to take no further action."),
    "no_suspect_identified": N_("The police could not identify a suspect."),
    "evidential_difficulties": N_(
        "The police do not have enough evidence to take the case further."
    ),
    "victim_withdrew": N_("The investigation has ended because you asked not to continue."),
    "other": N_("The police have ended the investigation."),
}
DISPOSALS = {
    "caution": N_("a caution"),
    "conditional_caution": N_("a conditional caution"),
    "community_resolution": N_("a community resolution"),
    "penalty_notice": N_("a penalty notice"),
}
MEASURES = {
    "screens": N_("screens, so you do not see the defendant"),
    "live_link": N_("giving evidence by live video link"),
    "evidence_in_private": N_("the public gallery cleared while you give evidence"),
    "removal_of_wigs_and_gowns": N_("judges and lawyers not wearing wigs and gowns"),
    "video_recorded_evidence_in_chief": N_("your video-recorded interview played as your evidence"),
    "pre_recorded_cross_examination": N_("being cross-examined on video before the trial"),
    "intermediary": N_("help from an intermediary to communicate"),
    "communication_aids": N_("communication aids"),
}
OFFICER_ROLES = {
    "oic": N_("officer in charge"),
    "soit": N_("specially trained officer"),
    "supervisor": N_("supervising officer"),
    "family_liaison": N_("family liaison officer"),
    "witness_care": N_("witness care officer"),
    "vlo": N_("victim liaison officer"),
}
REQUEST_DECISIONS = {
    "done": N_("done"),
    "granted": N_("granted"),
    "refused": N_("refused"),
    "upheld": N_("upheld"),
    "not_upheld": N_("not upheld"),
}
VRR_SENTENCE = N_("You have the right to ask for a review of this decision (Victims' Right to "
                  "Review). Your rights page shows how and by when.")


@dataclass(frozen=True)
class EventSpec:
    type: str
    kinds: frozenset[str]
    schema: type[BaseModel]
    wording: Wording
    # Event concerns one victim: the timeline entry is shown to that victim only.
    victim_specific: bool = False
    safety_critical: Callable[[Params], bool] = lambda _data: False


def _vrr(p: Params, t: Translator) -> str:
    return " " + t._(VRR_SENTENCE) if p.get("vrr_eligible") else ""


def _with(text: str, extra: str | None) -> str:
    return f"{text} {extra}" if extra else text


def _when(p: Params, t: Translator) -> str:
    if p.get("starts_at"):
        return t.datetime(p["starts_at"])
    window = p.get("window")
    if window:
        return t._("a date between {start} and {end} (a 'warned list': the exact day is "
                   "confirmed shortly before)").format(start=t.date(window["from"]),
                                                       end=t.date(window["to"]))
    return t._("a date to be confirmed")


def _place(p: Params) -> str:
    return ", ".join(x for x in (p.get("court"), p.get("address")) if x)


def _listed(items: list[str]) -> str:
    """Agency-written items joined for a sentence that supplies its own full stop."""
    return "; ".join(item.rstrip(". ") for item in items)


def _conditions(p: Params, key: str, t: Translator) -> str:
    items = p.get(key) or []
    if isinstance(items, str):
        items = [items]
    if not items:
        return ""
    return t._("Conditions: {conditions}.").format(conditions=_listed(items))


def _w_case_opened(p: Params, t: Translator) -> str:
    return t._("Your report of {crime} was recorded by the police.").format(crime=p["crime_type"])


def _w_victim_added(p: Params, t: Translator) -> str:
    return t._("The police added you to this case.")


def _w_victim_updated(p: Params, t: Translator) -> str:
    return t._("The police updated your details on this case.")


def _w_officer_assigned(p: Params, t: Translator) -> str:
    role = t._(OFFICER_ROLES[p["role"]])
    who = " ".join(x for x in (p.get("rank"), p["name"]) if x)
    return t._("{who} is now your {role}.").format(who=who, role=role)


def _w_agency_linked(p: Params, t: Translator) -> str:
    return t._("{agency} is now working on your case.").format(
        agency=p.get("agency_name") or p["agency_id"])


def _w_investigation_update(p: Params, t: Translator) -> str:
    return t._("Update from the police: {message}").format(message=p["message"])


def _w_arrested(p: Params, t: Translator) -> str:
    return _with(t._("The police arrested a suspect."), p.get("summary"))


def _w_interviewed(p: Params, t: Translator) -> str:
    return _with(t._("The police interviewed a suspect."), p.get("summary"))


def _w_bailed(p: Params, t: Translator) -> str:
    text = t._("The suspect was released on police bail.")
    if p.get("return_date"):
        text += " " + t._("They must return to the police station on {date}.").format(
            date=t.date(p["return_date"]))
    return _with(text, _conditions(p, "bail_conditions", t))


def _w_rui(p: Params, t: Translator) -> str:
    return _with(t._("The suspect was released while the police continue to investigate "
                     "(released under investigation). There are no bail conditions."),
                 p.get("summary"))


def _w_bail_changed(p: Params, t: Translator) -> str:
    return _with(t._("The suspect's bail conditions have changed."),
                 _conditions(p, "bail_conditions", t))


def _w_investigation_closed(p: Params, t: Translator) -> str:
    text = _with(t._(CLOSURE_OUTCOMES[p["outcome"]]), p.get("explanation"))
    return text + _vrr(p, t)


def _w_ooc_disposal(p: Params, t: Translator) -> str:
    text = t._("The suspect was given {disposal} instead of going to court.").format(
        disposal=t._(DISPOSALS[p["disposal"]]))
    return _with(text, p.get("details"))


def _w_vps_offered(p: Params, t: Translator) -> str:
    return t._("You were offered the chance to make a Victim Personal Statement.")


def _w_vps_recorded(p: Params, t: Translator) -> str:
    return t._("Your Victim Personal Statement was recorded.")


def _w_vps_declined(p: Params, t: Translator) -> str:
    return t._("You chose not to make a Victim Personal Statement. You can still make one "
               "later.")


def _w_support_referred(p: Params, t: Translator) -> str:
    return t._("With your agreement, the police referred you to {service} for support.").format(
        service=p["service"])


def _w_rj_info(p: Params, t: Translator) -> str:
    return t._("You were given information about restorative justice.")


def _w_charging_decision(p: Params, t: Translator) -> str:
    decision = p["decision"]
    if decision == "charge":
        charges = _listed(p.get("charges") or [])
        text = (t._("The Crown Prosecution Service decided to charge the suspect with: "
                    "{charges}.").format(charges=charges) if charges else
                t._("The Crown Prosecution Service decided to charge the suspect."))
    elif decision == "no_further_action":
        text = t._("The Crown Prosecution Service decided not to charge the suspect.")
    else:
        text = t._("The Crown Prosecution Service decided the suspect should be dealt with "
                   "out of court.")
    return _with(text, p.get("explanation")) + _vrr(p, t)


def _w_charges_altered(p: Params, t: Translator) -> str:
    text = t._("The Crown Prosecution Service changed the charges to: {charges}.").format(
        charges=_listed(p["charges"]))
    return _with(text, p.get("explanation")) + _vrr(p, t)


def _w_discontinued(p: Params, t: Translator) -> str:
    text = t._("The Crown Prosecution Service stopped the prosecution.")
    return _with(text, p.get("explanation")) + _vrr(p, t)


def _w_wcu_assigned(p: Params, t: Translator) -> str:
    return t._("{name} from the Witness Care Unit is now your witness care officer. They will "
               "keep you up to date about court.").format(name=p["name"])


def _w_witness_required(p: Params, t: Translator) -> str:
    return t._("You will be needed as a witness at court. Your witness care officer will "
               "explain what happens and what support you can have.")


def _w_witness_not_required(p: Params, t: Translator) -> str:
    return t._("You are no longer needed as a witness at this hearing.")


def _w_special_measures(p: Params, t: Translator) -> str:
    parts = []
    if p.get("granted"):
        parts.append(t._("The court agreed to: {measures}.").format(
            measures="; ".join(t._(MEASURES[m]) for m in p["granted"])))
    if p.get("refused"):
        parts.append(t._("The court refused: {measures}.").format(
            measures="; ".join(t._(MEASURES[m]) for m in p["refused"])))
    return " ".join([t._("The court decided on your special measures."), *parts])


def _w_pretrial_visit(p: Params, t: Translator) -> str:
    if p.get("court"):
        return t._("You can visit {court} before the trial to see the court room.").format(
            court=p["court"])
    return t._("You can visit the court before the trial to see the court room.")


def _w_hearing_scheduled(p: Params, t: Translator) -> str:
    return t._("A {kind} hearing was arranged at {place} on {when}.").format(
        kind=t._(HEARING_TYPES[p["hearing_type"]]), place=_place(p), when=_when(p, t))


def _w_hearing_changed(p: Params, t: Translator) -> str:
    parts = [t._("A court hearing has changed.")]
    if p.get("starts_at") or p.get("window"):
        parts.append(t._("It is now on {when}.").format(when=_when(p, t)))
    if p.get("court") or p.get("address"):
        parts.append(t._("It is now at {place}.").format(place=_place(p)))
    if p.get("reason"):
        parts.append(t._("Reason: {reason}").format(reason=p["reason"]))
    return " ".join(parts)


def _w_hearing_vacated(p: Params, t: Translator) -> str:
    text = t._("A court hearing was cancelled. You do not need to go to court for it.")
    return _with(text, t._("Reason: {reason}").format(reason=p["reason"]) if p.get("reason")
                 else None)


def _w_hearing_outcome(p: Params, t: Translator) -> str:
    parts = [t._(HEARING_OUTCOMES[p["outcome"]])]
    if p.get("remand") and REMAND[p["remand"]]:
        parts.append(t._(REMAND[p["remand"]]))
    if p.get("remand") == "bail":
        parts.append(_conditions(p, "bail_conditions", t))
    if p.get("summary"):
        parts.append(p["summary"])
    return " ".join(x for x in parts if x)


def _w_sentence(p: Params, t: Translator) -> str:
    return t._("The court passed sentence: {sentence}").format(sentence=p["sentence"])


def _w_appeal_lodged(p: Params, t: Translator) -> str:
    return _with(t._("An appeal has been made against the court's decision."), p.get("summary"))


def _w_appeal_decided(p: Params, t: Translator) -> str:
    return _with(t._("The appeal has been decided."), p.get("summary"))


def _w_vcs_referred(p: Params, t: Translator) -> str:
    return t._("You were referred to the Probation Service's Victim Contact Scheme. A victim "
               "liaison officer will contact you about the offender's sentence and release.")


def _w_vlo_assigned(p: Params, t: Translator) -> str:
    return t._("{name} is now your victim liaison officer at the Probation Service.").format(
        name=p["name"])


def _w_parole(p: Params, t: Translator) -> str:
    if p.get("date"):
        return t._("A Parole Board hearing will take place on {date}.").format(
            date=t.date(p["date"]))
    return t._("A Parole Board hearing is being arranged.")


def _w_release_scheduled(p: Params, t: Translator) -> str:
    if p.get("release_date"):
        text = t._("The offender is due to be released on {date}.").format(
            date=t.date(p["release_date"]))
    elif p.get("release_month"):
        text = t._("The offender is due to be released in {month}.").format(
            month=t.date(p["release_month"] + "-01").split(" ", 2)[-1])
    else:
        text = t._("A release date is being set for the offender.")
    return _with(text, _conditions(p, "licence_conditions", t))


def _w_released(p: Params, t: Translator) -> str:
    return _with(t._("The offender has been released on licence."),
                 _conditions(p, "licence_conditions", t))


def _w_temporary_release(p: Params, t: Translator) -> str:
    return _with(t._("The offender has been allowed out of prison temporarily."),
                 _conditions(p, "licence_conditions", t))


def _w_recalled(p: Params, t: Translator) -> str:
    return _with(t._("The offender has been recalled to prison."), p.get("summary"))


def _w_escaped(p: Params, t: Translator) -> str:
    return _with(t._("The offender has escaped or absconded from custody. If you feel in "
                     "danger, call 999."), p.get("summary"))


def _w_support_accepted(p: Params, t: Translator) -> str:
    text = t._("{service} will support you.").format(service=p["service"])
    if p.get("worker_name"):
        text += " " + t._("Your support worker is {name}.").format(name=p["worker_name"])
    return text


def _w_support_closed(p: Params, t: Translator) -> str:
    return t._("Your support from this service has ended. You can ask for support again at "
               "any time.")


# Replies to a victim's request say who replied and what the request was (the portal adds
# `agency_kind` and `kind` to the entry: app/outbound/service.py `on_event`). Whole sentences
# per agency, so each reads right ("the police have", "the CPS has") and translates well.
ACKNOWLEDGED_BY = {
    POLICE: N_("The police have received {request} and are looking at it."),
    CPS: N_("The Crown Prosecution Service has received {request} and is looking at it."),
    WCU: N_("The Witness Care Unit has received {request} and is looking at it."),
    COURT: N_("The court has received {request} and is looking at it."),
    PROBATION: N_("The Probation Service has received {request} and is looking at it."),
    SUPPORT: N_("The support service has received {request} and is looking at it."),
}
COMPLETED_BY = {
    POLICE: N_("The police have finished dealing with {request}. The result: {decision}."),
    CPS: N_("The Crown Prosecution Service has finished dealing with {request}. "
            "The result: {decision}."),
    WCU: N_("The Witness Care Unit has finished dealing with {request}. "
            "The result: {decision}."),
    COURT: N_("The court has finished dealing with {request}. The result: {decision}."),
    PROBATION: N_("The Probation Service has finished dealing with {request}. "
                  "The result: {decision}."),
    SUPPORT: N_("The support service has finished dealing with {request}. "
                "The result: {decision}."),
}
REQUESTS = {
    "vps": N_("your Victim Personal Statement"),
    "vrr": N_("your request for a review of the decision"),
    "special_measures": N_("your request for special measures"),
    "rj_interest": N_("your interest in restorative justice"),
    "vcs_preference": N_("your Victim Contact Scheme choices"),
    "support_referral": N_("your request for support"),
    "message": N_("your message"),
    "escalation": N_("your concern"),
}


def _reply_sentence(sentences: dict[str, str], p: Params, t: Translator) -> str | None:
    sentence = sentences.get(p.get("agency_kind") or "")
    request = REQUESTS.get(p.get("kind") or "")
    if sentence is None or request is None:
        return None
    return t._(sentence).replace("{request}", t._(request))


def _w_request_acknowledged(p: Params, t: Translator) -> str:
    text = _reply_sentence(ACKNOWLEDGED_BY, p, t)
    return text or t._("Your request was received and is being looked at.")


def _w_request_completed(p: Params, t: Translator) -> str:
    decision = t._(REQUEST_DECISIONS[p["decision"]])
    sentence = _reply_sentence(COMPLETED_BY, p, t)
    if sentence is None:
        text = t._("Your request was dealt with: {decision}.").format(decision=decision)
    else:
        text = sentence.replace("{decision}", decision)
    return _with(text, p.get("explanation"))


class MessageReplied(s.Data):
    """The police's answer to a victim's portal message (docs/contact-events.md)."""

    request_id: s.Ref  # the message's request_id from the outbound webhook
    victim_ref: s.Ref
    message: s.Text
    name: s.ShortText | None = None  # who replied, as the victim should see it


def _w_message_replied(p: Params, t: Translator) -> str:
    if p.get("name"):
        return t._("{name} replied to your message: {message}").format(name=p["name"],
                                                                     message=p["message"])
    return t._("The police replied to your message: {message}").format(message=p["message"])


def _bail_remand(data: Params) -> bool:
    return data.get("remand") == "bail"


_ALWAYS: Callable[[Params], bool] = lambda _data: True  # noqa: E731

CATALOGUE: dict[str, EventSpec] = {spec.type: spec for spec in (
    # police
    EventSpec("case.opened", frozenset({POLICE}), s.CaseOpened, _w_case_opened),
    EventSpec("victim.added", frozenset({POLICE}), s.VictimChanged, _w_victim_added, True),
    EventSpec("victim.updated", frozenset({POLICE}), s.VictimChanged, _w_victim_updated, True),
    EventSpec("officer.assigned", frozenset({POLICE}), s.OfficerAssigned, _w_officer_assigned),
    EventSpec("case.agency_linked", ANY_KIND, s.AgencyLinked, _w_agency_linked),
    EventSpec("investigation.update", frozenset({POLICE}), s.InvestigationUpdate,
              _w_investigation_update, True),
    EventSpec("suspect.arrested", frozenset({POLICE}), s.SummaryData, _w_arrested),
    EventSpec("suspect.interviewed", frozenset({POLICE}), s.SummaryData, _w_interviewed),
    EventSpec("suspect.bailed", frozenset({POLICE}), s.SuspectBailed, _w_bailed,
              safety_critical=_ALWAYS),
    EventSpec("suspect.released_under_investigation", frozenset({POLICE}), s.SummaryData,
              _w_rui, safety_critical=_ALWAYS),
    EventSpec("suspect.bail_conditions_changed", frozenset({POLICE}), s.BailConditionsChanged,
              _w_bail_changed, safety_critical=_ALWAYS),
    EventSpec("investigation.closed", frozenset({POLICE}), s.InvestigationClosed,
              _w_investigation_closed),
    EventSpec("out_of_court_disposal", frozenset({POLICE}), s.OutOfCourtDisposal,
              _w_ooc_disposal),
    EventSpec("vps.offered", frozenset({POLICE}), s.VictimRefData, _w_vps_offered, True),
    EventSpec("vps.recorded", frozenset({POLICE}), s.VictimRefData, _w_vps_recorded, True),
    EventSpec("vps.declined", frozenset({POLICE}), s.VictimRefData, _w_vps_declined, True),
    EventSpec("support.referred", frozenset({POLICE}), s.SupportReferred, _w_support_referred,
              True),
    EventSpec("rj.information_given", frozenset({POLICE}), s.VictimRefData, _w_rj_info, True),
    EventSpec("message.replied", frozenset({POLICE}), MessageReplied, _w_message_replied, True),
    # cps
    EventSpec("charging.decision", frozenset({CPS}), s.ChargingDecision, _w_charging_decision),
    EventSpec("charges.altered", frozenset({CPS}), s.ChargesAltered, _w_charges_altered),
    EventSpec("prosecution.discontinued", frozenset({CPS}), s.ProsecutionDiscontinued,
              _w_discontinued),
    # witness care
    EventSpec("witness_care.assigned", frozenset({WCU}), s.ContactPerson, _w_wcu_assigned),
    EventSpec("witness.required", frozenset({WCU}), s.WitnessHearing, _w_witness_required, True),
    EventSpec("witness.not_required", frozenset({WCU}), s.WitnessHearing,
              _w_witness_not_required, True),
    EventSpec("special_measures.decided", frozenset({WCU}), s.SpecialMeasuresDecided,
              _w_special_measures, True),
    EventSpec("pretrial_visit.offered", frozenset({WCU}), s.PretrialVisitOffered,
              _w_pretrial_visit, True),
    # court
    EventSpec("hearing.scheduled", frozenset({COURT}), s.HearingScheduled, _w_hearing_scheduled),
    EventSpec("hearing.changed", frozenset({COURT}), s.HearingChanged, _w_hearing_changed),
    EventSpec("hearing.vacated", frozenset({COURT}), s.HearingVacated, _w_hearing_vacated),
    EventSpec("hearing.outcome", frozenset({COURT}), s.HearingOutcome, _w_hearing_outcome,
              safety_critical=_bail_remand),
    EventSpec("sentence.passed", frozenset({COURT}), s.SentencePassed, _w_sentence),
    EventSpec("appeal.lodged", frozenset({COURT}), s.SummaryData, _w_appeal_lodged),
    EventSpec("appeal.decided", frozenset({COURT}), s.SummaryData, _w_appeal_decided),
    # probation
    EventSpec("vcs.referred", frozenset({PROBATION}), s.VictimRefData, _w_vcs_referred, True),
    EventSpec("vlo.assigned", frozenset({PROBATION}), s.ContactPerson, _w_vlo_assigned),
    EventSpec("parole.hearing_scheduled", frozenset({PROBATION}), s.ParoleHearingScheduled,
              _w_parole),
    EventSpec("release.scheduled", frozenset({PROBATION}), s.ReleaseScheduled,
              _w_release_scheduled, safety_critical=_ALWAYS),
    EventSpec("offender.released", frozenset({PROBATION}), s.OffenderReleased, _w_released,
              safety_critical=_ALWAYS),
    EventSpec("offender.temporary_release", frozenset({PROBATION}), s.OffenderReleased,
              _w_temporary_release, safety_critical=_ALWAYS),
    EventSpec("offender.recalled", frozenset({PROBATION}), s.SummaryData, _w_recalled),
    EventSpec("offender.escaped", frozenset({PROBATION}), s.SummaryData, _w_escaped,
              safety_critical=_ALWAYS),
    # support services
    EventSpec("support.accepted", frozenset({SUPPORT}), s.SupportAccepted, _w_support_accepted,
              True),
    EventSpec("support.closed", frozenset({SUPPORT}), s.VictimRefData, _w_support_closed, True),
    # replies to victim requests
    # (victim-specific: the portal adds the requesting victim's victim_ref when applying them)
    EventSpec("request.acknowledged", ANY_KIND, s.RequestAcknowledged, _w_request_acknowledged,
              True),
    EventSpec("request.completed", ANY_KIND, s.RequestCompleted, _w_request_completed, True),
)}


def spec_for(event_type: str) -> EventSpec | None:
    return CATALOGUE.get(event_type)


def is_safety_critical(event_type: str, data: Params) -> bool:
    spec = CATALOGUE.get(event_type)
    return bool(spec and spec.safety_critical(data))


def victim_ref_of(event_type: str, data: Params) -> str | None:
    """The victim an event concerns, if it concerns one only."""
    spec = CATALOGUE[event_type]
    if not spec.victim_specific:
        return None
    if "victim" in data:
        return data["victim"]["victim_ref"]
    return data.get("victim_ref")


def render(event_type: str, params: Params, t: Translator) -> str:
    return CATALOGUE[event_type].wording(params, t)
