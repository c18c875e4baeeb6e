"""Scripted agent applications: each sends one kind of request, the way an app would.

``tables`` writes every API's request as the tables do, ``samples`` sends the pages'
sample requests as they are, ``no-agent`` forgets a mandatory row (AgentID),
``unknown-subtopic`` asks for an API no page documents. ``serve --judge`` and ``audit``
must give them PASS, NON-STRICT, FAIL and FAIL, per requirement.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import connect

from conformance.messages import build_request
from conformance.profile import default_profile
from conformance.spec import load_spec

SPEC = load_spec()
PROFILE = default_profile("ws://127.0.0.1/")
REPLY_WAIT = 2.0
"""Seconds an app waits for each reply (the reference server answers in milliseconds)."""

VALUES: dict[str, dict[str, Any]] = {
    "GetReservedManualDialContact": {"AgentID": PROFILE.agent, "NumberOfContactsRequired": 1, "Consent": True,
                                     "ReservedContacts": False},
    "SkipManualDialContact": {"UserId": PROFILE.agent, "AccountNumber": "0|1|234|0|0|00|1234",
                              "PhoneNumber": "2082097345", "OutcomeId": PROFILE.fixtures.business_outcome_id},
    "ManualDialCall": {"PhoneNumber": PROFILE.fixtures.phone_number},
    "SkipNonPEWCContact": {"UserId": PROFILE.agent},
    "SetCallOutcomeWithComments": {"callid": PROFILE.fixtures.call_id, "AccountNumber": PROFILE.fixtures.account_number,
                                   "OutcomeID": PROFILE.fixtures.telephony_outcome_id, "UserID": PROFILE.agent},
}


def requests(app: str) -> list[dict[str, Any]]:
    """The messages one app sends, in order."""
    if app == "tables":
        return [build_request(SPEC, api, "tables", values) for api, values in VALUES.items()]
    if app == "samples":
        return [sample.message for api in SPEC.apis.values() for sample in api.sample_requests]
    if app == "no-agent":
        message = build_request(SPEC, "GetReservedManualDialContact", "tables", VALUES["GetReservedManualDialContact"])
        del message["data"]["AgentID"]
        return [message]
    if app == "unknown-subtopic":
        message = build_request(SPEC, "ManualDialCall", "tables", VALUES["ManualDialCall"])
        return [{**message, "subtopic": "GetAllTheContacts"}]
    raise ValueError(f"no app {app!r}")


APPS = ("tables", "samples", "no-agent", "unknown-subtopic")


async def use(url: str, app: str) -> list[str]:
    """Run one app against an endpoint: each request, then its reply (or nothing in time)."""
    replies = []
    async with connect(url) as ws:
        for message in requests(app):
            await ws.send(json.dumps(message))
            try:
                replies.append(str(await asyncio.wait_for(ws.recv(), REPLY_WAIT)))
            except TimeoutError:
                replies.append("")
    return replies
