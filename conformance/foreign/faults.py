"""Deliberate faults of the foreign target: its mutants.

Each fault breaks one rule the pages state (its requirement id is the spec's, as the
reference server's mutants use) and nothing else; a mutation run serves the foreign
target with one of them and the suite must FAIL it. They are hooks of a subclass of the
dispatcher (:class:`FaultyTarget`): the clean target in :mod:`.target` knows nothing of
them, and none borrows anything from the reference server or its mutants.

Serve one: ``python -m conformance.foreign.target --fault state.over-delivery``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .target import Choices, Json, Problem, Route, State, Target, pick, read, status

GRMDC, SMDC, MDC = "GetReservedManualDialContact", "SkipManualDialContact", "ManualDialCall"
SNPC, SCOC = "SkipNonPEWCContact", "SetCallOutcomeWithComments"


@dataclass(frozen=True)
class Fault:
    """What one fault breaks: the requirement id of the rule, and what it gets wrong."""

    requirement: str
    description: str
    fast: bool = False
    """In the fast subset of a mutation run."""


FAULTS: dict[str, Fault] = {
    # -- the envelope
    "envelope.subtopic-of-request": Fault(
        "SMDC.response.envelope.subtopic",
        "SkipManualDialContact answers under its request subtopic, not SkipManualDialContactResult", fast=True),
    # -- fields, and the forms a request may take
    "fields.contactid-string": Fault(
        "GRMDC.response.message.response.ContactID", "a contact's ContactID is sent as a string, not a Number"),
    "fields.rejects-sample-count": Fault(
        "GRMDC.sample.request.1",
        "the sample's spelling NumberofContactsRequired is refused as a missing NumberOfContactsRequired"),
    "fields.rejects-yes-consent": Fault(
        "GRMDC.sample.request.1", "the sample's Consent \"Yes\" is refused: only true and false are read"),
    # -- the echo laws
    "echo.phone-dropped": Fault(
        "MDC.response.message.data", "the ManualDialCall echo leaves the phone number out of its data", fast=True),
    "echo.callid-dropped": Fault(
        "SCOC.response.message.callid", "SetCallOutcomeWithComments does not echo the call id"),
    # -- state
    "state.over-delivery": Fault(
        "GRMDC.request.data.NumberOfContactsRequired",
        "one new contact more than NumberOfContactsRequired is handed out", fast=True),
    "state.consent-ignored": Fault(
        "GRMDC.request.data.Consent", "Consent is ignored: non-consent requests get consent contacts"),
    "state.refetch-ignored": Fault(
        "GRMDC.request.data.ReservedContacts", "ReservedContacts true is ignored: new contacts are reserved"),
    "state.shared-reservation": Fault(
        "GRMDC.request.data.ReservedContacts",
        "contacts handed to one agent stay at the head of the pool: the next agent gets them too"),
    "state.skip-recycles": Fault(
        "SMDC.request.data.AccountNumber", "a skipped contact is reopened and handed out again"),
    "state.skip-closed-again": Fault(
        "SMDC.request.data.AccountNumber", "skipping a contact that is already closed succeeds again"),
    # -- the documented errors, and what the tables forbid
    "errors.empty-callid-accepted": Fault(
        "SCOC.error.1", "an empty call id is accepted and the outcome recorded"),
    "errors.unknown-callid-accepted": Fault(
        "SCOC.error.2", "an unknown call id creates the call, and the outcome is recorded", fast=True),
    "errors.missing-account-served": Fault(
        "SCOC.request.data.AccountNumber",
        "an outcome without its mandatory AccountNumber is recorded against the call's account"),
    "errors.non-pewc-nothing-succeeds": Fault(
        "SNPC.sample.response.2", "SkipNonPEWCContact says success when the agent holds no non-PEWC contact"),
    # -- robustness
    "robustness.silent-non-pewc": Fault(
        "SNPC.response.envelope.subtopic", "a valid SkipNonPEWCContact request never gets a reply"),
    "robustness.close-after-reply": Fault(
        "GRMDC.request.envelope.channel", "the connection is closed after every reply to a valid request",
        fast=True),
    # -- security
    "security.token-ignored": Fault(
        "profile.headers", "the opening handshake is accepted without the operator's token"),
}
"""Every fault by name (area first): the foreign target's mutants."""


def _contacts(result: Json) -> list[Json]:
    shown = result.get("response")
    return [c for c in (shown if isinstance(shown, list) else [shown]) if isinstance(c, dict)]


class FaultyTarget(Target):
    """The foreign dispatcher with deliberate faults switched on."""

    def __init__(self, choices: Choices, state: State, faults: Iterable[str]) -> None:
        super().__init__(choices, state)
        self.faults = frozenset(faults)
        unknown = sorted(self.faults - FAULTS.keys())
        if unknown:
            raise ValueError(f"unknown foreign fault(s): {', '.join(unknown)}; known: {', '.join(FAULTS)}")
        self.checks_token = "security.token-ignored" not in self.faults
        self._served = False

    def on(self, name: str) -> bool:
        return name in self.faults

    def answer(self, raw: str | bytes) -> tuple[Json | None, bool]:
        self._served = False
        reply, close = super().answer(raw)
        if reply is None or not self._served:
            return reply, close
        if self.on("robustness.silent-non-pewc") and reply.get("subtopic") == "SkipNonPEWCContactResult":
            return None, close
        return reply, close or self.on("robustness.close-after-reply")

    def serve(self, route: Route, req: Json) -> Json:
        sub, data = req["subtopic"], req.get("data")
        if not isinstance(data, dict):
            return super().serve(route, req)
        if sub == GRMDC and self.on("fields.rejects-sample-count") and "NumberofContactsRequired" in data:
            raise Problem("bad", "NumberOfContactsRequired is missing")
        if sub == GRMDC and self.on("fields.rejects-yes-consent") and isinstance(pick(data, "Consent"), str) \
                and str(pick(data, "Consent")).lower() in ("yes", "no"):
            raise Problem("bad", "Consent must be true or false")
        if sub == SCOC:
            return self._outcome(route, req, data)
        return super().serve(route, req)

    def _outcome(self, route: Route, req: Json, data: Json) -> Json:
        callid: Any = pick(data, "callid")
        if callid == "" and self.on("errors.empty-callid-accepted"):
            self.st.calls.setdefault("", {"AccountNumber": str(pick(data, "AccountNumber")), "outcomes": []})
            return self.call(route, read(data, route.fields, self.c) | {"callid": ""}, req)
        known = self.st.calls.get(str(callid)) if isinstance(callid, str | int) else None
        if isinstance(callid, str) and callid and known is None and self.on("errors.unknown-callid-accepted"):
            known = self.st.calls[callid] = {"AccountNumber": str(pick(data, "AccountNumber")), "outcomes": []}
        if known is not None and pick(data, "AccountNumber") is None and self.on("errors.missing-account-served"):
            req = copy.deepcopy(req)
            req["data"]["AccountNumber"] = known["AccountNumber"]
        return super().serve(route, req)

    def call(self, route: Route, args: Json, req: Json) -> Json:
        sub = req["subtopic"]
        if sub == GRMDC:
            return self._download(route, args, req)
        if sub == SMDC:
            return self._skip(route, args, req)
        result = super().call(route, args, req)
        self._served = True
        if sub == MDC and self.on("echo.phone-dropped") and isinstance(result.get("data"), dict):
            result["data"] = {k: v for k, v in result["data"].items() if k.lower() != "phonenumber"}
        if sub == SCOC and self.on("echo.callid-dropped"):
            result.pop("callid", None)
        if sub == SNPC and self.on("errors.non-pewc-nothing-succeeds"):
            for body in result["response"] if isinstance(result["response"], list) else [result["response"]]:
                body["success"] = True
                body.pop("msg", None)
        return result

    def _download(self, route: Route, args: Json, req: Json) -> Json:
        args = dict(args)
        if self.on("state.refetch-ignored"):
            args["ReservedContacts"] = False
        if self.on("state.consent-ignored"):
            args["Consent"] = True
        if self.on("state.over-delivery") and not args["ReservedContacts"] and args["NumberOfContactsRequired"] > 0:
            args["NumberOfContactsRequired"] += 1
        pool = list(self.st.queue)
        result = super().call(route, args, req)
        self._served = True
        if self.on("state.shared-reservation"):
            self.st.queue[:0] = [cid for cid in pool if cid not in self.st.queue]
        if self.on("fields.contactid-string"):
            for contact in _contacts(result):
                for key in ("ContactID", "ContactId"):
                    if key in contact:
                        contact[key] = str(contact[key])
        return result

    def _skip(self, route: Route, args: Json, req: Json) -> Json:
        cid = self.st.by_account(args["AccountNumber"])
        if cid is not None and cid in self.st.closed and self.on("state.skip-closed-again"):
            self._served = True
            return {"response": status(True, self.c)}
        result = super().call(route, args, req)
        self._served = True
        if cid is not None and self.on("state.skip-recycles"):
            self.st.closed.discard(cid)
            self.st.queue.insert(0, cid)
        return result

    def envelope(self, subtopic: str, message: Json, req: Json) -> Json:
        if subtopic == "SkipManualDialContactResult" and self.on("envelope.subtopic-of-request"):
            subtopic = SMDC
        return super().envelope(subtopic, message, req)
