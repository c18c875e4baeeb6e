"""What recording costs, and how fast a trace is audited.

1. Round trip through ``lcm-conformance record`` next to a direct connection and next to
   a bare relay written with websockets alone (no trace), in one run: the reference
   server (``serve --quiet --rate 0``), the bare relay and ``record`` each run in a child
   process of their own on 127.0.0.1; one client sends a request and awaits its reply,
   over and over. Rounds alternate between the three, so a noisy neighbour slows all
   alike; each cell is the median of its rounds. Goal: ``record`` within 1.5x of the
   bare relay.
2. ``audit`` throughput: a trace of 100,000 frames (50,000 requests and their replies on
   50 connections of 20 agents: downloads, re-fetches, skips of held contacts, dials,
   outcomes, non-PEWC skips, sample-form and bad requests), its replies written by the
   reference service itself, judged by the same code as ``lcm-conformance audit``, both
   sides; frames per second.

    python bench/bench_record.py [--requests 3000] [--rounds 3] [--frames 100000]

Every wait is bounded; the counts are fixed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench_server import _stop  # the same SIGTERM, then kill, as for the servers measured there
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from conformance import trace
from conformance.audit import Auditor
from conformance.messages import build_request, items, member
from conformance.profile import default_profile
from conformance.server import build_service
from conformance.server.bindings import load_bindings
from conformance.server.default_seed import default_seed
from conformance.spec import load_spec

TIMEOUT = 10.0
WARMUP = 200
PATHS = ("direct", "relay", "record")
GOAL = 1.5
AGENTS = 20
CONNECTIONS = 50


# ------------------------------------------------------------------ the children


async def _relay(upstream: str, client: ServerConnection) -> None:
    """A bare relay: one upstream connection per client, messages both ways, nothing else."""
    async with connect(upstream, compression=None, ping_interval=None) as server:
        async def pump(source: Any, sink: Any) -> None:
            try:
                async for message in source:
                    await sink.send(message)
            except ConnectionClosed:
                pass

        await asyncio.wait({asyncio.create_task(pump(client, server)), asyncio.create_task(pump(server, client))},
                           return_when=asyncio.FIRST_COMPLETED)


async def _serve_relay(upstream: str) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with serve(lambda c: _relay(upstream, c), "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        host, port = server.sockets[0].getsockname()[:2]
        print(f"listening ws://{host}:{port}/", flush=True)
        await stop.wait()


def _start(argv: list[str]) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline().strip()  # "listening ws://HOST:PORT/" once ready
    if not line.startswith("listening ws://127.0.0.1:"):
        child.kill()
        raise RuntimeError(f"{argv} did not start: {line!r}")
    return child, line.split()[1]


# ------------------------------------------------------------------ round trips


def _request() -> str:
    return json.dumps(build_request(load_spec(), "ManualDialCall", "tables", {"PhoneNumber": "+12345678900"}))


async def _round_trips(url: str, count: int) -> list[float]:
    """Seconds per round trip, request after request on one connection."""
    frame, times = _request(), []
    async with asyncio.timeout(TIMEOUT * 10), connect(url, open_timeout=TIMEOUT, compression=None) as ws:
        for _ in range(WARMUP):
            await ws.send(frame)
            await ws.recv()
        for _ in range(count):
            started = time.perf_counter()
            await ws.send(frame)
            async with asyncio.timeout(TIMEOUT):
                await ws.recv()
            times.append(time.perf_counter() - started)
    return times


def measure_round_trips(requests: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Median and 95th percentile round trip (seconds) per path."""
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        server, upstream = _start([python, "-m", "conformance", "serve", "--quiet", "--rate", "0"])
        children = [server]
        try:
            relay, relay_url = _start([python, __file__, "--relay", upstream])
            children.append(relay)
            record, record_url = _start([python, "-m", "conformance", "record", "--upstream", upstream,
                                         "--out", str(Path(tmp) / "bench.jsonl")])
            children.append(record)
            urls = {"direct": upstream, "relay": relay_url, "record": record_url}
            samples: dict[str, list[float]] = {p: [] for p in PATHS}
            medians: dict[str, list[float]] = {p: [] for p in PATHS}
            for _ in range(rounds):
                for path in PATHS:
                    times = asyncio.run(_round_trips(urls[path], requests))
                    samples[path] += times
                    medians[path].append(statistics.median(times))
        finally:
            for child in reversed(children):
                _stop(child)
    return {p: (statistics.median(medians[p]), statistics.quantiles(samples[p], n=20)[-1]) for p in PATHS}


# ------------------------------------------------------------------ audit throughput


def _seed(contacts: int) -> dict[str, Any]:
    """The default seed with more agents, and contacts enough for every download."""
    spec = load_spec()
    seed = default_seed(spec, load_bindings(spec))
    seed["agents"] = [*seed["agents"], *(f"agent{n}@bench.example" for n in range(AGENTS))]
    template = next(c for c in seed["contacts"] if "reserved_to" not in c)
    for n in range(contacts):
        seed["contacts"].append({**template, "AccountNumber": f"9|9|{n}|0|0|00|1", "PhoneNumber": f"30{n:08d}",
                                 "ContactID": 100_000 + n, "Consent": "Yes" if n % 3 else "No"})
    return seed


def _workload(requests: int, held: dict[int, list[dict[str, Any]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(connection, request) pairs: a mixed session per connection, round robin; ``held``
    (filled by the caller from the replies) says which contacts each connection's agent holds."""
    spec = load_spec()
    n = 0
    while n < requests:
        for conn in range(CONNECTIONS):
            agent = f"agent{conn % AGENTS}@bench.example"
            step = (n // CONNECTIONS) % 10
            mine = held.setdefault(conn, [])
            if step in (0, 5):
                message = build_request(
                    spec, "GetReservedManualDialContact", "tables" if step == 0 else "page",
                    {"AgentID": agent, "NumberOfContactsRequired": 2 - step // 5, "Consent": True,
                     "ReservedContacts": False})
            elif step == 1:
                message = build_request(spec, "GetReservedManualDialContact", "tables",
                                        {"AgentID": agent, "NumberOfContactsRequired": 5, "Consent": True,
                                         "ReservedContacts": True})
            elif step in (2, 6, 9) and mine:
                contact = mine.pop(0)
                message = build_request(spec, "SkipManualDialContact", "tables",
                                        {"UserId": agent, "AccountNumber": contact["AccountNumber"],
                                         "PhoneNumber": contact["PhoneNumber"], "OutcomeId": 1})
            elif step == 3:
                message = build_request(spec, "SetCallOutcomeWithComments", "page",
                                        {"callid": "12345", "AccountNumber": "5|3|1|0|0|44|1", "OutcomeID": 1,
                                         "UserID": agent})
            elif step == 4:
                message = build_request(spec, "SkipNonPEWCContact", "tables", {"UserId": agent})
            elif step == 7:
                bad = build_request(spec, "GetReservedManualDialContact", "tables",
                                    {"AgentID": agent, "NumberOfContactsRequired": 1, "Consent": True,
                                     "ReservedContacts": True})
                del bad["data"]["AgentID"]
                message = bad
            else:
                message = build_request(spec, "ManualDialCall", "page", {"PhoneNumber": f"+1{conn:010d}"})
            yield conn, message
            n += 1
            if n >= requests:
                return


def write_trace(path: Path, frames: int) -> None:
    """A trace of ``frames`` frames: each request and the reference service's reply to it."""
    service = build_service(seed=_seed(frames // 8))
    t = 0.0
    held: dict[int, list[dict[str, Any]]] = {}
    with open(path, "wb") as out:
        out.write(trace.encode(trace.header_event("2025-01-01T00:00:00Z", "ws://bench.example/", "-")))
        for conn in range(CONNECTIONS):
            out.write(trace.encode(trace.open_event(t, conn, "/", (("Host", "bench.example"),), None)))
        for conn, message in _workload(frames // 2, held):
            text = json.dumps(message)
            t += 0.0005
            out.write(trace.encode(trace.frame_event(t, conn, "client", text)))
            for reply in service.handle(text).frames:
                t += 0.0005
                out.write(trace.encode(trace.frame_event(t, conn, "server", reply)))
                if message["subtopic"] == "GetReservedManualDialContact":
                    got = items(member(json.loads(reply).get("message"), "response"))
                    held.setdefault(conn, []).extend(c for c in got if isinstance(c, dict) and "AccountNumber" in c)
        for conn in range(CONNECTIONS):
            out.write(trace.encode(trace.close_event(t, conn, "client", 1000, "")))


def measure_audit(frames: int) -> tuple[int, float]:
    """(frames audited, seconds)."""
    spec = load_spec()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"
        write_trace(path, frames)
        auditor = Auditor(spec, default_profile("ws://bench.example/"))
        started = time.perf_counter()
        with open(path, "rb") as lines:
            auditor.feed_all(trace.read(lines))
        results = auditor.finish()
        seconds = time.perf_counter() - started
    verdicts: dict[str, int] = {}
    for r in results:
        verdicts[r.verdict.value] = verdicts.get(r.verdict.value, 0) + 1
    print(f"  audit results: {len(results)} ({', '.join(f'{n} {v}' for v, n in sorted(verdicts.items()))})")
    return frames, seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="round trips per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per path (median shown)")
    parser.add_argument("--frames", type=int, default=100_000, help="frames in the audited trace")
    parser.add_argument("--relay", metavar="UPSTREAM", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.relay:
        asyncio.run(_serve_relay(args.relay))
        return 0
    trips = measure_round_trips(args.requests, args.rounds)
    print(f"{'path':>8}  {'median ms':>9}  {'p95 ms':>7}")
    for path, (median, p95) in trips.items():
        print(f"{path:>8}  {median * 1000:>9.3f}  {p95 * 1000:>7.3f}")
    ratio = trips["record"][0] / trips["relay"][0]
    print(f"record / bare relay: {ratio:.2f} (goal: at most {GOAL})")
    frames, seconds = measure_audit(args.frames)
    print(f"audit: {frames} frames in {seconds:.1f} s = {frames / seconds:,.0f} frames/s")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
