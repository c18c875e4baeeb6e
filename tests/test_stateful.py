"""The stateful test: no FAIL against the reference server in either dialect, starting
from whatever the agents already hold; a FAIL for each contact rule a faulty state breaks
(a contact handed out twice, a skipped contact returned, a non-PEWC skip that says no)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from conformance.hypo import suite
from conformance.profile import default_profile
from conformance.results import CaseResult, Verdict
from conformance.server import Service, build_service, running_service
from conformance.server.state import ContactNotFound, State
from conformance.spec import load_spec
from conformance.stateful import ID, KEEP
from test_properties import failing, judged_as_documented, loop, new_session, serving  # noqa: F401 (loop: a fixture)

SPEC = load_spec()
[STATEFUL] = [run for run in suite.all_runs(SPEC) if run.id == ID]
AGENT = default_profile("ws://127.0.0.1:1/").agent
TWO_AGENTS = [AGENT, "testagent"]
"""Two agents, as a profile names them: the reference server's seed holds both spellings
of the sample agent as two agents (the default profile takes them for one, D-26)."""


def run_stateful(loop: asyncio.AbstractEventLoop, service: Service, **overrides: Any) -> CaseResult:
    with serving(loop, running_service(service)) as url:
        [result] = suite.run_all(new_session(loop, url, **overrides), [STATEFUL])
    judged_as_documented(result)
    return result


def faulty(change: Callable[[State], None], dialect: str = "tables") -> Service:
    service = build_service(dialect=dialect)
    change(service.state)
    return service


@pytest.mark.parametrize("dialect", ["samples", "tables"])
def test_no_fail_against_the_reference_server(loop: asyncio.AbstractEventLoop, dialect: str) -> None:
    result = run_stateful(loop, build_service(dialect=dialect), agents=TWO_AGENTS)
    assert result.verdict is (Verdict.NON_STRICT if dialect == "samples" else Verdict.PASS), result.detail
    ran = {c.name for c in result.checks}
    assert {"at_most", "consent", "disjoint", "not_returned", "held_again", "success"} <= ran, ran


def test_it_starts_from_what_the_agents_already_hold(loop: asyncio.AbstractEventLoop) -> None:
    service = build_service(dialect="tables")
    before = {c.contact_id for c in service.state.reserve(AGENT, 60, consent=True, reserved=False)}
    result = run_stateful(loop, service)
    assert result.verdict is Verdict.PASS, result.detail
    still = before & {c.contact_id for c in service.state.held_by(AGENT)}
    assert len(still) <= KEEP


def test_one_agent_is_enough(loop: asyncio.AbstractEventLoop) -> None:
    result = run_stateful(loop, build_service(dialect="tables"), agents=[AGENT])
    assert result.verdict is Verdict.PASS, result.detail
    assert "disjoint" not in {c.name for c in result.checks}


def handing_out_twice(state: State) -> None:
    """New contacts include one another agent already holds."""
    reserve = state.reserve

    def twice(agent: str, count: int, *, consent: bool, reserved: bool) -> list[Any]:
        got = reserve(agent, count, consent=consent, reserved=reserved)
        if reserved:
            return got
        others = [c for a in sorted(state.agents) if a != agent for c in state.held_by(a) if c.consent == consent]
        return (others[:1] + got)[:count]

    state.reserve = twice  # type: ignore[method-assign]


def keeping_skipped(state: State) -> None:
    """A skip succeeds but leaves the contact with the agent."""
    skip = state.skip

    def kept(agent: str, outcome: str, *, account: str, phone: str) -> Any:
        held = [c for c in state.held_by(agent) if (c.account, c.phone) == (account, phone)]
        return held[0] if held else skip(agent, outcome, account=account, phone=phone)

    state.skip = kept  # type: ignore[method-assign]


def never_finding_non_consent(state: State) -> None:
    """A non-PEWC skip that never finds the contact the agent holds."""

    def none(agent: str) -> Any:
        raise ContactNotFound(f"agent {agent!r} holds no non-consent contact")

    state.skip_non_consent = none  # type: ignore[method-assign]


@pytest.mark.parametrize(("fault", "check"), [
    (handing_out_twice, "disjoint"),
    (keeping_skipped, "not_returned"),
])
def test_a_faulty_state_fails_the_check_it_breaks(
        loop: asyncio.AbstractEventLoop, fault: Callable[[State], None], check: str) -> None:
    result = run_stateful(loop, faulty(fault), agents=TWO_AGENTS)
    failing(result, check)
    assert result.reproduce["case_yaml"].startswith(f"- id: {ID}.falsified")
    assert all(c.requirements for c in result.checks if c.verdict is Verdict.FAIL)


def test_a_non_pewc_rule_resting_on_d25_is_informational(loop: asyncio.AbstractEventLoop) -> None:
    """Reading a non-PEWC contact as a non-consent one is ours (D-25): never a FAIL."""
    result = run_stateful(loop, faulty(never_finding_non_consent), agents=TWO_AGENTS)
    assert result.verdict is not Verdict.FAIL, result.detail
    assert any(c.name == "success" and c.verdict is Verdict.INFORMATIONAL and "D-25" in c.doc for c in result.checks)
