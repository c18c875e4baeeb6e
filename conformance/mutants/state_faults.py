"""Faulty state rules: proxies of the reference :class:`State`, each bending one rule.

A proxy delegates everything to the clean state and overrides one of the methods the
handlers call (``reserve``, ``skip``, ``skip_non_consent``, ``set_call_outcome``), using
only the state's public data and methods, so the reference's own rules stay as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ..server.state import Call, Contact, ContactNotFound, State, Status, UnknownAgent


class StateProxy:
    """The clean state, seen through a fault."""

    def __init__(self, inner: State) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _known(self, agent: str) -> None:
        if agent not in self.inner.agents:
            raise UnknownAgent(agent)

    def _in(self, status: Status, consent: bool) -> list[Contact]:
        return [c for c in self.inner.contacts.values() if c.status is status and c.consent == consent]


class SharedPool(StateProxy):
    """New contacts are handed out but never taken from the open pool."""

    def reserve(self, agent: str, count: int, *, consent: bool, reserved: bool) -> list[Contact]:
        if reserved:
            return self.inner.reserve(agent, count, consent=consent, reserved=True)
        self._known(agent)
        return self._in(Status.OPEN, consent)[:count]


class OverDelivery(StateProxy):
    """An off-by-one: one more new contact than asked for."""

    def reserve(self, agent: str, count: int, *, consent: bool, reserved: bool) -> list[Contact]:
        return self.inner.reserve(agent, count + (not reserved), consent=consent, reserved=reserved)


class ConsentIgnored(StateProxy):
    """The Consent flag is ignored: every download is of consent contacts."""

    def reserve(self, agent: str, count: int, *, consent: bool, reserved: bool) -> list[Contact]:
        return self.inner.reserve(agent, count, consent=True, reserved=reserved)


class RefetchEmpty(StateProxy):
    """Asking for the reserved contacts finds none."""

    def reserve(self, agent: str, count: int, *, consent: bool, reserved: bool) -> list[Contact]:
        if reserved:
            self._known(agent)
            return []
        return self.inner.reserve(agent, count, consent=consent, reserved=False)


class RefetchIgnored(StateProxy):
    """The ReservedContacts flag is ignored: every download hands out new contacts."""

    def reserve(self, agent: str, count: int, *, consent: bool, reserved: bool) -> list[Contact]:
        return self.inner.reserve(agent, count, consent=consent, reserved=False)


class RefetchAllAgents(StateProxy):
    """Asking for the reserved contacts lists every agent's, not only the asker's."""

    def reserve(self, agent: str, count: int, *, consent: bool, reserved: bool) -> list[Contact]:
        if not reserved:
            return self.inner.reserve(agent, count, consent=consent, reserved=False)
        self._known(agent)
        return self._in(Status.RESERVED, consent)[:count]


class SkipKeepsOpen(StateProxy):
    """A skip reports success but leaves the contact reserved."""

    def skip(self, agent: str, outcome: str, *, account: str, phone: str) -> Contact:
        valid = outcome in self.inner.telephony_outcomes | self.inner.business_outcomes
        for contact in self.inner.held_by(agent) if valid else ():
            if contact.account == account and contact.phone == phone:
                return contact
        return self.inner.skip(agent, outcome, account=account, phone=phone)


class ClosedInRefetch(StateProxy):
    """The reserved contacts listed are those ever reserved to the agent, closed ones too."""

    def __init__(self, inner: State) -> None:
        super().__init__(inner)
        self.closed: dict[str, list[Contact]] = defaultdict(list)

    def skip(self, agent: str, outcome: str, *, account: str, phone: str) -> Contact:
        contact = self.inner.skip(agent, outcome, account=account, phone=phone)
        self.closed[agent].append(contact)
        return contact

    def reserve(self, agent: str, count: int, *, consent: bool, reserved: bool) -> list[Contact]:
        found = self.inner.reserve(agent, count, consent=consent, reserved=reserved)
        if reserved:
            found += [c for c in self.closed[agent] if c.consent == consent]
        return found[:count]


class SkipRecycles(StateProxy):
    """A skipped contact goes back to the head of the queue of new contacts."""

    def __init__(self, inner: State) -> None:
        super().__init__(inner)
        self.recycled: dict[bool, list[Contact]] = defaultdict(list)

    def skip(self, agent: str, outcome: str, *, account: str, phone: str) -> Contact:
        contact = self.inner.skip(agent, outcome, account=account, phone=phone)
        self.recycled[contact.consent].append(contact)
        return contact

    def reserve(self, agent: str, count: int, *, consent: bool, reserved: bool) -> list[Contact]:
        if reserved:
            return self.inner.reserve(agent, count, consent=consent, reserved=True)
        again = self.recycled[consent][:count]
        del self.recycled[consent][: len(again)]
        return again + self.inner.reserve(agent, count - len(again), consent=consent, reserved=False)


class SkipClosedAgain(StateProxy):
    """Skipping a contact that is already closed succeeds again (an 'idempotent' skip)."""

    def skip(self, agent: str, outcome: str, *, account: str, phone: str) -> Contact:
        try:
            return self.inner.skip(agent, outcome, account=account, phone=phone)
        except ContactNotFound:
            for contact in self.inner.contacts.values():
                if contact.status is Status.CLOSED and contact.account == account and contact.phone == phone:
                    return contact
            raise


class NonConsentSkipTakesAny(StateProxy):
    """With no non-consent contact held, the non-PEWC skip closes any contact the agent holds."""

    def skip_non_consent(self, agent: str) -> Contact:
        try:
            return self.inner.skip_non_consent(agent)
        except ContactNotFound:
            held = self.inner.held_by(agent)
            if not held:
                raise
            outcome = min(self.inner.telephony_outcomes | self.inner.business_outcomes)
            return self.inner.skip(agent, outcome, account=held[0].account, phone=held[0].phone)


class NonConsentSkipAlwaysSucceeds(StateProxy):
    """The non-PEWC skip succeeds even when the agent has fetched no contact at all."""

    def skip_non_consent(self, agent: str) -> Contact | None:
        try:
            return self.inner.skip_non_consent(agent)
        except (ContactNotFound, UnknownAgent):
            return None


class UnknownCallCreated(StateProxy):
    """An outcome for a call id nobody knows creates that call instead of being refused."""

    def set_call_outcome(self, callid: str, *, agent: str, account: str, outcome: str,
                         details: Mapping[str, Any]) -> Call:
        if callid and callid not in self.inner.calls:
            self.inner.calls[callid] = Call(callid, account)
        return self.inner.set_call_outcome(callid, agent=agent, account=account, outcome=outcome, details=details)


class EmptyCallidMeansCurrent(StateProxy):
    """An empty call id is taken to mean the account's call (a 'current call' fallback)."""

    def set_call_outcome(self, callid: str, *, agent: str, account: str, outcome: str,
                         details: Mapping[str, Any]) -> Call:
        if callid == "":
            calls = self.inner.calls.values()
            callid = next((c.callid for c in calls if c.account == account), next(iter(self.inner.calls), ""))
        return self.inner.set_call_outcome(callid, agent=agent, account=account, outcome=outcome, details=details)
