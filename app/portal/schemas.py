"""What the portal's forms accept. Errors are message ids, translated when the page renders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from app.core.i18n import N_

ROLES = ("victim", "representative")
CHANNELS = ("sms", "email")
CODE_PATTERN = re.compile(r"^\d{6}$")


@dataclass
class SignInForm:
    crime_reference: str = ""
    day: str = ""
    month: str = ""
    year: str = ""
    role: str = "victim"
    channel: str = "sms"
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def date_of_birth(self) -> date | None:
        try:
            return date(int(self.year), int(self.month), int(self.day))
        except ValueError:
            return None


def parse_sign_in(values: dict[str, str]) -> SignInForm:
    form = SignInForm(
        crime_reference=values.get("crime_reference", "").strip(),
        day=values.get("dob-day", "").strip(), month=values.get("dob-month", "").strip(),
        year=values.get("dob-year", "").strip(), role=values.get("role", ""),
        channel=values.get("channel", ""),
    )
    if not form.crime_reference:
        form.errors["crime_reference"] = N_("Enter your crime reference number")
    elif len(form.crime_reference) > 64 or not form.crime_reference.isprintable():
        form.errors["crime_reference"] = N_("Enter the crime reference number as the police "
                                            "gave it to you")
    born = form.date_of_birth
    if not (form.day and form.month and form.year):
        form.errors["dob"] = N_("Enter the date of birth of the victim")
    elif born is None or len(form.year) != 4:
        form.errors["dob"] = N_("Date of birth must be a real date")
    elif born >= date.today():
        form.errors["dob"] = N_("Date of birth must be in the past")
    if form.role not in ROLES:
        form.errors["role"] = N_("Select whether you are the victim or act for them")
    if form.channel not in CHANNELS:
        form.errors["channel"] = N_("Select how we should send your code")
    return form


def normalise_code(value: str) -> str | None:
    code = re.sub(r"[\s-]", "", value or "")
    return code if CODE_PATTERN.match(code) else None
