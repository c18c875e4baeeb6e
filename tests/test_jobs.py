"""``--jobs``: cases and property runs at once give the verdicts of a run one at a time.

The default run (property runs on) against the reference server in both dialects and
against the foreign target, each from a fresh state, once with ``--jobs 1`` and once with
the default; every case and run must get the same verdict, in the same order. Then the
scheduling rule itself (:mod:`conformance.schedule`): footprints read from the requests,
plan-order gates, and a breaker that trips once however many connections are in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from conformance.breaker import FLOOD_STOP, Breaker
from conformance.cases import load_cases
from conformance.engine import CaseRunner
from conformance.foreign.target import ForeignTarget
from conformance.hypo.suite import all_runs
from conformance.profile import load_profile
from conformance.protocol import Exchange, FrameLog, Status
from conformance.results import RunResult
from conformance.runner import DEFAULT_JOBS, RunOptions, run_suite
from conformance.schedule import CONTACTS, Gate, Slots, Turn, Unit, case_footprint, run_footprint, run_in_order
from conformance.server import running_server
from conformance.spec import load_spec

SPEC = load_spec()
BOUND = 120.0
TARGETS: dict[str, Callable[[], AbstractAsyncContextManager[str]]] = {
    "reference-samples": lambda: running_server(dialect="samples"),
    "reference-tables": lambda: running_server(dialect="tables"),
    "foreign": ForeignTarget,
}


async def _run(target: Callable[[], AbstractAsyncContextManager[str]], jobs: int) -> RunResult:
    async with target() as url:
        return await asyncio.wait_for(run_suite(RunOptions(target=url, jobs=jobs)), BOUND)


class Overlap:
    """The most cases a CaseRunner had in flight at once (so a test sees that --jobs reaches it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = self.most = 0
        original = CaseRunner.run

        async def counted(runner: CaseRunner, *args: Any, **kwargs: Any) -> Any:
            self.now += 1
            self.most = max(self.most, self.now)
            try:
                return await original(runner, *args, **kwargs)
            finally:
                self.now -= 1

        monkeypatch.setattr(CaseRunner, "run", counted)

    def reset(self) -> int:
        most, self.most = self.most, 0
        return most


@pytest.mark.parametrize("name", list(TARGETS))
def test_verdicts_do_not_depend_on_jobs(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULT_JOBS > 1
    overlap = Overlap(monkeypatch)
    alone = asyncio.run(_run(TARGETS[name], 1))
    assert overlap.reset() == 1
    together = asyncio.run(_run(TARGETS[name], DEFAULT_JOBS))
    assert overlap.reset() > 1  # the cases did run at once (one waiting for its turn frees its slot)
    first = [(r.id, r.verdict.value, r.not_run is None) for r in alone.results]
    second = [(r.id, r.verdict.value, r.not_run is None) for r in together.results]
    moved = [f"{a} -> {b}" for a, b in zip(first, second, strict=True) if a != b]
    assert not moved, f"{name}: verdicts moved with --jobs {DEFAULT_JOBS}:\n" + "\n".join(moved)
    assert alone.consumed == together.consumed


# ------------------------------------------------------------------ footprints

PROFILE = load_profile(None, {"url": "ws://127.0.0.1:9/"})
CASES = {c.id: c for c in load_cases(SPEC)}
CALL = f"call:{PROFILE.fixtures.call_id}"
OFFERED = "offered:SkipNonPEWCContact"


def steps(case_id: str) -> list[dict[str, bool]]:
    return [dict(step) for step in case_footprint(SPEC, PROFILE, CASES[case_id])]


def test_footprints_come_from_the_requests() -> None:
    assert steps("MDC.echo.page") == [{}]  # a dial names no contact and no call
    assert steps("GRMDC.count") == [{CONTACTS: True}]  # a download changes the contacts
    assert steps("GRMDC.form.page") == [{CONTACTS: False}]  # a re-fetch only reads them
    assert steps("SCOC.outcome.page") == [{CALL: True}]
    assert steps("SCOC.error.unknown-callid") == [{"call:lcm-conformance-no-such-call": True}]
    # a skip of a contact only an earlier reply names still changes the contacts
    assert steps("SMDC.skip.tables")[2] == {CONTACTS: True}
    # a request missing a mandatory row takes nothing; the valid request after it may
    assert steps("MDC.missing.PhoneNumber") == [{}, {CONTACTS: False}]
    # a wrong type may be coerced and served (the pages do not say): it counts
    assert steps("GRMDC.wrong-type.Consent") == [{CONTACTS: False}, {}]
    assert steps("SMDC.wrong-type.UserId") == [{CONTACTS: True}, {}]
    # without a Campaign Manager version, SkipNonPEWCContact may turn out withdrawn: a
    # valid request may find it so, one the tables forbid only sees it
    assert steps("SNPC.skip.page")[2] == {CONTACTS: True, OFFERED: True}
    assert steps("SNPC.missing.UserId") == [{OFFERED: False}, {}]
    versioned = load_profile(None, {"url": "ws://127.0.0.1:9/", "campaign_manager_version": 2308})
    assert case_footprint(SPEC, versioned, CASES["SNPC.missing.UserId"]) == ({}, {})


def test_a_property_run_changes_what_its_api_touches_and_the_stateful_test_everything() -> None:
    runs = {r.id: r for r in all_runs(SPEC)}
    assert run_footprint(SPEC, PROFILE, runs["property.GetReservedManualDialContact.valid-requests"]) == {
        CONTACTS: True}
    assert run_footprint(SPEC, PROFILE, runs["property.ManualDialCall.echo"]) == {CONTACTS: False}  # a re-fetch
    assert run_footprint(SPEC, PROFILE, runs["property.SetCallOutcomeWithComments.echo"]) == {CALL: True}
    stateful = runs["stateful.contacts"]
    assert stateful.drives and run_footprint(SPEC, PROFILE, stateful) == {CONTACTS: True, CALL: True, OFFERED: True}
    assert not any(r.drives for r in runs.values() if r is not stateful)


# ------------------------------------------------------------------ the gate


def test_the_gate_keeps_plan_order_and_lets_readers_overlap() -> None:
    async def scenario() -> list[str]:
        log: list[str] = []
        units = [Unit(({"k": True},)), Unit(({"k": False},)), Unit(({"k": False},)), Unit(({"k": True},)),
                 Unit(({},))]
        release = asyncio.Event()

        async def work(index: int, turn: Turn) -> int:
            await turn.before(1)
            log.append(f"start {index}")
            if index == 0:
                await release.wait()
            await asyncio.sleep(0)
            log.append(f"end {index}")
            turn.done()
            return index

        async def opener() -> None:
            while "start 4" not in log:  # the unit that touches nothing is not held up
                await asyncio.sleep(0)
            release.set()

        opened = asyncio.create_task(opener())
        assert await run_in_order(len(units), units.__getitem__, work, jobs=5) == [0, 1, 2, 3, 4]
        await opened
        return log

    log = asyncio.run(asyncio.wait_for(scenario(), BOUND))
    assert log.index("start 4") < log.index("end 0")
    assert log.index("end 0") < log.index("start 1") < log.index("end 1")
    assert log.index("start 2") < log.index("end 1")  # two readers together
    assert log.index("start 3") > max(log.index("end 1"), log.index("end 2"))


def test_a_turn_lets_go_after_the_last_step_that_needs_a_key() -> None:
    async def scenario() -> list[str]:
        gate, slots, log = Gate(), Slots(2), []
        gate.claim(0, {"k": True})
        gate.claim(1, {"k": True})
        first = Turn(gate, slots, 0, ({"k": True}, {}))
        second = Turn(gate, slots, 1, ({"k": True},))

        async def later() -> None:
            await second.before(1)
            log.append("second has k")

        waiting = asyncio.create_task(later())
        await first.before(1)
        await asyncio.sleep(0)
        log.append("first step 1")
        await first.before(2)  # step 2 needs no key: k goes to the next unit
        await waiting
        log.append("first step 2")
        first.done()
        second.done()
        return log

    assert asyncio.run(asyncio.wait_for(scenario(), BOUND)) == ["first step 1", "second has k", "first step 2"]


# ------------------------------------------------------------------ the breaker


def _silence() -> Exchange:
    return Exchange(Status.TIMEOUT, "{}", "X", None, None, (), 0, 0, 0.0, 5.0, FrameLog(0.0), "no reply")


def test_the_breaker_counts_silences_in_the_order_they_end_and_ignores_those_in_flight() -> None:
    breaker = Breaker()
    late = [breaker.observe(_silence(), valid=True, api="X") for _ in range(5)]
    assert late[:3] == [None, None, None] and breaker.stopped
    assert all(why and "in flight" in why for why in late[3:])  # NOT RUN, never a wall of FAILs
    assert breaker.requests == 5 and breaker.silent == 3


def test_a_silent_target_costs_three_fails_whatever_the_jobs() -> None:
    """Requests in flight when the breaker trips are NOT RUN, not a wall of FAILs."""
    from faulty_targets import FaultyTarget

    async def fails(jobs: int) -> list[str]:
        async with FaultyTarget(fault="hang") as url:
            options = RunOptions(target=url, jobs=jobs, hypothesis_profile="off",
                                 overrides={"timeouts.response": 0.3})
            run = await asyncio.wait_for(run_suite(options), BOUND)
        return [r.id for r in run.results if r.verdict.value == "fail"]

    alone, together = asyncio.run(fails(1)), asyncio.run(fails(DEFAULT_JOBS))
    assert len(alone) == 3 == len(together), (alone, together)


def test_the_breaker_stops_a_long_run_for_a_flood_only_when_it_is_one() -> None:
    def strays(count: int) -> Exchange:
        return Exchange(Status.ANSWERED, "{}", "X", None, None, (), count, count, 0.0, 0.01, FrameLog(0.0), "")

    heartbeats = Breaker()  # 5 strays a request, over many requests: heartbeats, not a flood
    for _ in range(4_100):
        heartbeats.observe(strays(5), valid=False)
    assert heartbeats.strays > FLOOD_STOP and heartbeats.flooding() is None and heartbeats.stopped is None
    flood = Breaker()
    for _ in range(FLOOD_STOP // 50 + 1):
        flood.observe(strays(60), valid=False)
    assert flood.stopped and "flood" in flood.stopped and "None" not in flood.stopped
