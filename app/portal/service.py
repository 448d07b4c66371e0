"""Business rules of the victim portal: passwordless sign-in with one-time codes, revocable
server-side sessions, who may see which case, and the case as the victim reads it.

Services commit explicitly. Nothing personal goes to logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from app.agencies import catalogue
from app.cases import service as cases
from app.cases.models import Case, Victim
from app.core import csrf
from app.core.config import Settings
from app.core.db import utcnow
from app.core.i18n import LONDON, N_, Translator, normalise_language, translator
from app.core.ratelimit import Throttle
from app.notifications import dev_outbox, providers
from app.obligations import service as obligations
from app.portal import repository
from app.portal.models import PortalAction, PortalGrant, PortalSession, SignInChallenge
from app.portal.schemas import SignInForm

log = logging.getLogger(__name__)

# Throttles (moving windows). Per crime reference and per client address.
CODE_REQUESTS_PER_REFERENCE = "5/15minutes"
CODE_REQUESTS_PER_CLIENT = "20/15minutes"
CODE_TRIES_PER_REFERENCE = "15/15minutes"
CODE_TRIES_PER_CLIENT = "40/15minutes"
TOUCH_EVERY = timedelta(seconds=60)


# --- hashing and opaque ids ------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(secret_key: str, purpose: str, *parts: str) -> str:
    message = "\x1f".join((purpose, *parts)).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def identity_key(secret_key: str, role: str, channel: str, address: str, born: date) -> str:
    return keyed_hash(secret_key, "identity", role, channel, address.lower(), born.isoformat())


@lru_cache(maxsize=8)
def _entry_cipher_key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=16, salt=b"tmc-portal",
                info=b"entry-ids").derive(secret_key.encode())


def entry_public_id(secret_key: str, entry_pk: int) -> str:
    """A timeline entry's id in URLs: its row id through AES (a keyed permutation of one block),
    so it is opaque and unguessable, and needs no lookup table."""
    return entry_public_ids(secret_key, [entry_pk])[0]


def entry_public_ids(secret_key: str, entry_pks: list[int]) -> list[str]:
    """`entry_public_id` of each, through one cipher (ECB enciphers each block alone)."""
    encryptor = Cipher(algorithms.AES(_entry_cipher_key(secret_key)), modes.ECB()).encryptor()  # noqa: S305 - one block each, a permutation
    return [base64.urlsafe_b64encode(
        encryptor.update(b"tmc-entry" + b"\0" + pk.to_bytes(6, "big"))).decode()[:22]
        for pk in entry_pks]


def entry_pk_from_public_id(secret_key: str, public_id: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(public_id + "==")
    except (ValueError, TypeError):
        return None
    if len(raw) != 16 or len(public_id) != 22:
        return None
    decryptor = Cipher(algorithms.AES(_entry_cipher_key(secret_key)), modes.ECB()).decryptor()  # noqa: S305
    block = decryptor.update(raw) + decryptor.finalize()
    if not block.startswith(b"tmc-entry\0"):
        return None
    return int.from_bytes(block[10:], "big")


# --- sessions ------------------------------------------------------------------------------

@dataclass
class NewCookie:
    token: str
    max_age: int


def start_session(db: Session, settings: Settings, now: datetime | None = None,
                  language: str | None = None) -> tuple[PortalSession, str]:
    """A new anonymous session (it carries the CSRF token and the sign-in in progress)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = PortalSession(token_hash=token_hash(token), csrf_token=csrf.new_token(),
                        language=language, created_at=now, last_seen_at=now,
                        expires_at=now + timedelta(hours=settings.portal_session_max_hours))
    db.add(row)
    db.commit()
    return row, token


def _is_live(settings: Settings, row: PortalSession, now: datetime) -> bool:
    return (row.revoked_at is None and row.expires_at > now and
            now - row.last_seen_at <= timedelta(minutes=settings.portal_session_idle_minutes))


def _touch(db: Session, row: PortalSession, passive: bool, now: datetime) -> None:
    if not passive and now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()


@dataclass
class OpenedSession:
    """A request's browser session, if live; its grants (none before sign-in: read-only
    repository.GrantRecords, which `my_cases` takes as well); and, when the request's path
    names a case, that case if the grants reach it (else None: the caller 404s)."""

    row: PortalSession | None = None
    grants: list[Any] = field(default_factory=list)
    named_case: Access | None = None


def open_session(db: Session, settings: Settings, token: str | None, passive: bool = False,
                 public_id: str | None = None, now: datetime | None = None) -> OpenedSession:
    """The session behind a cookie and its grants, read in one statement on every portal
    request; with `public_id` (the case the path names), whether the grants reach that case
    in the same statement. Any visit but a passive one (the timeline's background poll)
    counts as activity for the idle timeout."""
    if not token:
        return OpenedSession()
    now = now or utcnow()
    reached = None
    if public_id is None:
        row, held = repository.session_with_grants(db, token_hash(token))
    else:
        row, held, reached = repository.session_with_grants_and_case(
            db, token_hash(token), public_id, VIEWED_CASE)
    if row is None or not _is_live(settings, row, now):
        return OpenedSession()
    _touch(db, row, passive, now)
    if row.signed_in_at is None:
        return OpenedSession(row)
    named = None
    if reached is not None:
        grant, victim, case, viewed = reached
        named = Access(case, victim, grant.role, public_id, viewed_before=viewed)  # type: ignore[arg-type]
    return OpenedSession(row, held, named)


def end_transaction(db: Session) -> None:
    """Ends a read-only transaction (nothing is expired), giving its connection back."""
    if db.in_transaction():
        db.commit()


def grants(db: Session, row: PortalSession | None) -> list[PortalGrant]:
    if row is None or row.signed_in_at is None:
        return []
    return list(repository.grants_of(db, row.id))


def sign_out(db: Session, row: PortalSession, now: datetime | None = None) -> None:
    row.revoked_at = now or utcnow()
    _record(db, row, "signed_out", None)
    db.commit()


def sign_out_everywhere(db: Session, row: PortalSession, now: datetime | None = None) -> int:
    """Ends every session, on any device, that holds any identity this session holds."""
    now = now or utcnow()
    keys = {g.identity_key for g in repository.grants_of(db, row.id)}
    _record(db, row, "signed_out_everywhere", None)
    ended = repository.revoke_sessions_with_identities(db, keys, now) if keys else 0
    row.revoked_at = now
    db.commit()
    return ended


def set_language(db: Session, row: PortalSession, language: str) -> str:
    row.language = normalise_language(language)
    _record(db, row, "changed_language", None, {"language": row.language})
    db.commit()
    return row.language


# --- sign-in with a one-time code ------------------------------------------------------------

@dataclass
class CodeRequest:
    throttled: bool = False
    sent: int = 0  # never shown: the page says the same whether or not the details matched
    to_send: list[providers.Outgoing] = field(default_factory=list)  # after the response


def _code_hash(secret_key: str, attempt_id: str, code: str) -> str:
    return keyed_hash(secret_key, "sign-in-code", attempt_id, code)


def _recipients(db: Session, case: Case | None, form: SignInForm) -> dict[str, Victim]:
    """Recorded addresses a code may go to, each with the victim it is for."""
    born = form.date_of_birth
    if case is None or born is None:
        return {}
    found: dict[str, Victim] = {}
    for victim in repository.victims_born_on(db, case.id, born):
        holder: Any = victim
        if form.role == "representative":
            holder = repository.representative_of(db, victim.id)
            if holder is None:
                continue
        elif not (victim.sms_allowed if form.channel == "sms" else victim.email_allowed):
            continue
        address = holder.mobile if form.channel == "sms" else holder.email
        if address:
            found.setdefault(address, victim)
    return found


def request_code(db: Session, settings: Settings, throttle: Throttle, row: PortalSession,
                 form: SignInForm, client: str, now: datetime | None = None) -> CodeRequest:
    """Sends a code to every matching recorded address. The answer never says whether the
    details matched, so the form cannot be used to find out who is a victim of what."""
    now = now or utcnow()
    reference_key = keyed_hash(settings.secret_key, "crime-reference", form.crime_reference)
    if not (throttle.hit(CODE_REQUESTS_PER_CLIENT, "code-request-client", client)
            and throttle.hit(CODE_REQUESTS_PER_REFERENCE, "code-request-ref", reference_key)):
        return CodeRequest(throttled=True)
    if row.pending_attempt:
        repository.end_attempt(db, row.pending_attempt, now)
    attempt_id = secrets.token_urlsafe(24)
    case = repository.case_by_reference(db, form.crime_reference)
    recipients = _recipients(db, case, form)
    to_send: list[providers.Outgoing] = []
    for address, victim in recipients.items():
        code = f"{secrets.randbelow(10**6):06d}"
        db.add(SignInChallenge(
            attempt_id=attempt_id, throttle_key=reference_key, role=form.role,
            channel=form.channel, address=address, date_of_birth=form.date_of_birth,
            code_hash=_code_hash(settings.secret_key, attempt_id, code),
            expires_at=now + timedelta(minutes=settings.portal_code_minutes), created_at=now))
        to_send += _hold(db, settings, _code_message(settings, form.channel, address, code,
                                                     victim))
    row.pending_attempt = attempt_id
    db.commit()
    return CodeRequest(sent=len(recipients), to_send=to_send)


def _code_message(settings: Settings, channel: str, address: str, code: str,
                  victim: Victim) -> providers.Outgoing:
    # Never the case, the offence or the service for a discreet victim: only the code.
    t = translator(victim.preferred_language)
    minutes = settings.portal_code_minutes
    if victim.discreet:
        body = t._("Your security code is {code}. It expires in {minutes} minutes.")
    else:
        body = t._("Your Track My Crime security code is {code}. It expires in {minutes} "
                   "minutes. Do not share it with anyone.")
    return _sign_in_message(channel, address, t._("Your security code"),
                            body.format(code=code, minutes=minutes))


def _sign_in_message(channel: str, to: str, subject: str, text: str) -> providers.Outgoing:
    """A code or a new-device alert: sent at once, not queued with case notifications (no
    notification row), since a code is useless once late and neither waits for digests or
    quiet hours."""
    return providers.Outgoing(0, channel, to, subject, text, f"<p>{html.escape(text)}</p>")


def _hold(db: Session, settings: Settings,
          message: providers.Outgoing) -> list[providers.Outgoing]:
    """The dev outbox captures a message in this transaction (a second SQLite writer would wait
    on us). A real provider's message is held, to be sent (`send_sign_in_messages`) once the
    transaction that recorded its code or session is committed: a provider may take its whole
    timeout to answer, and a transaction open that long holds a pooled connection (on SQLite,
    the write lock), so an outage would take every connection of the process; and a code that
    arrives is always one the service kept."""
    backend = settings.sms_backend if message.channel == "sms" else settings.email_backend
    if backend != "outbox":
        return [message]
    dev_outbox.capture(db, message.channel, message.to,
                       message.subject if message.channel == "email" else None, message.text)
    return []


def send_sign_in_messages(settings: Settings, messages: Sequence[providers.Outgoing]) -> None:
    """Sends held sign-in messages through the configured provider. The portal does this after
    its response has gone: how long the sign-in form takes to answer must not tell anyone
    whether the details matched (a provider takes 0.1 s to its 10 s timeout), and nobody waits
    for a slow provider."""
    for message in messages:
        provider = providers.direct_provider(settings, message.channel)
        try:
            provider.send(message)
        except providers.ProviderError as exc:
            # The page never says whether details matched, so the person simply asks again.
            log.warning("sign-in message not sent by %s: %s", provider.name, exc.code)


@dataclass
class CodeCheck:
    ok: bool = False
    throttled: bool = False
    expired: bool = False  # no live code left: ask for a new one
    token: str | None = None  # the new session cookie on success
    session: PortalSession | None = None
    to_send: list[providers.Outgoing] = field(default_factory=list)  # after the response


def verify_code(db: Session, settings: Settings, throttle: Throttle, row: PortalSession,
                code: str | None, client: str, device_id: str | None,
                now: datetime | None = None) -> CodeCheck:
    now = now or utcnow()
    attempt_id = row.pending_attempt
    if not attempt_id:
        return CodeCheck(expired=True)
    reference_key = repository.throttle_key_of_attempt(db, attempt_id) or "none"
    if not (throttle.hit(CODE_TRIES_PER_CLIENT, "code-try-client", client)
            and throttle.hit(CODE_TRIES_PER_REFERENCE, "code-try-ref", reference_key)):
        return CodeCheck(throttled=True)
    live = repository.spend_try(db, attempt_id, now, settings.portal_code_tries)
    if not live:
        db.commit()
        return CodeCheck(expired=True)
    matched = None
    if code is not None:
        wanted = _code_hash(settings.secret_key, attempt_id, code)
        matched = next((pk for pk, stored in live if hmac.compare_digest(stored, wanted)), None)
    challenge = repository.use_challenge(db, matched, now) if matched is not None else None
    if challenge is None:
        db.commit()
        return CodeCheck()
    repository.end_attempt(db, attempt_id, now)
    return _signed_in(db, settings, row, challenge, device_id, now)


def _signed_in(db: Session, settings: Settings, old: PortalSession, challenge: SignInChallenge,
               device_id: str | None, now: datetime) -> CodeCheck:
    """A fresh session (a new cookie: the pre-sign-in one is never promoted), keeping the
    grants the old one already held (adding another case), plus the one just proven."""
    held = list(repository.grants_of(db, old.id)) if old.signed_in_at else []
    old.revoked_at = now
    token = secrets.token_urlsafe(32)
    new = PortalSession(token_hash=token_hash(token), csrf_token=csrf.new_token(),
                        language=old.language, created_at=now, last_seen_at=now,
                        signed_in_at=now,
                        expires_at=now + timedelta(hours=settings.portal_session_max_hours))
    db.add(new)
    db.flush()
    proven = _grant_values(settings, challenge.role, challenge.channel, challenge.address,
                           challenge.date_of_birth)
    keep = {g.identity_key: {k: getattr(g, k) for k in proven} for g in held}
    keep.setdefault(proven["identity_key"], proven)
    for values in keep.values():
        db.add(PortalGrant(session_pk=new.id, **values))
    if old.pending_oidc_subject:
        repository.add_oidc_link(db, {"subject": old.pending_oidc_subject, **proven})
    alert = _check_device(db, challenge, proven["identity_key"], device_id, now)
    to_send = _hold(db, settings, alert) if alert else []
    _record(db, new, "signed_in", None, {"channel": challenge.channel, "role": challenge.role,
                                         "oidc_linked": bool(old.pending_oidc_subject)})
    db.commit()
    return CodeCheck(ok=True, token=token, session=new, to_send=to_send)


def _grant_values(settings: Settings, role: str, channel: str, address: str,
                  born: date) -> dict[str, Any]:
    return {"identity_key": identity_key(settings.secret_key, role, channel, address, born),
            "role": role, "channel": channel, "address": address, "date_of_birth": born}


def sign_in_with_links(db: Session, settings: Settings, old: PortalSession, subject: str,
                       device_id: str | None, now: datetime | None = None) -> CodeCheck:
    """OpenID Connect: a subject linked before (by a code) signs straight in; otherwise the
    subject waits on the session until a code proves who they are, then it is linked."""
    now = now or utcnow()
    links = list(repository.oidc_links(db, subject))
    if not links:
        old.pending_oidc_subject = subject
        db.commit()
        return CodeCheck()
    first, *others = links
    challenge = SignInChallenge(role=first.role, channel=first.channel, address=first.address,
                                date_of_birth=first.date_of_birth)
    old.pending_oidc_subject = None
    result = _signed_in(db, settings, old, challenge, device_id, now)
    assert result.session is not None
    for link in others:
        db.add(PortalGrant(session_pk=result.session.id, identity_key=link.identity_key,
                           role=link.role, channel=link.channel, address=link.address,
                           date_of_birth=link.date_of_birth))
    db.commit()
    return result


def _check_device(db: Session, challenge: SignInChallenge, key: str, device_id: str | None,
                  now: datetime) -> providers.Outgoing | None:
    """Remembers the device; the alert to the proven address when an identity that has signed
    in before does so from a device it has not used."""
    had_devices = repository.has_known_devices(db, key)
    device = device_id or secrets.token_urlsafe(32)  # no cookie: a device never seen before
    is_new = repository.add_known_device(db, key, token_hash(device))
    if not (is_new and had_devices):
        return None
    victims = _victims_for(db, challenge)
    discreet = any(v.discreet for v in victims)
    t = translator(victims[0].preferred_language if victims else "en")
    when = t.timestamp(now)
    if discreet:
        body = t._("A new device was used to sign in on {when}. If this was not you, "
                   "call 101.")
    else:
        body = t._("Track My Crime: someone signed in from a new device on {when}. If this was "
                   "not you, sign in and choose 'Sign out everywhere', then call 101.")
    return _sign_in_message(challenge.channel, challenge.address, t._("New sign-in"),
                            body.format(when=when))


def _victims_for(db: Session, challenge: SignInChallenge) -> list[Victim]:
    grant = PortalGrant(role=challenge.role, channel=challenge.channel, address=challenge.address,
                        date_of_birth=challenge.date_of_birth)
    return [victim for victim, _case in repository.victims_reached(db, grant)]


# --- who may see what --------------------------------------------------------------------------

@dataclass
class Access:
    """One case a signed-in person may see, as whom. `case` and `victim` are read-only records
    of every column (repository.CaseRecord, VictimRecord), not ORM objects."""

    case: Case
    victim: Victim
    role: str  # victim | representative
    public_id: str
    viewed_before: bool = False  # this session has already recorded a view of the case


def my_cases(db: Session, held: list[PortalGrant]) -> list[Access]:
    """Every case the session's grants reach, one row per case (newest report first)."""
    found: dict[int, tuple[Case, Victim, str]] = {}
    for grant in held:
        for victim, case in repository.victims_reached(db, grant):
            found.setdefault(case.id, (case, victim, grant.role))
    ids = _public_ids(db, set(found))
    return [Access(case, victim, role, ids[pk]) for pk, (case, victim, role) in found.items()]


def _public_ids(db: Session, case_pks: set[int]) -> dict[int, str]:
    ids = repository.public_ids(db, case_pks)
    missing = case_pks - set(ids)
    if missing:
        for pk in missing:
            repository.add_public_id(db, pk, secrets.token_urlsafe(16))
        db.commit()
        ids = repository.public_ids(db, case_pks)
    return ids


VIEWED_CASE = "viewed_case"


def record_view(db: Session, row: PortalSession, access: Access) -> None:
    """Records that this session opened the case, and as whom: once per session and case (the
    first view), not on every reload, which only repeated the same row."""
    if not access.viewed_before:
        record_action(db, row, access, VIEWED_CASE)
        access.viewed_before = True


def record_entries_shown(db: Session, access: Access, entry_pks: Sequence[int],
                         now: datetime | None = None) -> int:
    """The victim, or their representative (which counts for the victim, as a delivered
    message does), was shown these timeline entries now: evidence that they were informed of
    the events behind them (Victims' Code "victim informed" obligations, source
    `portal_view`). One query finds the events still waiting for that; usually there are
    none and nothing is written. Otherwise they are recorded in this request's transaction
    and committed. Returns how many events were recorded."""
    waiting = obligations.events_awaiting_portal_view(db, access.case.id, access.victim.id,
                                                      entry_pks)
    if not waiting:
        return 0
    recorded = obligations.record_portal_views(db, access.victim.id, waiting, now or utcnow())
    db.commit()
    return recorded


def default_language(row: PortalSession | None, accesses: list[Access]) -> str:
    if row is not None and row.language:
        return row.language
    if accesses:
        return normalise_language(accesses[0].victim.preferred_language)
    return "en"


def record_action(db: Session, row: PortalSession, access: Access | None, action: str,
                  detail: dict[str, Any] | None = None) -> None:
    """Records who did something: the victim, or their representative acting for them."""
    _record(db, row, action, access, detail)
    db.commit()


def _record(db: Session, row: PortalSession, action: str, access: Access | None,
            detail: dict[str, Any] | None = None) -> None:
    representative = None
    if access is not None and access.role == "representative":
        rep = repository.representative_of(db, access.victim.id)
        representative = rep.name if rep else None
    db.add(PortalAction(action=action, session_pk=row.id,
                        acting_role=access.role if access else None,
                        victim_pk=access.victim.id if access else None,
                        case_pk=access.case.id if access else None,
                        representative_name=representative, detail=detail or {}))


# --- the case as the victim reads it ----------------------------------------------------------

STAGES = {
    "investigation": (N_("Investigation"), N_(
        "The police are looking into what happened. They may speak to witnesses, collect "
        "evidence and question a suspect.")),
    "charged": (N_("Charged"), N_(
        "The Crown Prosecution Service has decided there is enough evidence and charged "
        "someone. The case will go to court.")),
    "at_court": (N_("At court"), N_(
        "The case is going through the courts. Your witness care officer will tell you about "
        "each hearing and whether you need to go.")),
    "sentenced": (N_("Sentenced"), N_(
        "The court has passed sentence. If the offender is in prison or on probation, the "
        "Probation Service may keep you informed.")),
    "closed": (N_("Closed"), N_(
        "The case has ended. Not every case ends at court: the police or the Crown Prosecution "
        "Service may decide to take no further action, or deal with it out of court (for "
        "example with a caution). You may have the right to ask for that decision to be "
        "reviewed.")),
}
ROLE_LABELS = {
    "oic": N_("Officer in charge"),
    "soit": N_("Specialist officer"),
    "supervisor": N_("Supervising officer"),
    "family_liaison": N_("Family liaison officer"),
    "witness_care": N_("Witness care officer"),
    "vlo": N_("Victim liaison officer"),
}
ROLE_ORDER = ("oic", "soit", "family_liaison", "supervisor", "witness_care", "vlo")
HEARING_STATUS = {"scheduled": N_("Scheduled"), "vacated": N_("Cancelled"),
                  "concluded": N_("Finished")}


@dataclass
class EntryView:
    public_id: str
    pk: int
    text: str
    agency: str
    when: str
    when_iso: str
    hearing: dict[str, str] | None = None


@dataclass
class TeamMember:
    role: str
    name: str
    agency: str | None
    team: str | None = None
    email: str | None = None
    phone: str | None = None
    working_pattern: str | None = None
    handover: str | None = None


@dataclass
class CasePage:
    access: Access
    stage: str
    entries: list[EntryView]
    team: list[TeamMember]
    hearings: list[dict[str, str]]
    next_steps: list[obligations.NextStep]  # "What happens next", soonest due first
    latest_entry_pk: int
    stages: list[dict[str, Any]] = field(default_factory=list)
    contact: Any = None  # app.contact.service.CasePanel
    rights: list[Any] = field(default_factory=list)  # app.entitlements.service.Right


@dataclass
class Officer:
    """The current holder of a role on the case, and whom they took over from."""

    assignment: Any  # officer_assignment row with its agency's name
    previous: Any | None


@dataclass
class CaseRecord:
    """What the victim's case page reads of the case record, as plain rows: the timeline
    (oldest first) with each entry's agency name, the officers by role, the hearings in date
    order."""

    timeline: list[Any]
    officers: dict[str, Officer]
    hearings: list[Any]


def case_record(db: Session, access: Access) -> CaseRecord:
    timeline = list(repository.timeline_rows(db, access.case.id, access.victim.id))
    officers: dict[str, Officer] = {}
    for row in repository.officer_rows(db, access.case.id):  # the last one per role wins
        previous = officers.get(row.role)
        officers[row.role] = Officer(row, previous.assignment if previous else None)
    hearings = cases.by_date(repository.hearing_rows(db, access.case.id))  # type: ignore[arg-type]
    return CaseRecord(timeline=timeline, officers=officers, hearings=hearings)


def _hearing_card(t: Translator, hearing_type: str | None, court: str | None,
                  address: str | None, starts_at: Any, window: dict[str, Any] | None,
                  status: str | None = None) -> dict[str, str]:
    card = {"type": t._(catalogue.HEARING_TYPES.get(hearing_type or "other", "court")),
            "court": court or "", "address": address or ""}
    if starts_at:
        moment = starts_at if isinstance(starts_at, datetime) else datetime.fromisoformat(
            starts_at)
        card["date"] = t.date(cases_local_date(moment))
        card["time"] = _time_only(t, moment)
    elif window and window.get("from") and window.get("to"):
        card["window"] = t._("Between {start} and {end}").format(
            start=t.date(str(window["from"])), end=t.date(str(window["to"])))
        card["window_hint"] = t._("This is a warned list: the court will confirm the exact day "
                                  "shortly before.")
    if status:
        card["status"] = t._(HEARING_STATUS.get(status, status))
        card["status_key"] = status
    return card


def cases_local_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def _time_only(t: Translator, moment: datetime) -> str:
    from babel.dates import format_time

    local = moment.astimezone(LONDON)
    if t.language == "en":
        return format_time(local, "h:mm a", locale="en_GB").lower()
    return format_time(local, "HH:mm", locale="cy_GB")


def _entry_view(public_id: str, entry: Any, t: Translator) -> EntryView:
    hearing = None
    if entry.type in ("hearing.scheduled", "hearing.changed"):
        p = entry.params
        hearing = _hearing_card(t, p.get("hearing_type"), p.get("court"), p.get("address"),
                                p.get("starts_at"), p.get("window"))
    return EntryView(public_id=public_id, pk=entry.id, text=cases.entry_text(entry, t),
                     agency=entry.agency_name or "", when=t.timestamp(entry.occurred_at),
                     when_iso=entry.occurred_at.isoformat(), hearing=hearing)


def _entry_views(settings: Settings, rows: Sequence[Any], t: Translator) -> list[EntryView]:
    """Newest first."""
    newest_first = list(reversed(rows))
    ids = entry_public_ids(settings.secret_key, [e.id for e in newest_first])
    return [_entry_view(public_id, e, t) for public_id, e in zip(ids, newest_first, strict=True)]


def timeline_entries(db: Session, settings: Settings, access: Access,
                     t: Translator) -> tuple[list[EntryView], int]:
    entries = _entry_views(settings, repository.timeline_rows(db, access.case.id,
                                                              access.victim.id), t)
    return entries, max((e.pk for e in entries), default=0)


def latest_entry_pk(db: Session, access: Access) -> int:
    return repository.latest_entry_pk(db, access.case.id, access.victim.id)


def _person(assignment: Any) -> str:
    return " ".join(x for x in (assignment.rank, assignment.name) if x)


def team_of(record: CaseRecord, access: Access, t: Translator) -> list[TeamMember]:
    members = []
    for role in sorted(record.officers, key=lambda r: ROLE_ORDER.index(r)
                       if r in ROLE_ORDER else 99):
        officer = record.officers[role]
        a = officer.assignment
        handover = None
        if officer.previous is not None:
            handover = t._("{new} took over from {old} on {date}.").format(
                new=_person(a), old=_person(officer.previous),
                date=t.date(cases_local_date(a.assigned_at)))
        members.append(TeamMember(
            role=t._(ROLE_LABELS.get(role, role)), name=_person(a), agency=a.agency_name,
            team=a.team, email=a.email, phone=a.phone, working_pattern=a.working_pattern,
            handover=handover))
    members.extend(_support_workers(record, access, t))
    return members


def _support_workers(record: CaseRecord, access: Access, t: Translator) -> list[TeamMember]:
    """From the victim's own support entries: the latest accepted referral, unless closed."""
    current = None
    for entry in record.timeline:  # oldest first
        if entry.victim_pk != access.victim.id:
            continue
        if entry.type == "support.accepted":
            current = entry
        elif entry.type == "support.closed":
            current = None
    if current is None:
        return []
    p = current.params
    return [TeamMember(role=t._("Support worker"), name=p.get("worker_name") or p["service"],
                       agency=p["service"] if p.get("worker_name") else
                       current.agency_name or "",
                       working_pattern=p.get("contact"))]


def stage_steps(stage: str, t: Translator) -> list[dict[str, Any]]:
    order = list(STAGES)
    current = order.index(stage) if stage in order else 0
    steps = []
    for index, key in enumerate(order):
        title, text = STAGES[key]
        steps.append({"key": key, "title": t._(title), "text": t._(text),
                      "current": index == current,
                      "done": index < current and stage != "closed"})
    return steps


def case_page(db: Session, settings: Settings, access: Access, t: Translator) -> CasePage:
    record = case_record(db, access)
    entries = _entry_views(settings, record.timeline, t)
    hearings = [_hearing_card(t, h.hearing_type, h.court, h.address, h.starts_at,
                              _window(h), h.status) for h in _hearings_soonest_first(record)]
    return CasePage(access=access, stage=access.case.stage, entries=entries,
                    team=team_of(record, access, t), hearings=hearings,
                    next_steps=obligations.next_steps(db, access.case, access.victim,
                                                      t.language),
                    latest_entry_pk=max((e.pk for e in entries), default=0),
                    stages=stage_steps(access.case.stage, t),
                    contact=contact_panel(db, record, access), rights=rights_summary(db, access))


def contact_panel(db: Session, record: CaseRecord, access: Access) -> Any:
    """The "Contact" panel, given the officers this page already read."""
    from app.contact import service as contact

    names = {role: _person(officer.assignment) for role, officer in record.officers.items()}
    return contact.case_panel(db, access.case.id, access.victim.id, names)


def rights_summary(db: Session, access: Access) -> list[Any]:
    """The "Your rights" panel: the rights the victim can use or is using."""
    from app.entitlements import service as entitlements

    return list(entitlements.case_page_rights(db, access.case, access.victim))


def _window(h: Any) -> dict[str, Any] | None:
    if h.window_from and h.window_to:
        return {"from": h.window_from.isoformat(), "to": h.window_to.isoformat()}
    return None


def _hearings_soonest_first(record: CaseRecord) -> list[Any]:
    def key(h: Any) -> tuple[int, str]:
        when = h.starts_at.date() if h.starts_at else h.window_from
        return (0 if h.status == "scheduled" else 1, when.isoformat() if when else "9999")
    return sorted(record.hearings, key=key)


def find_entry(db: Session, settings: Settings, access: Access, public_id: str,
               t: Translator) -> EntryView | None:
    entry_pk = entry_pk_from_public_id(settings.secret_key, public_id)
    if entry_pk is None:
        return None
    entry = repository.timeline_row(db, entry_pk)
    if entry is None or entry.case_pk != access.case.id or \
            entry.victim_pk not in (None, access.victim.id):
        return None
    return _entry_view(entry_public_id(settings.secret_key, entry.id), entry, t)
