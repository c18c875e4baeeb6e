"""The reference server's world: agents, contacts, calls and outcome ids.

Pure data and rules, with no I/O and no doc vocabulary: the service core maps requests
onto these methods and their answers onto replies. Every method checks before it
changes anything, so a refused request leaves the state as it was; and none of them
yields, so a caller that runs them on one event loop applies each request atomically
(which is what keeps a contact from being reserved to two agents at once).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..messages import outcome_key as outcome_key  # re-exported: the handlers import it from here


class Status(enum.Enum):
    """Where a contact is in its life: handed out at most once, closed for good."""

    OPEN = "open"
    RESERVED = "reserved"
    CLOSED = "closed"


@dataclass
class Contact:
    """A contact to dial; ``record`` is what a download shows of it."""

    contact_id: int
    account: str
    phone: str
    consent: bool
    record: Mapping[str, Any]
    status: Status = Status.OPEN
    agent: str | None = None
    outcome: str | None = None


@dataclass
class Call:
    """A call the campaign manager knows, and the outcome recorded for it (if any)."""

    callid: str
    account: str
    outcome: Mapping[str, Any] | None = None


class Refused(Exception):
    """A well-formed request that the state does not allow; the text says why."""


class UnknownAgent(Refused):
    def __init__(self, agent: str) -> None:
        super().__init__(f"agent {agent!r} is not logged in")


class ContactNotFound(Refused):
    pass


class UnknownOutcome(Refused):
    def __init__(self, outcome: str, kinds: str) -> None:
        super().__init__(f"outcome id {outcome!r} is not a known {kinds} outcome")


class InvalidCallId(Refused):
    """The call id is empty (``empty``) or names no known call."""

    def __init__(self, callid: str) -> None:
        self.empty = callid == ""
        super().__init__("the call id is empty" if self.empty else f"no call has id {callid!r}")


class WrongAccount(Refused):
    def __init__(self, callid: str, account: str) -> None:
        super().__init__(f"call {callid!r} is not a call of account {account!r}")


class State:
    """Agents, contacts, calls and the outcome ids the campaign manager accepts."""

    def __init__(
        self,
        *,
        agents: Iterable[str],
        contacts: Iterable[Contact],
        calls: Iterable[Call] = (),
        telephony_outcomes: Iterable[str | int] = (),
        business_outcomes: Iterable[str | int] = (),
    ) -> None:
        self.agents = frozenset(agents)
        self.contacts: dict[int, Contact] = {}
        self.calls = {call.callid: call for call in calls}
        self.telephony_outcomes = frozenset(map(outcome_key, telephony_outcomes))
        self.business_outcomes = frozenset(map(outcome_key, business_outcomes))
        # Ordered sets (dicts with None values): the open pool per consent type and
        # the contacts each agent holds, both in seed order.
        self._open: dict[bool, dict[int, None]] = {True: {}, False: {}}
        self._held: dict[str, dict[int, None]] = {agent: {} for agent in self.agents}
        for contact in contacts:
            self._add(contact)

    def _add(self, contact: Contact) -> None:
        if contact.contact_id in self.contacts:
            raise ValueError(f"two contacts have id {contact.contact_id}")
        if (contact.status is Status.RESERVED) != (contact.agent is not None):
            raise ValueError(f"contact {contact.contact_id}: reserved exactly when it has an agent")
        if contact.agent is not None and contact.agent not in self.agents:
            raise ValueError(f"contact {contact.contact_id} is reserved to unknown agent {contact.agent!r}")
        self.contacts[contact.contact_id] = contact
        if contact.status is Status.OPEN:
            self._open[contact.consent][contact.contact_id] = None
        elif contact.status is Status.RESERVED:
            self._held[contact.agent][contact.contact_id] = None  # type: ignore[index]

    def _check_agent(self, agent: str) -> None:
        if agent not in self.agents:
            raise UnknownAgent(agent)

    def held_by(self, agent: str) -> list[Contact]:
        """The contacts reserved to an agent, in the order they were handed out."""
        return [self.contacts[i] for i in self._held.get(agent, {})]

    def reserve(self, agent: str, count: int, *, consent: bool, reserved: bool) -> list[Contact]:
        """Hand an agent at most ``count`` contacts of one consent type.

        ``reserved`` re-sends contacts the agent already holds; otherwise open contacts
        are taken from the pool and become the agent's.
        """
        self._check_agent(agent)
        if count < 0:
            raise ValueError("count must not be negative")
        if reserved:
            return [c for c in self.held_by(agent) if c.consent == consent][:count]
        pool, held = self._open[consent], self._held[agent]
        taken = [self.contacts[i] for i in list(pool)[:count]]
        for contact in taken:
            del pool[contact.contact_id]
            held[contact.contact_id] = None
            contact.status, contact.agent = Status.RESERVED, agent
        return taken

    def _close(self, contact: Contact, outcome: str | None) -> None:
        del self._held[contact.agent][contact.contact_id]  # type: ignore[index]
        contact.status, contact.agent, contact.outcome = Status.CLOSED, None, outcome

    def skip(self, agent: str, outcome: str, *, account: str, phone: str) -> Contact:
        """Close the agent's open contact with this account and phone, recording an outcome."""
        self._check_agent(agent)
        if outcome not in self.telephony_outcomes | self.business_outcomes:
            raise UnknownOutcome(outcome, "telephony or business")
        for contact in self.held_by(agent):
            if contact.account == account and contact.phone == phone:
                self._close(contact, outcome)
                return contact
        raise ContactNotFound(
            f"agent {agent!r} holds no open contact with account {account!r} and phone {phone!r}"
        )

    def skip_non_consent(self, agent: str) -> Contact:
        """Close the first non-consent contact reserved to the agent."""
        self._check_agent(agent)
        for contact in self.held_by(agent):
            if not contact.consent:
                self._close(contact, None)
                return contact
        raise ContactNotFound(f"agent {agent!r} holds no non-consent contact")

    def set_call_outcome(
        self, callid: str, *, agent: str, account: str, outcome: str, details: Mapping[str, Any]
    ) -> Call:
        """Record the telephony outcome of a known call of this account (``details``: the request)."""
        call = self.calls.get(callid)
        if call is None:
            raise InvalidCallId(callid)
        self._check_agent(agent)
        if call.account != account:
            raise WrongAccount(callid, account)
        if outcome not in self.telephony_outcomes:
            raise UnknownOutcome(outcome, "telephony")
        call.outcome = dict(details)
        return call

