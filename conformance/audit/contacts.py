"""What a whole trace shows about contacts: who holds each one, which are closed (pure).

Learnt from the replies alone, as a long-lived target's state is learnt by the cases: a
download hands contacts to the agent that asked (and a re-fetch says which it holds), a
skip that succeeds closes a contact (Skip Manual Dial Contact: Overview). What the trace
cannot show is forgotten rather than guessed: a non-PEWC skip closes one of the agent's
contacts (a non-consent one only by our reading, D-25) but does not say which, so they
all become unknown; an outcome set for a contact's account may change its state, so it
does too. A reservation is taken to last until its ExpiryTime (a response row; the pages
do not say what follows it): one that the trace's clock shows lapsing while it was
recorded is kept in :attr:`Held.expires`, and what rests on it is judged as inferred.
The sample writes ExpiryTime without a time zone, so it is read as any zone may have it
(``SLACK``): it lapsed only if it is past in every zone, and only counts if it was not
already past in every zone when handed out (the reference server hands out the sample's).

Connections run side by side, and a reply recorded first may have been served second, so
a fact counts for a request only when it was learnt before the request went out
(``before``): what changed while the request was on its way is not held against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ..checks import contact_ids
from ..messages import member, outcome_key, to_table_type, truthy
from ..spec import Api

ROLES: Final[Mapping[str, Mapping[str, str]]] = {
    "GetReservedManualDialContact": {"agent": "AgentID", "count": "NumberOfContactsRequired", "consent": "Consent",
                                     "reserved": "ReservedContacts"},
    "SkipManualDialContact": {"agent": "UserId", "account": "AccountNumber", "phone": "PhoneNumber",
                              "outcome": "OutcomeId"},
    "SkipNonPEWCContact": {"agent": "UserId"},
    "SetCallOutcomeWithComments": {"agent": "UserID", "account": "AccountNumber", "callid": "callid",
                                   "outcome": "OutcomeID"},
    "ManualDialCall": {"phone": "PhoneNumber"},
}
"""What each Data Parameters row is, by its table name: who asks, which contact, how many.
``tests/test_audit.py`` holds every name to its page's table."""


SLACK: Final = 14 * 3600.0
"""How far a wall time without a zone may be from UTC (UTC-12 to UTC+14), in seconds."""
EXPIRY_FORMAT: Final = "%m/%d/%Y %H:%M:%S"
"""ExpiryTime as the overlay gives it (MM/DD/YYYY HH:MM:SS, as the sample writes it)."""


def wall_clock(started: str | None) -> float | None:
    """The trace header's start (ISO 8601) in seconds since the epoch, or None."""
    try:
        moment = datetime.fromisoformat(started) if started else None
    except ValueError:
        return None
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def expiry(value: Any) -> float | None:
    """An ExpiryTime read as UTC, in seconds since the epoch (None: not in its format)."""
    try:
        return datetime.strptime(str(value), EXPIRY_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def canonical(api: Api, data: Any) -> dict[str, Any]:
    """A request's data under the table names, in the table types (``Yes`` is true, 1 is
    "1"): two requests written in different forms compare equal when they ask the same."""
    out: dict[str, Any] = {}
    for row in api.request_data:
        value = member(data, row.name)
        if value is None:
            continue
        try:
            out[row.name] = to_table_type(row, value)
        except (TypeError, ValueError):
            out[row.name] = value
    return out


def role(api: Api, values: Mapping[str, Any], name: str) -> Any:
    """A request's value for one role (``agent``, ``account``, ...), or None."""
    row = ROLES.get(api.name, {}).get(name)
    return values.get(row) if row is not None else None


def _ref(contact: Any) -> dict[str, Any]:
    """The least of a contact that keeps its identity (``checks.contact_ids``), for messages."""
    if not isinstance(contact, dict):
        return {"contact": contact}
    for name in ("AccountNumber", "ContactID"):
        value = member(contact, name)
        if value is not None:
            return {name: value}
    return dict(contact)


def _key(contact: Any) -> str | None:
    keys = contact_ids([contact])
    return next(iter(keys)) if keys else None


@dataclass
class Held:
    """One contact the trace has seen handed out."""

    ref: dict[str, Any]
    holder: str | None
    consent: bool | None
    phone: str | None
    since: float
    """When the trace learnt its holder or its closing (the reply's time)."""
    closed: str | None = None
    """Where the skip that closed it is (a trace line), or None while it is open."""
    expires: float | None = None
    """Its ExpiryTime (as UTC, seconds since the epoch) when it may lapse during the trace."""
    expiry: str = ""
    """That ExpiryTime as the reply wrote it, for messages."""

    def known(self, before: float) -> bool:
        return self.since < before


@dataclass(frozen=True)
class InFlight:
    """What requests still awaiting their replies may be changing: contacts a skip or an
    outcome names, and agents with a non-PEWC skip (one of their contacts: which one, the
    pages do not say, D-25)."""

    accounts: frozenset[str] = frozenset()
    releasing: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()
    """Agents with any request in flight that may change what they hold."""

    def touches(self, key: str, held: Held) -> bool:
        return key in self.accounts or held.holder in self.releasing


NOTHING: Final = InFlight()


class Contacts:
    """The trace's contacts by identity, and each agent's."""

    def __init__(self) -> None:
        self.origin: float | None = None
        """The trace's start on the wall clock (seconds since the epoch), once its header says."""
        self._by_key: dict[str, Held] = {}
        self._agents: dict[str, set[str]] = {}
        self._changed: dict[str, float] = {}

    def get(self, account: Any) -> Held | None:
        """A contact by its LCM key (what a skip names it by)."""
        return self._by_key.get(str(account)) if account is not None else None

    def changed(self, agent: str) -> float:
        """When the trace last learnt a change to what ``agent`` holds (-inf: never)."""
        return self._changed.get(agent, float("-inf"))

    def _change(self, agent: str | None, now: float) -> None:
        if agent is not None:
            self._changed[agent] = max(now, self.changed(agent))

    def held(self, agent: str, consent: bool | None, before: float, busy: InFlight = NOTHING
             ) -> list[dict[str, Any]]:
        """The contacts the trace shows ``agent`` held before ``before`` (of one consent
        type, when given), but those a request still in flight (``busy``) may change."""
        return [h.ref for k in sorted(self._agents.get(agent, ())) if (h := self._by_key[k]).closed is None
                and h.known(before) and not busy.touches(k, h) and (consent is None or h.consent is consent)]

    def elsewhere(self, agent: str, contacts: Iterable[Any], before: float, busy: InFlight = NOTHING
                  ) -> list[dict[str, Any]]:
        """Those of ``contacts`` another agent held before ``before`` (and still does)."""
        return [h.ref for c in contacts if (k := _key(c)) is not None
                and (h := self._by_key.get(k)) is not None and h.closed is None and h.holder is not None
                and h.holder != agent and h.known(before) and not busy.touches(k, h)]

    def closed(self, contacts: Iterable[Any], before: float) -> list[dict[str, Any]]:
        """Those of ``contacts`` a skip closed before ``before``."""
        return [h.ref for c in contacts if (h := self._by_key.get(_key(c) or "")) is not None and h.closed
                and h.known(before)]

    def lapsed(self, contacts: Iterable[Any], at: float) -> list[str]:
        """Which of ``contacts`` (as :meth:`held` and :meth:`elsewhere` give them) may no
        longer be reserved at trace time ``at``: their ExpiryTime passed in every time zone."""
        if self.origin is None:
            return []
        now = self.origin + at
        gone = [h for c in contacts if (h := self._by_key.get(_key(c) or "")) is not None
                and h.expires is not None and now > h.expires + SLACK]
        return [" ".join(f"{k} {v}" for k, v in h.ref.items()) + f" expired at {h.expiry}" for h in gone]

    def _expires(self, contact: Any, now: float) -> float | None:
        """A contact's ExpiryTime when, handed out at trace time ``now``, it may lapse later."""
        at = expiry(member(contact, "ExpiryTime"))
        live = at is not None and self.origin is not None and at + SLACK > self.origin + now
        return at if live else None

    def hand_out(self, agent: str, contacts: Iterable[Any], asked_consent: Any, now: float) -> None:
        """Contacts a download gave ``agent``: now its own, until their ExpiryTime."""
        for contact in contacts:
            key = _key(contact)
            if key is None:
                continue
            own = member(contact, "Consent")
            consent = truthy(own) if own is not None else (truthy(asked_consent) if asked_consent is not None else None)
            phone = member(contact, "PhoneNumber")
            previous = self._by_key.get(key)
            if previous is not None and previous.holder is not None:
                self._agents.get(previous.holder, set()).discard(key)
                self._change(previous.holder, now)
            self._change(agent, now)
            # a closed contact stays closed, and one the agent already held has held it since then
            kept = previous if previous is not None and (previous.closed or previous.holder == agent) else None
            self._by_key[key] = Held(_ref(contact), agent, consent, None if phone is None else str(phone),
                                     kept.since if kept else now, kept.closed if kept else None,
                                     self._expires(contact, now), str(member(contact, "ExpiryTime")))
            self._agents.setdefault(agent, set()).add(key)

    def close(self, account: Any, where: str, now: float) -> None:
        """A skip of this contact succeeded: it is closed for good."""
        held = self.get(account)
        if held is None or held.closed is not None:
            return
        if held.holder is not None:
            self._agents.get(held.holder, set()).discard(str(account))
            self._change(held.holder, now)
        held.holder, held.closed, held.since = None, where, now

    def forget(self, account: Any, now: float) -> None:
        """Something the trace cannot read changed this contact: stop judging by it."""
        held = self._by_key.pop(str(account), None) if account is not None else None
        if held is not None and held.holder is not None:
            self._agents.get(held.holder, set()).discard(str(account))
            self._change(held.holder, now)

    def forget_agent(self, agent: str, now: float) -> None:
        """One of the agent's contacts changed, the trace does not say which."""
        self._change(agent, now)
        for key in list(self._agents.get(agent, ())):
            self.forget(key, now)


def outcome_matches(row_value: Any, known: Iterable[str], api: Api, row_name: str) -> bool:
    """Whether an outcome id a request sends is one the target profile names as valid."""
    if row_value is None:
        return False
    row = api.field(f"request.data.{row_name}")
    wanted = {outcome_key(to_table_type(row, k)) for k in known if k}
    try:
        return outcome_key(to_table_type(row, row_value)) in wanted
    except (TypeError, ValueError):
        return False
