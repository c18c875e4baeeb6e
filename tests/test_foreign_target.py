"""The foreign target on its own (no suite): loopback only, every wait bounded."""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

import conformance.foreign
from conformance.foreign.faults import FAULTS
from conformance.foreign.target import Choices, ForeignTarget, parse_choice

UNSOLICITED = {"Connected", "Heartbeat"}
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(conformance.foreign.__file__).resolve().parent


def run(body: Callable[[str], Awaitable[None]], target: ForeignTarget | None = None) -> None:
    async def main() -> None:
        async with target or ForeignTarget(contacts=4) as url:
            await asyncio.wait_for(body(url), 2.0)

    asyncio.run(main())


async def ask(ws: ClientConnection, subtopic: str, data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    await ws.send(json.dumps({"channel": "LCM", "topic": "Webservice", "subtopic": subtopic, "data": data} | envelope))
    return await reply(ws)


async def reply(ws: ClientConnection, wait: float = 1.0) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait))
        if frame["subtopic"] not in UNSOLICITED:
            return frame


def reserve(agent: str, n: Any = 1, consent: Any = True, reserved: Any = False) -> dict[str, Any]:
    return {"AgentID": agent, "NumberOfContactsRequired": n, "Consent": consent, "ReservedContacts": reserved}


def test_grmdc_answers_on_download_contacts_with_at_most_n_of_the_type() -> None:
    async def body(url: str) -> None:
        async with connect(url) as ws:
            page_form = {"AgentID": "ann", "NumberofContactsRequired": 1, "Consent": "Yes", "ReservedContacts": "false"}
            r = await ask(ws, "GetReservedManualDialContact", page_form, topic="WebService")
            assert r["subtopic"] == "DownloadContactsForDialing" and r["topic"] == "WebService"
            [contact] = r["message"]["response"]
            assert contact["Consent"] == "true" and isinstance(contact["ContactID"], int)
            r = await ask(ws, "GetReservedManualDialContact", reserve("ann", "9", consent=False))
            assert len(r["message"]["response"]) == 4 and {c["Consent"] for c in r["message"]["response"]} == {"false"}
            r = await ask(ws, "GetReservedManualDialContact", reserve("ann", 9, reserved=True))
            assert [c["ContactID"] for c in r["message"]["response"]] == [contact["ContactID"]]

    run(body)


def test_two_agents_never_share_a_contact() -> None:
    async def body(url: str) -> None:
        async with connect(url) as ws:
            a = (await ask(ws, "GetReservedManualDialContact", reserve("ann", 3)))["message"]["response"]
            b = (await ask(ws, "GetReservedManualDialContact", reserve("bob", 3)))["message"]["response"]
            assert len(a) == 3 and len(b) == 1
            assert not {c["ContactID"] for c in a} & {c["ContactID"] for c in b}

    run(body)


def test_skipped_contact_is_closed_and_cannot_be_skipped_twice() -> None:
    target = ForeignTarget(contacts=2)

    async def body(url: str) -> None:
        async with connect(url) as ws:
            [c] = (await ask(ws, "GetReservedManualDialContact", reserve("ann")))["message"]["response"]
            skip = {"OutcomeId": 100, "UserID": "ann", "AccountNumber": c["AccountNumber"],
                    "PhoneNumber": c["PhoneNumber"]}
            r = await ask(ws, "SkipManualDialContact", skip)
            assert r["subtopic"] == "SkipManualDialContactResult" and r["message"]["response"]["success"] is True
            again = await ask(ws, "SkipManualDialContact", skip)
            assert again["subtopic"] == "WS_Error"
        async with connect(url) as ws:  # state outlasts the connection
            for reserved in (True, False):
                r = await ask(ws, "GetReservedManualDialContact", reserve("ann", 5, reserved=reserved))
                assert c["ContactID"] not in [x["ContactID"] for x in r["message"]["response"]]

    run(body, target)
    assert target.state.closed == {7000}


def test_snpc_succeeds_only_with_a_reserved_non_consent_contact() -> None:
    async def body(url: str) -> None:
        async with connect(url) as ws:
            r = await ask(ws, "SkipNonPEWCContact", {"userID": "ann"})
            assert r["subtopic"] == "SkipNonPEWCContactResult"
            [status] = r["message"]["response"]
            assert status["success"] is False and status["msg"]
            await ask(ws, "GetReservedManualDialContact", reserve("ann", 1, consent=False))
            [status] = (await ask(ws, "SkipNonPEWCContact", {"UserId": "ann"}))["message"]["response"]
            assert status["success"] is True

    run(body)


def test_scoc_echoes_callid_and_refuses_empty_or_unknown_ids() -> None:
    async def body(url: str) -> None:
        fields = {"AccountNumber": "5|3|1|0|0|44|1", "OutcomeId": 1, "LeadScore": 0, "UserID": "t",
                  "AgentComments": "c", "TargetAmount": 0}
        async with connect(url) as ws:
            r = await ask(ws, "SetCallOutcomeWithComments", {"callid": "12345"} | fields)
            assert r["subtopic"] == "SetCallOutcomeWithCommentsResult"
            assert r["message"]["callid"] == "12345" and r["message"]["response"]["success"] is True
            for callid, actual in (("", "Callid is empty"), ("999", "Invalid Call ID:999")):
                r = await ask(ws, "SetCallOutcomeWithComments", {"callid": callid} | fields)
                assert r["subtopic"] == "WS_Error"
                assert r["message"]["Message"] == "Invalid Call ID." and r["message"]["ActualError"] == actual

    run(body)


def test_manual_dial_call_echoes_both_forms() -> None:
    async def body(url: str) -> None:
        async with connect(url) as ws:
            r = await ask(ws, "ManualDialCall", {"PhoneNumber": "+12345678900"}, channel="Amazon", topic="InboundCall")
            assert r["subtopic"] == "ManualDialCall"
            echo = r["message"]
            assert (echo["Subtopic"], echo["Topic"], echo["Channel"]) == ("ManualDialCall", "InboundCall", "Amazon")
            assert echo["data"]["PhoneNumber"] == "+12345678900"
            r = await ask(ws, "ManualDialCall", {"PhoneNumber": "2082097345"})
            assert r["message"]["Channel"] == "LCM" and r["message"]["data"]["PhoneNumber"] == "2082097345"

    run(body)


def test_bad_frames_never_succeed_and_the_connection_keeps_serving() -> None:
    async def body(url: str) -> None:
        async with connect(url) as ws:
            await ws.send("not json")
            r = await ask(ws, "SkipManualDialContact", {"UserId": "ann"})  # mandatory rows missing
            assert r["subtopic"] == "WS_Error" and "missing" in r["message"]["Message"]
            r = await ask(ws, "SkipManualDialContact", {"OutcomeId": 1, "UserId": "a", "AccountNumber": "nope",
                                                        "PhoneNumber": "1"})
            assert r["subtopic"] == "WS_Error"
            r = await ask(ws, "ManualDialCall", {"PhoneNumber": "1"})
            assert r["subtopic"] == "ManualDialCall"

    run(body)


def test_closing_choice_closes_then_serves_the_next_connection() -> None:
    target = ForeignTarget(Choices(not_request="close", greeting=False, broadcast_every=0, refusal="result",
                                   error_subtopic="response", single_as="object", key_order="doc",
                                   extra_members="none"), contacts=2)

    async def body(url: str) -> None:
        async with connect(url) as ws:
            await ws.send("[1, 2]")
            await asyncio.wait_for(ws.wait_closed(), 1.0)
            assert ws.close_code == 1008
        async with connect(url) as ws:
            r = await ask(ws, "GetReservedManualDialContact", reserve("ann"))
            assert list(r) == ["channel", "topic", "subtopic", "message"] and "ContactID" in r["message"]["response"]
            r = await ask(ws, "SetCallOutcomeWithComments", {"callid": "0"})
            assert r["subtopic"] == "SetCallOutcomeWithCommentsResult" and r["message"]["callid"] == "0"
            assert r["message"]["response"] == {"success": False, "msg": "Invalid Call ID."}

    run(body, target)


def test_parse_choice_and_the_command_line() -> None:
    assert parse_choice("greeting=false") == ("greeting", False)
    assert parse_choice("max_per_request=7") == ("max_per_request", 7)
    assert parse_choice("topic=WebService") == ("topic", "WebService")
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.foreign.target", "--choice", "greeting=false", "--contacts", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening ws://127.0.0.1:")
    finally:
        proc.terminate()
        assert proc.wait(timeout=2) == 0


def test_parse_choice_and_the_command_line_refuse_an_unknown_fault() -> None:
    proc = subprocess.run([sys.executable, "-m", "conformance.foreign.target", "--fault", "no.such-fault"],
                          cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
    assert proc.returncode == 2 and "no.such-fault" in proc.stderr


# ---- independence: written from the pages, sharing no code with the reference server -----


def imported_modules(path: Path) -> set[str]:
    """Every module a file of the package imports, relative imports resolved."""
    package = "conformance.foreign"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.add(module)
            if node.module is None:  # from . import x: x may be a module
                found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def test_the_foreign_package_imports_nothing_of_the_reference_server_or_the_mutants() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "target.py", "space.py", "faults.py"}
    ours = {f.name: sorted(m for m in imported_modules(f) if m == "conformance" or m.startswith("conformance."))
            for f in files}
    outside = {name: [m for m in mods if not m.startswith("conformance.foreign")] for name, mods in ours.items()}
    assert not any(outside.values()), outside
    loaded = subprocess.run(
        [sys.executable, "-c", ("import sys, conformance.foreign.target, conformance.foreign.faults, "
                                "conformance.foreign.space; "
                                "print(*sorted(m for m in sys.modules if m.startswith('conformance')))")],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
    ).stdout.split()
    assert not [m for m in loaded if m.startswith(("conformance.server", "conformance.mutants"))], loaded


# ---- the token and the deliberate faults ---------------------------------------------------


def test_a_token_when_set_is_required_in_the_handshake() -> None:
    async def body(url: str) -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url):
                pass
        assert refused.value.response.status_code == 401
        async with connect(url, additional_headers={"Authorization": "Bearer s3cret"}) as ws:
            assert (await ask(ws, "ManualDialCall", {"PhoneNumber": "1"}))["subtopic"] == "ManualDialCall"

    run(body, ForeignTarget(contacts=1, token="s3cret"))


def test_each_fault_names_a_requirement_and_an_unknown_one_is_refused() -> None:
    assert len(FAULTS) >= 12
    assert all(f.requirement and f.description and "\n" not in f.description for f in FAULTS.values())
    with pytest.raises(ValueError, match=r"no.such-fault"):
        ForeignTarget(faults=["no.such-fault"])


def test_faults_break_their_rule_and_only_it() -> None:
    async def faulty(url: str) -> None:
        async with connect(url) as ws:
            r = await ask(ws, "GetReservedManualDialContact", reserve("ann", 1))
            assert len(r["message"]["response"]) == 2  # state.over-delivery
            r = await ask(ws, "GetReservedManualDialContact", reserve("ann", 1, reserved=True))
            assert len(r["message"]["response"]) == 1  # a re-fetch is still as asked
            r = await ask(ws, "ManualDialCall", {"PhoneNumber": "2082097345"})
            assert r["subtopic"] == "ManualDialCall" and "PhoneNumber" not in r["message"]["data"]  # echo.phone-dropped

    async def closing(url: str) -> None:
        async with connect(url) as ws:  # security.token-ignored: no token, still served
            await ws.send("not json")  # no request: the connection stays open
            r = await ask(ws, "SkipNonPEWCContact", {"UserId": "bob"})
            assert r["subtopic"] == "SkipNonPEWCContactResult"
            await asyncio.wait_for(ws.wait_closed(), 1.0)  # robustness.close-after-reply

    run(faulty, ForeignTarget(contacts=4, faults=["state.over-delivery", "echo.phone-dropped"]))
    run(closing, ForeignTarget(contacts=1, token="t",
                               faults=["security.token-ignored", "robustness.close-after-reply"]))
