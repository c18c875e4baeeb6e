"""200 agents asking for contacts at once: no contact reserved twice, none lost."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import yaml
from websockets.asyncio.client import connect

from conformance.server import build_service, running_service
from conformance.server.state import Status
from server_helpers import TIMEOUT, api_by_op, ask, run

AGENTS = [f"agent-{i:03}@example.com" for i in range(200)]
CONSENT, NON_CONSENT, WANTED = 1000, 50, 7  # 200 x 7 = 1400 asked for, 1000 to give
GRMDC, SMDC = api_by_op("reserve"), api_by_op("skip")
TEMPLATE = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "seed.yaml").read_text())["contacts"][0]


def seed() -> dict:
    contacts = [
        {**TEMPLATE, "ContactID": i, "AccountNumber": f"9|9|9|0|0|00|{i}", "PhoneNumber": f"555{i:07}",
         "Consent": "Yes" if i < CONSENT else "No"}
        for i in range(CONSENT + NON_CONSENT)
    ]
    return {"agents": AGENTS, "outcomes": {"business": [100]}, "contacts": contacts}


def download(agent: str, *, reserved: bool, count: int) -> dict:
    return {"channel": "LCM", "topic": "Webservice", "subtopic": GRMDC.name, "source": "tests",
            "data": {"AgentID": agent, "NumberOfContactsRequired": str(count), "Consent": True,
                     "ReservedContacts": reserved}}


def skip(agent: str, contact: dict) -> dict:
    return {"channel": "LCM", "topic": "Webservice", "subtopic": SMDC.name, "source": "tests",
            "data": {"UserId": agent, "OutcomeId": 100, "AccountNumber": contact["AccountNumber"],
                     "PhoneNumber": contact["PhoneNumber"]}}


def ids(reply: dict) -> list[int]:
    return [c["ContactID"] for c in reply["message"]["response"]]


def test_200_concurrent_agents_never_share_a_contact_and_none_is_lost():
    service = build_service(seed=seed(), dialect="tables")

    async def main():
        async with running_service(service) as url:
            sockets = await asyncio.gather(*(connect(url, open_timeout=TIMEOUT) for _ in AGENTS))
            try:
                pairs = list(zip(AGENTS, sockets, strict=True))
                first = await asyncio.gather(*(ask(ws, download(a, reserved=False, count=WANTED)) for a, ws in pairs))
                again = await asyncio.gather(*(ask(ws, download(a, reserved=True, count=50)) for a, ws in pairs))
                skips = await asyncio.gather(
                    *(ask(ws, skip(a, reply["message"]["response"][0]))
                      for (a, ws), reply in zip(pairs, first, strict=True) if ids(reply))
                )
                after = await asyncio.gather(*(ask(ws, download(a, reserved=True, count=50)) for a, ws in pairs))
                return first, again, skips, after
            finally:
                await asyncio.gather(*(ws.close() for ws in sockets))

    first, again, skips, after = run(main(), timeout=60)
    handed = [i for reply in first for i in ids(reply)]
    assert all(len(ids(reply)) <= WANTED for reply in first)
    assert not [i for i, n in Counter(handed).items() if n > 1], "a contact was reserved to two agents"
    assert sorted(handed) == list(range(CONSENT)), "every consent contact handed out exactly once"
    assert [ids(r) for r in again] == [ids(r) for r in first], "each agent gets back exactly what it holds"
    assert all(s["message"]["response"]["success"] is True for s in skips)
    assert [ids(r) for r in after] == [ids(r)[1:] for r in first], "a skipped contact never comes back"
    statuses = Counter(c.status for c in service.state.contacts.values())
    assert statuses == {Status.RESERVED: CONSENT - len(skips), Status.CLOSED: len(skips), Status.OPEN: NON_CONSENT}
