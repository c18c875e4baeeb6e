"""Benchmark the default run across a network: wall time against round-trip time and --jobs.

An in-process relay on 127.0.0.1 stands in front of the reference server and delays every
chunk of bytes by half the round trip, each way, keeping their order; a new connection
first waits one round trip, as TCP's handshake does. The server runs in a process of its
own (``lcm-conformance serve``), as a remote target would: its work is not the suite's. Against it, the default run
(property runs on, the quick Hypothesis profile) at 0, 10, 50 and 150 ms round trip, once
one case at a time (``--jobs 1``) and once with the default, each on a fresh server.
Also printed: the requests on the longest chain of dependent requests in the default
schedule (the cases and runs that must wait for one another, weighed by the requests each
sent), and that chain's floor at the round trip: no schedule can end sooner.

Goals (issue 13): at 50 ms the default run within 8 s (23.9 s one at a time before), at
0 ms no slower than about 3 s.

Run: python bench/bench_latency.py [--rtt MS ...] [--jobs N ...] [--hypothesis-profile NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import time
from collections.abc import AsyncIterator

from conformance.profile import load_profile
from conformance.results import RunResult
from conformance.runner import DEFAULT_JOBS, RunOptions, plan_run, run_suite
from conformance.schedule import Unit, case_footprint, run_footprint
from conformance.spec import load_spec

RTTS = (0.0, 10.0, 50.0, 150.0)
GOALS = {50.0: 8.0, 0.0: 3.0}
"""Round trip (ms) -> the default run's goal (s)."""
CHUNK = 1 << 16
BOUND = 600.0
"""Seconds one run may take before the benchmark gives up on it."""


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward every chunk ``delay`` seconds after it arrived, in order, then the end."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                break
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            await queue.put((loop.time() + delay, data))
            if not data:
                break
        await sender
    except (OSError, asyncio.IncompleteReadError):
        sender.cancel()
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def relay(upstream_port: int, rtt: float) -> AsyncIterator[str]:
    """A loopback TCP relay to ``upstream_port`` adding ``rtt`` seconds of round trip."""

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.sleep(rtt)  # the connection's own handshake costs a round trip
        await asyncio.gather(_pump(client_reader, up_writer, rtt / 2), _pump(up_reader, client_writer, rtt / 2),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    finally:
        server.close()


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[int]:
    """The reference server in a process of its own, fresh; yields its port."""
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "conformance", "serve", "--port", "0", "--quiet",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert server.stdout is not None
        line = (await asyncio.wait_for(server.stdout.readline(), 30)).decode()
        if not line.startswith("listening "):
            raise RuntimeError(f"the reference server did not start: {line!r}")
        yield int(line.split()[1].rsplit(":", 1)[1].strip("/"))
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)


async def timed_run(rtt_ms: float, jobs: int, profile: str) -> tuple[float, RunResult]:
    async with serving() as port, relay(port, rtt_ms / 1000) as relayed:
        started = time.perf_counter()
        run = await asyncio.wait_for(run_suite(RunOptions(target=relayed, jobs=jobs,
                                                          hypothesis_profile=profile)), BOUND)
        return time.perf_counter() - started, run


def sent(result_detail: str, frames_sent: int) -> int:
    """Requests one result sent: a property run says so in its detail, a case in its frames."""
    found = re.search(r"(\d+) message\(s\)", result_detail)
    return int(found.group(1)) if found else frames_sent


def longest_chain(run: RunResult, profile_name: str) -> int:
    """Requests on the longest chain of units that wait for one another (two units wait
    when they touch the same state and one of them may change it), each weighed by what
    it sent."""
    spec = load_spec()
    profile = load_profile(None, {"url": "ws://127.0.0.1:9/"})
    cases, runs = plan_run(spec, RunOptions(target=profile.url, hypothesis_profile=profile_name))
    footprints = [Unit(case_footprint(spec, profile, c)).footprint() for c in cases]
    footprints += [run_footprint(spec, profile, r) for r in runs]
    by_id = {r.id: r for r in run.results}
    ids = [c.id for c in cases] + [r.id for r in runs]
    weights = [sent(by_id[i].detail, sum(f.direction == "sent" for f in by_id[i].frames)) for i in ids]
    longest: list[int] = []
    for j, mine in enumerate(footprints):
        before = [longest[i] for i, other in enumerate(footprints[:j])
                  if any(key in other and (writes or other[key]) for key, writes in mine.items())]
        longest.append(weights[j] + max(before, default=0))
    return max(longest, default=0)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rtt", type=float, action="append", metavar="MS", help="round trips to measure (ms)")
    parser.add_argument("--jobs", type=int, action="append", metavar="N",
                        help=f"--jobs values to compare (default: 1 and {DEFAULT_JOBS})")
    parser.add_argument("--hypothesis-profile", default="quick")
    args = parser.parse_args()
    rtts = args.rtt or list(RTTS)
    jobs = args.jobs or [1, DEFAULT_JOBS]
    print(f"{'RTT ms':>6}  " + "  ".join(f"{f'--jobs {n} s':>11}" for n in jobs)
          + f"  {'chain':>5}  {'floor s':>7}  {'requests':>8}  FAIL")
    missed = []
    for rtt in rtts:
        cells, chain, requests, fails = [], 0, 0, 0
        for n in jobs:
            seconds, run = await timed_run(rtt, n, args.hypothesis_profile)
            cells.append(f"{seconds:11.1f}")
            fails += run.summary()["fail"]
            if n == jobs[-1]:
                chain = longest_chain(run, args.hypothesis_profile)
                requests = sum(sent(r.detail, sum(f.direction == "sent" for f in r.frames)) for r in run.results)
                goal = GOALS.get(rtt)
                if goal is not None and n == DEFAULT_JOBS and seconds > goal:
                    missed.append(f"{rtt:g} ms: {seconds:.1f} s (goal {goal:g} s)")
        print(f"{rtt:6g}  " + "  ".join(cells) + f"  {chain:5}  {chain * rtt / 1000:7.2f}  {requests:8}  {fails}",
              flush=True)
    for line in missed:
        print(f"goal missed: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
