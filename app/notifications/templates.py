"""What our SMS and emails say: the one place for notification wording, per event type and
language (English source strings, Welsh through the gettext catalogue).

Safety rules that hold for every message built here:
- nothing an agency typed (summary, message, explanation, names) is ever copied into a message:
  only fixed sentences, filled from enumerated fields and dates;
- a discreet message says only that there is something new and links to the portal: no names,
  offence, court or place, not even the service's name;
- links are TMC_BASE_URL plus a fixed path or a random token: never personal data.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.agencies.catalogue import HEARING_TYPES, OFFICER_ROLES
from app.core.i18n import Translator, translator

Params = dict[str, Any]
Headline = Callable[[Params, Translator], str]

DIGEST = "digest"
# Sent when the victim's chosen interval passed with no police update (no event causes it).
UPDATE_REMINDER = "update-reminder"

# Events that never cause a message (the victim caused them, or they change nothing for them).
NOT_NOTIFIED = frozenset({"victim.updated", "case.agency_linked", "vps.recorded",
                          "vps.declined", "request.acknowledged"})

# The structured fields a template may use, copied from the event data when the notification is
# queued. Free text is never listed here.
PARAM_FIELDS: dict[str, tuple[str, ...]] = {
    "officer.assigned": ("role",),
    "hearing.scheduled": ("hearing_type", "starts_at", "window"),
    "hearing.outcome": ("remand",),
}


def params_for(event_type: str, data: Params) -> Params:
    return {k: data[k] for k in PARAM_FIELDS.get(event_type, ()) if data.get(k) is not None}


def _update(p: Params, t: Translator) -> str:
    return t._("There is an update about your case.")


def _hearing_scheduled(p: Params, t: Translator) -> str:
    kind = t._(HEARING_TYPES.get(p.get("hearing_type", "other"), HEARING_TYPES["other"]))
    if p.get("starts_at"):
        return t._("A {kind} hearing has been arranged for {when}.").format(
            kind=kind, when=t.datetime(p["starts_at"]))
    if p.get("window"):
        return t._("A {kind} hearing has been arranged for a date between {start} and "
                   "{end}.").format(kind=kind, start=t.date(p["window"]["from"]),
                                    end=t.date(p["window"]["to"]))
    return t._("A {kind} hearing has been arranged.").format(kind=kind)


def _officer(p: Params, t: Translator) -> str:
    role = t._(OFFICER_ROLES.get(p.get("role", "oic"), OFFICER_ROLES["oic"]))
    return t._("You have a new {role}.").format(role=role)


def _hearing_outcome(p: Params, t: Translator) -> str:
    if p.get("remand") == "bail":
        return t._("The court gave the defendant bail. There may be conditions to keep you "
                   "safe.")
    return t._("A court hearing in your case has finished. You can read the outcome online.")


def _fixed(sentence: str) -> Headline:
    def headline(_p: Params, t: Translator) -> str:
        return t._(sentence)
    return headline


HEADLINES: dict[str, Headline] = {
    "case.opened": _fixed("Your report has been recorded. You can follow your case online."),
    "victim.added": _fixed("You have been added to a case. You can follow it online."),
    "officer.assigned": _officer,
    "witness_care.assigned": _fixed("A witness care officer will keep you up to date about "
                                    "court."),
    "vlo.assigned": _fixed("A victim liaison officer from the Probation Service has been "
                           "assigned to you."),
    "investigation.update": _fixed("The police have sent you an update."),
    "suspect.arrested": _fixed("The police have arrested a suspect."),
    "suspect.interviewed": _fixed("The police have interviewed a suspect."),
    "suspect.bailed": _fixed("The suspect has been released on police bail. There may be "
                             "conditions to keep you safe."),
    "suspect.released_under_investigation": _fixed(
        "The suspect has been released while the police investigate. There are no bail "
        "conditions."),
    "suspect.bail_conditions_changed": _fixed("The suspect's bail conditions have changed."),
    "investigation.closed": _fixed("The police have made a decision about your case."),
    "out_of_court_disposal": _fixed("The police have made a decision about your case."),
    "charging.decision": _fixed("The Crown Prosecution Service has made a decision about "
                                "your case."),
    "charges.altered": _fixed("The Crown Prosecution Service has changed the charges."),
    "prosecution.discontinued": _fixed("The Crown Prosecution Service has made a decision "
                                       "about your case."),
    "witness.required": _fixed("You will be needed as a witness at court."),
    "witness.not_required": _fixed("You are no longer needed as a witness at a hearing."),
    "hearing.scheduled": _hearing_scheduled,
    "hearing.changed": _fixed("A court hearing in your case has changed."),
    "hearing.vacated": _fixed("A court hearing in your case has been cancelled."),
    "hearing.outcome": _hearing_outcome,
    "sentence.passed": _fixed("The court has passed sentence."),
    "release.scheduled": _fixed("A release is being planned for the offender."),
    "offender.released": _fixed("The offender has been released on licence."),
    "offender.temporary_release": _fixed("The offender has been allowed out of prison "
                                         "temporarily."),
    "offender.recalled": _fixed("The offender has been recalled to prison."),
    UPDATE_REMINDER: _fixed("Nothing new has happened on your case, but it has not been "
                            "forgotten. We have asked your officer to give you an update."),
    "offender.escaped": _fixed("The offender has escaped or absconded from custody. If you "
                               "feel in danger, call 999."),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str  # the SMS body, and the plain-text part of an email
    html: str


@dataclass(frozen=True)
class Content:
    """What a message is about, as stored on the notification row."""

    template: str  # an event type, or DIGEST
    params: Params
    language: str
    discreet: bool
    ack_token: str | None = None  # set on safety alerts
    count: int = 1  # for digests


def portal_link(base_url: str) -> str:
    return base_url.rstrip("/") + "/"


def ack_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/ack/{token}"


def _headline(content: Content, t: Translator) -> str:
    if content.template == DIGEST:
        if content.discreet:
            return t.ngettext("You have {n} new message.", "You have {n} new messages.",
                              content.count).format(n=content.count)
        return t.ngettext("There is {n} update about your case.",
                          "There are {n} updates about your case.",
                          content.count).format(n=content.count)
    if content.discreet:
        if content.ack_token:
            return t._("You have an important new message.")
        return t._("You have a new message.")
    return HEADLINES.get(content.template, _update)(content.params, t)


def render(content: Content, base_url: str) -> Rendered:
    t = translator(content.language)
    headline = _headline(content, t)
    link = portal_link(base_url)
    if content.template == DIGEST:
        read = t._("Sign in to read them: {link}").format(link=link)
    else:
        read = t._("Sign in to read it: {link}").format(link=link)
    parts = [headline, read]
    if content.ack_token:
        parts.append(t._("Please tell us you have seen this: reply OK or open {link}").format(
            link=ack_link(base_url, content.ack_token)))
    text = " ".join(parts)
    if content.discreet:
        subject = t._("You have a new message")
    elif content.ack_token:
        subject = t._("Important: an update about your case")
    else:
        subject = t._("An update about your case")
    body_html = "".join(f"<p>{_linkify(html.escape(p), base_url)}</p>" for p in parts)
    return Rendered(subject=subject, text=text, html=body_html)


def _linkify(escaped: str, base_url: str) -> str:
    """Turns our own links (and only ours) into anchors in the HTML part."""
    prefix = html.escape(base_url.rstrip("/"))
    words = []
    for word in escaped.split(" "):
        if word.startswith(prefix):
            words.append(f'<a href="{word}">{word}</a>')
        else:
            words.append(word)
    return " ".join(words)
