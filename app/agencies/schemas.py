"""Schemas of the agency event envelope and of each event type's `data` (contract s.3, s.5).

Unknown extra fields are ignored. Text meant for victims is length-limited; phone numbers are
normalised to E.164 with libphonenumber.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)


def _must_be_string(value: Any) -> Any:
    # pydantic would otherwise read numbers as Unix times; the contract says RFC 3339.
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 string")
    return value


def _to_e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    # "Possible" (right length for its country), not "valid": Ofcom's drama ranges, which
    # synthetic test people use, are not allocated and so fail the stricter check.
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Timestamp = Annotated[AwareDatetime, BeforeValidator(_must_be_string)]
Day = Annotated[date, BeforeValidator(_must_be_string)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
Mobile = Annotated[str, StringConstraints(max_length=32), AfterValidator(_to_e164)]
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
TextList = Annotated[list[Text], Field(max_length=50)]

OffenceGroup = Literal[
    "violence", "sexual", "domestic_abuse", "stalking_harassment", "hate", "robbery",
    "burglary", "theft", "criminal_damage", "fraud", "homicide", "other",
]
DISCREET_BY_DEFAULT = frozenset({"sexual", "domestic_abuse", "stalking_harassment"})
EnhancedCategory = Literal[
    "most_serious_crime", "persistently_targeted", "vulnerable", "intimidated", "bereaved_family"
]
Measure = Literal[
    "screens", "live_link", "evidence_in_private", "removal_of_wigs_and_gowns",
    "video_recorded_evidence_in_chief", "pre_recorded_cross_examination", "intermediary",
    "communication_aids",
]
VrrFlag = Annotated[bool | None, Field(default=None)]


class Data(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    occurred_at: Timestamp
    crime_reference: Annotated[str, StringConstraints(min_length=1, max_length=64,
                                                      pattern=r"^[\x20-\x7e]+$")]
    data: dict[str, Any]


# --- shared pieces -------------------------------------------------------------------------

class QuietHours(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: HHMM = Field(alias="from")
    to: HHMM


class ContactPreferences(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sms_allowed: bool = True
    email_allowed: bool = True
    discreet: bool | None = None  # None: the default for the case's offence group
    quiet_hours: QuietHours | None = None


class Representative(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: ShortText
    relationship: ShortText | None = None
    email: EmailStr | None = None
    mobile: Mobile | None = None


class Victim(BaseModel):
    model_config = ConfigDict(extra="ignore")

    victim_ref: Ref
    given_name: ShortText
    family_name: ShortText
    date_of_birth: Day | None = None
    email: EmailStr | None = None
    mobile: Mobile | None = None
    preferred_language: LanguageTag = "en"
    enhanced_rights: Annotated[list[EnhancedCategory], Field(max_length=5)] = []
    contact: ContactPreferences = ContactPreferences()
    needs: TextList = []
    representative: Representative | None = None


class VictimRefData(Data):
    victim_ref: Ref


class SummaryData(Data):
    summary: Text | None = None


class HearingWindow(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: Day = Field(alias="from")
    to: Day

    @model_validator(mode="after")
    def _ordered(self) -> HearingWindow:
        if self.to < self.from_:
            raise ValueError("window 'to' is before 'from'")
        return self


# --- police -------------------------------------------------------------------------------

class CaseOpened(Data):
    crime_type: ShortText
    offence_group: OffenceGroup
    borough: ShortText
    reported_at: Timestamp | Day
    victims: Annotated[list[Victim], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _unique_victim_refs(self) -> CaseOpened:
        refs = [v.victim_ref for v in self.victims]
        if len(refs) != len(set(refs)):
            raise ValueError("victim_ref values must be unique within the case")
        return self


class VictimChanged(Data):
    victim: Victim


class OfficerAssigned(Data):
    role: Literal["oic", "soit", "supervisor", "family_liaison"]
    name: ShortText
    rank: ShortText | None = None
    team: ShortText | None = None
    email: EmailStr | None = None
    phone: ShortText | None = None
    working_pattern: ShortText | None = None


class AgencyLinked(Data):
    agency_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class InvestigationUpdate(Data):
    message: Text
    victim_ref: Ref | None = None


class SuspectBailed(Data):
    bail_conditions: TextList = []
    return_date: Day | None = None


class BailConditionsChanged(Data):
    bail_conditions: TextList


class InvestigationClosed(Data):
    outcome: Literal[
        "no_further_action", "no_suspect_identified", "evidential_difficulties",
        "victim_withdrew", "other",
    ]
    explanation: Text | None = None
    vrr_eligible: VrrFlag


class OutOfCourtDisposal(Data):
    disposal: Literal["caution", "conditional_caution", "community_resolution", "penalty_notice"]
    details: Text | None = None


class SupportReferred(Data):
    victim_ref: Ref
    service: ShortText
    consent: Literal[True]


# --- cps ----------------------------------------------------------------------------------

class ChargingDecision(Data):
    decision: Literal["charge", "no_further_action", "out_of_court_disposal"]
    charges: TextList = []
    explanation: Text | None = None
    vrr_eligible: VrrFlag


class ChargesAltered(Data):
    charges: TextList
    explanation: Text | None = None
    vrr_eligible: VrrFlag


class ProsecutionDiscontinued(Data):
    explanation: Text | None = None
    vrr_eligible: VrrFlag


# --- witness care -------------------------------------------------------------------------

class ContactPerson(Data):
    name: ShortText
    email: EmailStr | None = None
    phone: ShortText | None = None


class WitnessHearing(Data):
    victim_ref: Ref
    hearing_id: Ref


class SpecialMeasuresDecided(Data):
    victim_ref: Ref
    granted: Annotated[list[Measure], Field(max_length=8)] = []
    refused: Annotated[list[Measure], Field(max_length=8)] = []


class PretrialVisitOffered(Data):
    victim_ref: Ref
    court: ShortText | None = None


# --- court --------------------------------------------------------------------------------

HearingType = Literal["first_appearance", "plea", "trial", "sentence", "bail", "appeal", "other"]


class HearingScheduled(Data):
    hearing_id: Ref
    hearing_type: HearingType
    court: ShortText
    address: ShortText | None = None
    starts_at: Timestamp | None = None
    window: HearingWindow | None = None

    @model_validator(mode="after")
    def _time_or_window(self) -> HearingScheduled:
        if (self.starts_at is None) == (self.window is None):
            raise ValueError("give either starts_at or window, not both or neither")
        return self


class HearingChanged(Data):
    hearing_id: Ref
    court: ShortText | None = None
    address: ShortText | None = None
    starts_at: Timestamp | None = None
    window: HearingWindow | None = None
    reason: Text | None = None

    @model_validator(mode="after")
    def _not_both(self) -> HearingChanged:
        if self.starts_at is not None and self.window is not None:
            raise ValueError("give starts_at or window, not both")
        return self


class HearingVacated(Data):
    hearing_id: Ref
    reason: Text | None = None


class HearingOutcome(Data):
    hearing_id: Ref
    outcome: Literal[
        "adjourned", "guilty_plea", "not_guilty_plea", "convicted", "acquitted", "dismissed",
        "other",
    ]
    remand: Literal["custody", "bail", "none"] | None = None
    bail_conditions: TextList = []
    summary: Text | None = None


class SentencePassed(Data):
    sentence: Text
    custody_months: Annotated[float, Field(ge=0, le=1200)] | None = None


# --- probation ----------------------------------------------------------------------------

class ParoleHearingScheduled(Data):
    date: Day | None = None


class ReleaseScheduled(Data):
    release_month: Month | None = None
    release_date: Day | None = None
    licence_conditions: Text | TextList | None = None


class OffenderReleased(Data):
    licence_conditions: Text | TextList | None = None


# --- support service ----------------------------------------------------------------------

class SupportAccepted(Data):
    victim_ref: Ref
    service: ShortText
    worker_name: ShortText | None = None
    contact: ShortText | None = None


# --- replies to victim requests -----------------------------------------------------------

class RequestAcknowledged(Data):
    request_id: Ref


class RequestCompleted(Data):
    request_id: Ref
    decision: Literal["done", "granted", "refused", "upheld", "not_upheld"]
    explanation: Text | None = None
