"""What the contact forms accept. Errors are message ids, translated when the page renders."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.i18n import N_

MESSAGE_MAX = 2000
DETAILS_MAX = 1000
NOTE_MAX = 2000
# What a victim can escalate, in the order the page offers them.
VICTIM_REASONS = ("cant_reach_officer", "something_wrong", "unsafe")
REASON_LABELS = {
    "cant_reach_officer": N_("I can't reach my officer"),
    "something_wrong": N_("Something is wrong with my case"),
    "unsafe": N_("I feel unsafe"),
    "no_reply": N_("Nobody replied to my message in time"),
}
ANSWERS = ("yes", "no")


def _clean(text: str) -> str:
    """Trims, normalises line endings and drops control characters other than new lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return "".join(c for c in text if c == "\n" or c == "\t" or c.isprintable())


@dataclass
class MessageForm:
    body: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def parse_message(values: dict[str, str], max_length: int = MESSAGE_MAX) -> MessageForm:
    form = MessageForm(body=_clean(values.get("body", "")))
    if not form.body:
        form.errors["body"] = N_("Enter your message")
    elif len(form.body) > max_length:
        form.errors["body"] = N_("Your message must be {max} characters or fewer")
    return form


@dataclass
class EscalationForm:
    reason: str = ""
    details: str = ""
    confirmed: bool = False  # "I feel unsafe": the 999 guidance was shown
    errors: dict[str, str] = field(default_factory=dict)


def parse_escalation(values: dict[str, str]) -> EscalationForm:
    form = EscalationForm(reason=values.get("reason", ""),
                          details=_clean(values.get("details", "")),
                          confirmed=values.get("confirmed") == "1")
    if form.reason not in VICTIM_REASONS:
        form.errors["reason"] = N_("Select what is wrong")
    if len(form.details) > DETAILS_MAX:
        form.errors["details"] = N_("What you tell us must be {max} characters or fewer")
    return form


@dataclass
class ResolutionForm:
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def parse_resolution(values: dict[str, str]) -> ResolutionForm:
    form = ResolutionForm(note=_clean(values.get("note", "")))
    if not form.note:
        form.errors["note"] = N_("Enter what was done: the victim reads this note")
    elif len(form.note) > NOTE_MAX:
        form.errors["note"] = N_("The note must be {max} characters or fewer")
    return form


def parse_answer(values: dict[str, str]) -> str | None:
    answer = values.get("answer", "")
    return answer if answer in ANSWERS else None
