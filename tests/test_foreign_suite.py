"""The suite against an implementation it was not fitted to: 0 FAIL and 0 ERROR.

``conformance/foreign`` is a target written from the five pages alone, sharing no code with the
reference server, making every choice the pages leave open otherwise, and keeping its
state across runs. Two full runs against one instance give the same verdicts and no
FAIL; then a Hypothesis sampler draws combinations of the open choices, each a fresh
target, and none may get a FAIL either (``bench/bench_foreign.py`` draws 300).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from conformance.foreign.space import choices
from conformance.foreign.target import Choices, ForeignTarget
from conformance.results import RunResult, Verdict
from conformance.runner import RunOptions, run_suite

DRAWS = 20
BOUND = 120.0
"""No run here may take longer than this (a default run takes a few seconds)."""


def bad(run: RunResult) -> list[str]:
    """Every FAIL and ERROR, with its detail."""
    return [f"{r.id}: {r.verdict.label}: {r.detail}" for r in run.results
            if r.verdict in (Verdict.FAIL, Verdict.ERROR)]


async def runs(target: ForeignTarget, count: int, **options: Any) -> list[RunResult]:
    async with target as url:
        return [await asyncio.wait_for(run_suite(RunOptions(target=url, **options)), BOUND) for _ in range(count)]


def test_the_foreign_target_gets_no_fail_twice_in_a_row() -> None:
    first, second = asyncio.run(runs(ForeignTarget(), 2))
    assert not bad(first) and not bad(second), bad(first) + bad(second)
    assert [(r.id, r.verdict) for r in first.results] == [(r.id, r.verdict) for r in second.results]
    judged = [r for r in first.results if r.not_run is None and r.verdict is not Verdict.INFORMATIONAL]
    assert len(judged) > len(first.results) // 2, "most cases must judge something, not skip"


def test_the_foreign_target_in_the_samples_forms_gets_no_fail() -> None:
    sample_like = Choices(topic="WebService", contact_id_key="ContactId", single_as="object", time_format="doc",
                          phone_format="digits", account_format="pipe", consent_values="yesno",
                          snpc_response_as="object", mdc_channel="UI", mdc_topic="InboundCall", mdc_echo_case="lower",
                          refusal="result", error_subtopic="response")
    [run] = asyncio.run(runs(ForeignTarget(sample_like), 1))
    assert not bad(run), bad(run)


@settings(max_examples=DRAWS, deadline=None, derandomize=True, database=None, phases=(Phase.generate,),
          suppress_health_check=list(HealthCheck))
@given(choices())
def test_no_combination_of_open_choices_gets_a_fail(drawn: Choices) -> None:
    [run] = asyncio.run(runs(ForeignTarget(drawn), 1, hypothesis_profile="off"))
    assert not bad(run), (drawn, bad(run))
