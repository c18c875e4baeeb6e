"""Benchmark the property and stateful runs against the embedded reference server
(loopback only, bounded).

Every property run and the stateful test, per Hypothesis profile and dialect, as
``lcm-conformance run`` drives them (a worker thread sending through the event loop that
also serves the reference server): wall time, examples, messages the server handled,
and examples and messages per second. Goal: the quick profile under 20 s on 2 cores,
at most about 200 messages.

Run: python bench/bench_properties.py [--repeat N] [--profile quick --profile ci ...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from conformance.hypo import record, suite
from conformance.profile import default_profile
from conformance.results import Verdict
from conformance.server import build_service, running_service
from conformance.spec import load_spec

SPEC = load_spec()


def count_examples() -> list[int]:
    """Counts every example the runs finish (a bench-only wrap of Hunt.tally)."""
    counter = [0]
    tally = record.Hunt.tally

    def counted(self: record.Hunt, example: Any) -> None:
        counter[0] += not example.tallied
        tally(self, example)

    record.Hunt.tally = counted  # type: ignore[method-assign]
    return counter


async def one_run(profile: str, dialect: str, examples: list[int]) -> tuple[float, int, int, int]:
    """(seconds, examples, messages, FAILs) of one whole property run on a fresh server."""
    service = build_service(dialect=dialect)
    handle, frames = service.handle, [0]

    def counted(frame: str | bytes) -> Any:
        frames[0] += 1
        return handle(frame)

    service.handle = counted  # type: ignore[method-assign]
    async with running_service(service) as url:
        session = suite.session(SPEC, default_profile(url), profile, asyncio.get_running_loop())
        before = examples[0]
        t0 = time.perf_counter()
        results = await asyncio.to_thread(suite.run_all, session, suite.all_runs(SPEC))
        elapsed = time.perf_counter() - t0
    fails = sum(r.verdict is Verdict.FAIL for r in results)
    return elapsed, examples[0] - before, frames[0], fails


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="append", choices=("quick", "ci", "thorough"))
    args = parser.parse_args()
    examples = count_examples()
    print(f"{len(suite.all_runs(SPEC))} runs (properties per API, then the stateful test), "
          f"median of {args.repeat}")
    print(f"  {'profile':9} {'dialect':8} {'seconds':>8} {'examples':>9} {'messages':>9} "
          f"{'examples/s':>11} {'messages/s':>11} {'FAIL':>5}")
    for profile in args.profile or ["quick", "ci"]:
        for dialect in ("samples", "tables"):
            runs = [await one_run(profile, dialect, examples) for _ in range(args.repeat)]
            seconds = statistics.median(r[0] for r in runs)
            n, messages = statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)
            print(f"  {profile:9} {dialect:8} {seconds:8.2f} {n:9.0f} {messages:9.0f} "
                  f"{n / seconds:11.0f} {messages / seconds:11.0f} {max(r[3] for r in runs):5}")


if __name__ == "__main__":
    asyncio.run(main())
