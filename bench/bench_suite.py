"""Benchmark the conformance suite (loopback only, bounded).

1. The whole example-based suite (property runs off; bench_properties.py times those)
   against the embedded reference server, per dialect (goal: under 5 s on 2 cores).
2. The harness's cost per exchanged message: the same request frames sent to the
   same reference server by a bare ``websockets`` client and by the suite's transport
   (``Connection.exchange``, which parses, correlates and logs each reply), in one run
   (goal: within 2x of the bare client).

Run: python bench/bench_suite.py [--repeat N] [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from websockets.asyncio.client import connect

from conformance.messages import build_request
from conformance.profile import default_profile
from conformance.protocol import expected_reply
from conformance.runner import RunOptions, run_suite
from conformance.server import running_server
from conformance.spec import load_spec
from conformance.transport import Connection


async def suite_times(dialect: str, repeat: int) -> tuple[list[float], int]:
    times, cases = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        run = await run_suite(RunOptions(dialect=dialect, hypothesis_profile="off"))
        times.append(time.perf_counter() - t0)
        cases = len(run.results)
        assert not run.failed(), "the reference server must pass"
    return times, cases


def _frames(n: int) -> list[tuple[str, str]]:
    """Side-effect-free requests (ManualDialCall echoes, reserved re-fetch) as (text, subtopic)."""
    spec = load_spec()
    out = []
    for name in ("ManualDialCall", "GetReservedManualDialContact"):
        message = build_request(spec, name, "tables", {})
        out.append((json.dumps(message), expected_reply(spec.api(name), message, spec)[0]))
    return [out[i % len(out)] for i in range(n)]


async def bare(url: str, frames: list[tuple[str, str]]) -> float:
    async with connect(url) as ws:
        t0 = time.perf_counter()
        for text, _ in frames:
            await ws.send(text)
            await ws.recv()
        return time.perf_counter() - t0


async def harness(url: str, frames: list[tuple[str, str]]) -> float:
    async with Connection.from_profile(default_profile(url)) as conn:
        t0 = time.perf_counter()
        for text, subtopic in frames:
            await conn.exchange(text, subtopic)
        return time.perf_counter() - t0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()

    print("suite against the embedded reference server")
    for dialect in ("samples", "tables"):
        times, cases = await suite_times(dialect, args.repeat)
        print(f"  {dialect:8} {cases} cases  median {statistics.median(times):.3f} s  "
              f"min {min(times):.3f} s  max {max(times):.3f} s  ({args.repeat} runs)")

    frames = _frames(args.messages)
    async with running_server() as url:
        rounds = [(await bare(url, frames), await harness(url, frames)) for _ in range(args.repeat)]
    b = statistics.median(r[0] for r in rounds)
    h = statistics.median(r[1] for r in rounds)
    print(f"per message, {args.messages} request/reply round trips, median of {args.repeat}")
    print(f"  bare websockets client  {b / args.messages * 1e6:8.1f} us")
    print(f"  suite transport         {h / args.messages * 1e6:8.1f} us   ratio {h / b:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    asyncio.run(main())
