"""UNIMPLEMENTED and not-run: what the target does not offer, or cannot set up, never PASSes."""

from __future__ import annotations

import asyncio
import dataclasses

from conformance.cases import load_cases
from conformance.profile import Timeouts, default_profile
from conformance.results import Verdict
from conformance.runner import run_cases
from conformance.server import running_server
from conformance.spec import load_spec
from faulty_targets import FaultyTarget

SPEC = load_spec()
GATED = next(a for a in SPEC.apis.values() if a.max_cm_version is not None)
GATED_CASES = [c for c in load_cases(SPEC) if c.api == GATED.name]


def test_a_target_past_the_last_version_makes_the_gated_api_unimplemented() -> None:
    async def scenario():
        async with running_server(cm_version=GATED.max_cm_version + 1) as url:
            quick = dataclasses.replace(default_profile(url), timeouts=Timeouts(response=0.3))
            return await run_cases(SPEC, quick, GATED_CASES)

    results = asyncio.run(scenario())
    assert results and {r.verdict for r in results} == {Verdict.UNIMPLEMENTED}
    assert all(GATED.name in r.detail and "refused as not offered" in r.detail for r in results)
    asked = [f for r in results for f in r.frames if f.direction == "sent" and GATED.name in f.text]
    assert len(asked) == 1  # one request, one refusal: then known for the rest of the run


def test_a_profile_past_the_last_version_skips_the_gated_api_without_sending() -> None:
    async def scenario():
        target = FaultyTarget({})
        async with target as url:
            profile = dataclasses.replace(default_profile(url), campaign_manager_version=GATED.max_cm_version + 1)
            return await run_cases(SPEC, profile, GATED_CASES[:2]), target.received

    results, received = asyncio.run(scenario())
    assert {r.verdict for r in results} == {Verdict.UNIMPLEMENTED} and received == []
    assert all(str(GATED.max_cm_version) in r.not_run for r in results)


def test_a_target_with_no_contact_for_the_agent_leaves_the_case_not_run() -> None:
    grmdc = SPEC.api("GetReservedManualDialContact")
    empty = {**grmdc.sample_responses[0].message, "message": {"response": []}}
    case = next(c for c in load_cases(SPEC) if c.id == "GRMDC.refetch")

    async def scenario():
        async with FaultyTarget({grmdc.name: empty}) as url:
            return await run_cases(SPEC, default_profile(url), [case])

    [result] = asyncio.run(scenario())
    assert result.not_run and "no contact" in result.not_run
    assert result.verdict is not Verdict.PASS and result.verdict is not Verdict.FAIL
