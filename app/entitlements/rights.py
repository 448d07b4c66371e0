"""The state machine of every right, in one place.

Each right moves through the same seven states; what differs is which moves it allows and what
triggers them. `RIGHTS[right].next(state, trigger)` is the only way a stored state changes: a
move the table does not list raises `InvalidTransition` and nothing changes.

Triggers:
- `opens` / `lapses`: the case reached the point where the right applies / no longer can be used
  (derived from the case's events: `app.entitlements.service.facts_for`);
- `request`, `update`, `decline`, `reconsider`: the victim acting in the portal;
- `acknowledged`, `completed`: the agency's reply (`request.acknowledged`,
  `request.completed`); `decided`: the agency decided without a reply to a request
  (`special_measures.decided`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.i18n import N_

NOT_YET, AVAILABLE, REQUESTED, ACKNOWLEDGED = (
    "not_yet_available", "available", "requested", "acknowledged")
COMPLETED, DECLINED, EXPIRED = "completed", "declined", "expired"
STATES = (NOT_YET, AVAILABLE, REQUESTED, ACKNOWLEDGED, COMPLETED, DECLINED, EXPIRED)

OPENS, LAPSES = "opens", "lapses"
REQUEST, UPDATE, DECLINE, RECONSIDER = "request", "update", "decline", "reconsider"
ACK, COMPLETE, DECIDED = "acknowledged", "completed", "decided"
TRIGGERS = (OPENS, LAPSES, REQUEST, UPDATE, DECLINE, RECONSIDER, ACK, COMPLETE, DECIDED)
VICTIM_TRIGGERS = frozenset({REQUEST, UPDATE, DECLINE, RECONSIDER})

VPS, VRR, SPECIAL_MEASURES, RJ, VCS, SUPPORT = (
    "vps", "vrr", "special_measures", "restorative_justice", "victim_contact_scheme", "support")

STATE_LABELS = {
    NOT_YET: N_("Not yet available"),
    AVAILABLE: N_("Available"),
    REQUESTED: N_("Sent"),
    ACKNOWLEDGED: N_("Received by the agency"),
    COMPLETED: N_("Done"),
    DECLINED: N_("You said no"),
    EXPIRED: N_("No longer available"),
}
# GOV.UK tag colours per state
STATE_TAGS = {NOT_YET: "grey", AVAILABLE: "blue", REQUESTED: "yellow", ACKNOWLEDGED: "purple",
              COMPLETED: "green", DECLINED: "grey", EXPIRED: "grey"}


class InvalidTransition(ValueError):
    """The right does not allow this move from its current state."""

    def __init__(self, right: str, state: str, trigger: str) -> None:
        super().__init__(f"{right}: cannot {trigger} when {state}")
        self.right, self.state, self.trigger = right, state, trigger


class Unavailable(ValueError):
    """The case is not at a point where this can be done (nobody yet to send it to, no trial to
    visit): like InvalidTransition, a conflict with where things stand, not a form filled in
    wrongly (that is EntitlementError). `errors` maps where the page says so to what it says."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Machine:
    right: str
    # (state, trigger) -> new state
    moves: dict[tuple[str, str], str]

    def next(self, state: str, trigger: str) -> str:
        try:
            return self.moves[(state, trigger)]
        except KeyError:
            raise InvalidTransition(self.right, state, trigger) from None

    def allows(self, state: str, trigger: str) -> bool:
        return (state, trigger) in self.moves


# Moves every right shares: it opens, the victim asks, the agency replies.
_OPEN = {(NOT_YET, OPENS): AVAILABLE}
_ASK = {(AVAILABLE, REQUEST): REQUESTED}
_REPLIES = {(REQUESTED, ACK): ACKNOWLEDGED, (REQUESTED, COMPLETE): COMPLETED,
            (ACKNOWLEDGED, COMPLETE): COMPLETED}
_SAY_NO = {(AVAILABLE, DECLINE): DECLINED, (DECLINED, RECONSIDER): AVAILABLE}
_LAPSE_UNUSED = {(NOT_YET, LAPSES): EXPIRED, (AVAILABLE, LAPSES): EXPIRED,
                 (DECLINED, LAPSES): EXPIRED}
# Sent again with changes (a VPS may be updated until sentence; VCS choices at any time).
_CHANGE = {(REQUESTED, UPDATE): REQUESTED, (ACKNOWLEDGED, UPDATE): REQUESTED,
           (COMPLETED, UPDATE): REQUESTED}

RIGHTS: dict[str, Machine] = {m.right: m for m in (
    # Right 7. From charge until sentence; written, updated, or help asked for; may say no
    # and change their mind until sentence.
    Machine(VPS, {**_OPEN, **_ASK, **_REPLIES, **_SAY_NO, **_LAPSE_UNUSED, **_CHANGE}),
    # VRR. One per decision with vrr_eligible; the window lapses (police 3 months, CPS accepts
    # up to 3 months). A request cannot be changed, only answered.
    Machine(VRR, {**_OPEN, **_ASK, **_REPLIES, **_SAY_NO, **_LAPSE_UNUSED}),
    # Right 8 (YJCEA 1999 ss.23-30). Between charge and trial; the court's decision completes
    # it whether or not the victim asked.
    Machine(SPECIAL_MEASURES, {**_OPEN, **_ASK, **_REPLIES, **_SAY_NO, **_LAPSE_UNUSED,
                               (AVAILABLE, DECIDED): COMPLETED, (REQUESTED, DECIDED): COMPLETED,
                               (ACKNOWLEDGED, DECIDED): COMPLETED,
                               (DECLINED, DECIDED): COMPLETED}),
    # Right 2 (information about restorative justice). Any time; never lapses.
    Machine(RJ, {**_OPEN, **_ASK, **_REPLIES, **_SAY_NO,
                 (COMPLETED, REQUEST): REQUESTED}),
    # Right 11. Eligible from the sentence; opt in (with a contact level) or out; both can be
    # changed at any time.
    Machine(VCS, {**_OPEN, **_ASK, **_REPLIES, **_SAY_NO, **_CHANGE,
                  (REQUESTED, DECLINE): DECLINED, (ACKNOWLEDGED, DECLINE): DECLINED,
                  (COMPLETED, DECLINE): DECLINED}),
    # Right 4. From the report; self-referral with consent, or no thanks; may ask again later.
    Machine(SUPPORT, {**_OPEN, **_ASK, **_REPLIES, **_SAY_NO,
                      (COMPLETED, REQUEST): REQUESTED}),
)}


def machine(right: str) -> Machine:
    try:
        return RIGHTS[right]
    except KeyError:
        raise ValueError(f"unknown right {right!r}") from None
