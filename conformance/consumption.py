"""What a run takes from the target: contacts reserved, skipped, calls given an outcome.

A vendor's test campaign is finite and long-lived, so ``results.json`` reports what each
run consumed and the README says how much to prepare. Counted from the exchanges alone
(pure; no I/O): a download of new contacts (ReservedContacts false: Get Reserved Manual
Dial Contact, Data Parameters table) reserves what it hands out; a skip that succeeds
(Skip Manual Dial Contact and Skip Non-PEWC Contact: Overview) closes a contact; an
outcome recorded (Set Telephony Outcome) is set on a call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .messages import items, member, truthy
from .protocol import Exchange
from .refusals import error_sign, succeeded

RESERVES = "GetReservedManualDialContact"
SKIPS = ("SkipManualDialContact", "SkipNonPEWCContact")
CLOSES = "SetCallOutcomeWithComments"


@dataclass
class Ledger:
    """The run's consumption so far (shared by the cases and the property runs)."""

    reserved: int = 0
    skipped: int = 0
    closed: int = 0

    def tally(self, exchange: Exchange) -> None:
        """Count what one answered exchange took from the target."""
        if not exchange.answered:
            return
        try:
            request = json.loads(exchange.request)
        except ValueError:
            return
        self.count(request, exchange.message)

    def count(self, request: Any, reply: Any) -> None:
        """Count what a request and its reply took (both parsed messages)."""
        if not isinstance(request, dict) or not isinstance(reply, dict):
            return
        data = request.get("data")
        api = request.get("subtopic")
        message = reply.get("message")
        if api == RESERVES and not truthy(member(data, "ReservedContacts")) and error_sign(message) is None:
            self.reserved += len(items(member(message, "response")))
        elif api in SKIPS and succeeded(message):
            self.skipped += 1
        elif api == CLOSES and succeeded(message):
            self.closed += 1

    def to_json(self) -> dict[str, int]:
        return {"reserved": self.reserved, "skipped": self.skipped, "closed": self.closed}
