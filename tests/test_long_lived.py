"""Whatever state a long-lived target is in: the same verdicts run after run, no FAIL.

One reference server, left running, gets five whole runs in a row (property runs
included); then a scarce one (three free contacts of each consent type, two already
held, one call) gets two. Cases the target can no longer feed are NOT RUN, never FAIL,
and each run reports what it consumed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from conformance.results import RunResult, Verdict
from conformance.runner import RunOptions, run_suite
from conformance.server import running_server

SCARCE = Path(__file__).with_name("seeds") / "scarce.yaml"
BOUND = 120.0


def failures(run: RunResult) -> list[str]:
    return [f"{r.id}: {r.detail}" for r in run.results if r.verdict in (Verdict.FAIL, Verdict.ERROR)]


async def runs(count: int, **server: object) -> list[RunResult]:
    async with running_server(**server) as url:  # type: ignore[arg-type]
        return [await asyncio.wait_for(run_suite(RunOptions(target=url)), BOUND) for _ in range(count)]


def test_five_runs_against_one_server_agree_and_never_fail() -> None:
    results = asyncio.run(runs(5))
    for run in results:
        assert not failures(run), failures(run)
    verdicts = [[(r.id, r.verdict) for r in run.results] for run in results]
    assert all(v == verdicts[0] for v in verdicts), "verdicts moved between runs of one server"
    assert all(set(run.consumed) == {"reserved", "skipped", "closed"} for run in results)


def test_a_scarce_campaign_is_not_run_dry_into_fails() -> None:
    first, second = asyncio.run(runs(2, seed=SCARCE))
    assert not failures(first) and not failures(second), failures(first) + failures(second)
    starved = [r for r in second.results if r.not_run and "no contact" in r.not_run]
    assert starved, "a campaign this small runs dry: some cases must say so"
    assert all(r.verdict is Verdict.INFORMATIONAL for r in starved)
