"""The signed-in member of staff as every staff page sees it, and the staff forms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.core.i18n import N_
from app.staff.models import ROLES

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


@dataclass(frozen=True)
class StaffUser:
    pk: int
    subject: str
    email: str
    name: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


@dataclass
class DevSignInForm:
    email: str = ""
    name: str = ""
    roles: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def parse_dev_sign_in(email: str, name: str, roles: list[str]) -> DevSignInForm:
    form = DevSignInForm(email.strip(), name.strip(), [r for r in roles if r in ROLES])
    if not EMAIL.match(form.email):
        form.errors["email"] = N_("Enter an email address like name@example.com")
    if not form.name or len(form.name) > 200:
        form.errors["name"] = N_("Enter a name of up to 200 characters")
    if not form.roles or len(form.roles) != len(set(roles)):
        form.errors["roles"] = N_("Choose at least one role")
    return form


@dataclass
class AgencyForm:
    agency_id: str = ""
    kind: str = ""
    name: str = ""
    endpoint_url: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def parse_agency(agency_id: str, kind: str, name: str, endpoint_url: str) -> AgencyForm:
    from app.agencies.models import AGENCY_KINDS
    from app.agencies.service import AGENCY_ID_PATTERN

    form = AgencyForm(agency_id.strip(), kind.strip(), name.strip(), endpoint_url.strip())
    if not AGENCY_ID_PATTERN.match(form.agency_id):
        form.errors["agency_id"] = N_("Enter an id of lower-case letters, digits and hyphens, "
                                      "like met-police")
    if form.kind not in AGENCY_KINDS:
        form.errors["kind"] = N_("Choose the kind of agency")
    if not form.name or len(form.name) > 200:
        form.errors["name"] = N_("Enter the agency's name (up to 200 characters)")
    if form.endpoint_url and not _acceptable_endpoint(form.endpoint_url):
        form.errors["endpoint_url"] = N_("Enter an https:// address, or leave it empty")
    return form


def _acceptable_endpoint(url: str) -> bool:
    """https, or plain http to this machine only (a local agency simulator)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if len(url) > 2000 or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http"
                                       and parts.hostname in ("127.0.0.1", "localhost"))
