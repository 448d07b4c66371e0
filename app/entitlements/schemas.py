"""The forms of the "Your rights" pages: what each action sends to the agency, validated.
Bad input raises `EntitlementError` (field -> an English source string the page translates)
before anything is written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.agencies import catalogue
from app.core.i18n import N_
from app.entitlements import rights as r

if TYPE_CHECKING:
    from app.entitlements.service import Decision

VPS_READING = {
    "read_myself": N_("I want to read it out in court myself"),
    "read_for_me": N_("I want someone else to read it out for me"),
    "not_read": N_("I do not want it read out: the court will read it"),
}
VCS_LEVELS = {
    "release_month_only": N_("Only tell me the month the offender is due to be released"),
    "key_stages": N_("Tell me about key stages: parole, release, licence conditions and recall"),
    "yearly": N_("Key stages, and a yearly update on how the sentence is going"),
}
VPS_MAX, REASONS_MAX, NOTE_MAX = 10_000, 2_000, 1_000
# Whole sentences, so they translate; tests check each names its field's limit.
TOO_LONG = {
    "statement": N_("Your statement must be 10,000 characters or fewer"),
    "reasons": N_("Your reasons must be 2,000 characters or fewer"),
    "note": N_("Your note must be 1,000 characters or fewer"),
    "needs": N_("What you need must be 1,000 characters or fewer"),
}
LIMITS = {"statement": VPS_MAX, "reasons": REASONS_MAX, "note": NOTE_MAX, "needs": NOTE_MAX}


class EntitlementError(ValueError):
    """Bad input for a right: `errors` maps each form field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors



def text_field(form: dict[str, str], name: str, limit: int, required: str | None,
          errors: dict[str, str]) -> str:
    value = (form.get(name) or "").strip()
    if required and not value:
        errors[name] = required
    elif len(value) > limit:
        errors[name] = TOO_LONG[name]
    return value


def details_for(right: str, trigger: str, form: dict[str, str],
                decision: Decision | None = None) -> dict[str, Any]:
    """What goes to the agency for this action, validated; raises EntitlementError."""
    errors: dict[str, str] = {}
    details: dict[str, Any]
    if right == r.VPS:
        if form.get("help") == "1":
            details = {"help_requested": True,
                       "note": text_field(form, "note", NOTE_MAX, None, errors)}
        else:
            details = {"statement": text_field(form, "statement", VPS_MAX,
                                          N_("Write your statement"), errors),
                       "reading": form.get("reading", "")}
            if details["reading"] not in VPS_READING:
                errors["reading"] = N_("Choose how your statement should be used in court")
    elif right == r.VRR:
        assert decision is not None
        details = {"reasons": text_field(form, "reasons", REASONS_MAX,
                                    N_("Tell us why you want the decision reviewed"), errors),
                   "decision_type": decision.type,
                   "decision_at": decision.occurred_at.isoformat()}
    elif right == r.SPECIAL_MEASURES:
        measures = [m for m in form.get("measures", "").split(",") if m]
        if not measures or any(m not in catalogue.MEASURES for m in measures):
            errors["measures"] = N_("Choose at least one measure")
        details = {"measures": measures,
                   "reasons": text_field(form, "reasons", REASONS_MAX,
                                    N_("Tell us why these would help you"), errors)}
    elif right == r.RJ:
        details = {"interested": True, "note": text_field(form, "note", NOTE_MAX, None, errors)}
    elif right == r.VCS:
        if trigger == r.DECLINE:
            details = {"opt_in": False}
        else:
            details = {"opt_in": True, "contact_level": form.get("contact_level", "")}
            if details["contact_level"] not in VCS_LEVELS:
                errors["contact_level"] = N_("Choose how much you want to hear")
    elif right == r.SUPPORT:
        if form.get("consent") != "yes":
            errors["consent"] = N_("Say that you agree to us sharing these details, or choose "
                                   "not to be referred")
        details = {"consent": form.get("consent") == "yes",
                   "shared": ["name", "contact details", "crime type"],
                   "needs": text_field(form, "needs", NOTE_MAX, None, errors)}
    else:
        raise ValueError(f"unknown right {right!r}")
    if errors:
        raise EntitlementError(errors)
    return details


def parse_vps_draft(form: dict[str, str]) -> tuple[str, str]:
    """An unfinished statement may be empty, but not too long or with an unknown reading."""
    errors: dict[str, str] = {}
    statement = text_field(form, "statement", VPS_MAX, None, errors)
    reading = form.get("reading", "")
    if reading and reading not in VPS_READING:
        errors["reading"] = N_("Choose how your statement should be used in court")
    if errors:
        raise EntitlementError(errors)
    return statement, reading
