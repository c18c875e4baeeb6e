"""The sampler at scale: N combinations of the foreign target's open choices, no FAIL.

Hypothesis draws combinations of the choices the pages leave open
(:mod:`conformance.foreign.space`); each draw is a fresh foreign target on loopback and
one whole run of the example cases against it (property runs off, each run bounded).
Prints the draws, the false FAILs and ERRORs (with the combination that got them) and
the time per draw. ``tests/test_foreign_suite.py`` draws 20 of these in CI.

Run: python bench/bench_foreign.py [--draws 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from hypothesis import HealthCheck, Phase, given, seed, settings

from conformance.foreign.space import choices
from conformance.foreign.target import Choices, ForeignTarget
from conformance.hypo.plan import keep_caches_out_of_cwd
from conformance.results import Verdict
from conformance.runner import RunOptions, run_suite

BOUND = 120.0


async def one(drawn: Choices) -> list[str]:
    async with ForeignTarget(drawn) as url:
        run = await asyncio.wait_for(run_suite(RunOptions(target=url, hypothesis_profile="off")), BOUND)
    return [f"{r.id}: {r.verdict.label}: {r.detail[:200]}" for r in run.results
            if r.verdict in (Verdict.FAIL, Verdict.ERROR)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keep_caches_out_of_cwd()  # this @given runs outside pytest: no ./.hypothesis either
    times: list[float] = []
    bad: list[tuple[Choices, list[str]]] = []

    @seed(args.seed)
    @settings(max_examples=args.draws, deadline=None, database=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck))
    @given(choices())
    def draw(drawn: Choices) -> None:
        started = time.perf_counter()
        found = asyncio.run(one(drawn))
        times.append(time.perf_counter() - started)
        if found:
            bad.append((drawn, found))
        if len(times) % 25 == 0:
            print(f"  {len(times)} draws, {len(bad)} with a FAIL or ERROR", flush=True)

    started = time.perf_counter()
    draw()
    print(f"draws: {len(times)}; with a FAIL or ERROR: {len(bad)}; "
          f"seconds per draw: median {statistics.median(times):.2f}, max {max(times):.2f}; "
          f"total {time.perf_counter() - started:.0f} s")
    for drawn, found in bad:
        print(f"\n{drawn}")
        for line in found:
            print(f"  {line}")


if __name__ == "__main__":
    main()
