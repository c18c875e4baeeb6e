"""Correct variants a direct ``run`` once FAILed: each test fails without its fix.

``mutate`` runs only the example cases, at once after each target starts; these serve a
variant in-process and run what ``run`` runs (property and stateful runs included) the way
a direct run meets it.
"""

from __future__ import annotations

import asyncio

from conformance.cases import load_cases
from conformance.engine import CaseRunner
from conformance.hypo import suite
from conformance.mutants import VARIANTS
from conformance.mutants.faults import Delivery, Fault
from conformance.mutants.serving import running_target
from conformance.mutants.targets import Variant
from conformance.profile import load_profile
from conformance.protocol import Correlator, Status
from conformance.results import Verdict
from conformance.spec import load_spec
from conformance.stateful import ID as STATEFUL_ID
from test_properties import loop, new_session, serving  # noqa: F401 (loop: a fixture)

SPEC = load_spec()
BOUND = 30.0
LAG = 0.005
"""How far a second copy trails its answer: long enough to come after the next request."""


async def _lagging_copies(d: Delivery) -> None:
    """Every reply twice, the copy a moment later (the pages forbid no second copy)."""
    await d.send()
    await asyncio.sleep(LAG)  # the target's own pace, not a synchronisation of the suite
    await d.send()


LAGGING = Variant(name="test.lagging-copies", description="every reply twice, the copy trailing",
                  basis="as open.duplicate-answers", fault=Fault(deliver=_lagging_copies))


async def _run_cases(target: Variant, prefix: str) -> dict[str, Verdict]:
    async with running_target(target) as url:
        runner = CaseRunner(SPEC, load_profile(None, {"url": url}, env={}))
        return {case.id: (await runner.run(case)).verdict
                for case in load_cases(SPEC) if case.id.startswith(prefix)}


def test_a_trailing_copy_of_a_refusal_is_not_the_next_requests_answer():
    """frame.* refuse a bad frame, then send a valid request: the refusal's copy, read
    after that request went out, once answered it (a refusal answers any request)."""
    verdicts = asyncio.run(asyncio.wait_for(_run_cases(LAGGING, "frame."), BOUND))
    assert verdicts and not [i for i, v in verdicts.items() if v is Verdict.FAIL], verdicts


def test_a_refusal_repeated_word_for_word_with_no_copy_still_answers():
    """The held-back frame answers when no other comes: a target that refuses twice alike
    without copies is paired as before (only later)."""
    core = Correlator()
    refusal = '{"channel":"LCM","topic":"X","subtopic":"WS_Error","message":{"response":{"success":false}}}'
    core.send("bad 1", "ManualDialCall", now=0.0, timeout=1.0)
    assert core.receive(refusal, 0.1) is not None
    core.send("bad 2", "ManualDialCall", now=0.2, timeout=1.0)
    assert core.receive(refusal, 0.3) is None  # maybe the copy
    answer = core.expire(1.2)
    assert answer.status is Status.ANSWERED and answer.response is not None and answer.unmatched_count == 0
    # a copy read before the request leaves the next identical frame its own answer
    core.send("bad 3", "ManualDialCall", now=1.3, timeout=1.0)
    core.early(refusal, 1.3)
    assert core.receive(refusal, 1.4) is not None


def test_a_non_pewc_skip_of_a_consent_contact_is_followed_not_failed(loop: asyncio.AbstractEventLoop) -> None:
    """open.non-pewc-any-contact skips a consent contact when the agent holds no other
    kind; the stateful run's model kept it as held and then FAILed the skip that the
    target refused, with the default profile's one agent."""
    [variant] = [v for v in VARIANTS if v.name == "open.non-pewc-any-contact"]
    [stateful] = [run for run in suite.all_runs(SPEC) if run.id == STATEFUL_ID]
    with serving(loop, running_target(variant)) as url:
        [result] = suite.run_all(new_session(loop, url), [stateful])
    assert result.verdict is not Verdict.FAIL, result.detail
    assert any(c.name.endswith("success") and c.verdict is Verdict.INFORMATIONAL for c in result.checks)
