"""Requests per second of the reference server next to a bare websockets echo server.

Each server runs in a child process of its own on 127.0.0.1; this process drives it with
1 and then 50 concurrent clients, each sending a request and awaiting its reply before
the next (the five doc sample requests in turn). The echo server does nothing but send
each frame back, so it is the ceiling the websockets library allows on this machine;
the goal is at least half of its rate. Rounds alternate between the two servers, so a
noisy neighbour slows both alike, and each cell is the median of its rounds. Both run
with their defaults (the reference server's message-rate limit included).

    python bench/bench_server.py [--requests 6000] [--clients 1 50] [--rounds 3]

Every wait is bounded; the request counts are fixed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from conformance.server import running_server
from conformance.spec import load_spec

TIMEOUT = 10.0
WARMUP = 200
KINDS = ("echo", "reference")


async def _echo(connection: ServerConnection) -> None:
    async for frame in connection:
        await connection.send(frame)


async def _child(kind: str) -> None:
    """Serve until SIGTERM, printing the URL first."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if kind == "echo":
        async with serve(_echo, "127.0.0.1", 0) as server:
            host, port = server.sockets[0].getsockname()[:2]
            print(f"ws://{host}:{port}/", flush=True)
            await stop.wait()
    else:
        async with running_server() as url:
            print(url, flush=True)
            await stop.wait()


def _frames() -> list[str]:
    return [json.dumps(s.message) for api in load_spec().apis.values() for s in api.sample_requests]


async def _client(url: str, frames: list[str], count: int) -> None:
    async with asyncio.timeout(TIMEOUT * 6):
        async with connect(url, open_timeout=TIMEOUT) as ws:
            for i in range(count):
                await ws.send(frames[i % len(frames)])
                async with asyncio.timeout(TIMEOUT):
                    await ws.recv()


async def _rate(url: str, clients: int, requests: int) -> float:
    frames = _frames()
    await _client(url, frames, WARMUP)
    per_client = max(1, requests // clients)
    started = time.perf_counter()
    await asyncio.gather(*(_client(url, frames, per_client) for _ in range(clients)))
    return per_client * clients / (time.perf_counter() - started)


def _start(kind: str) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen([sys.executable, __file__, "--child", kind], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline().strip()  # the child prints its URL once listening
    if not line.startswith("ws://127.0.0.1:"):
        child.kill()
        raise RuntimeError(f"the {kind} server did not start")
    return child, line


def _stop(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=6000, help="requests per measurement")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50], help="concurrency levels")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per server and level (median shown)")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        asyncio.run(_child(args.child))
        return 0
    children = {kind: _start(kind) for kind in KINDS}
    rates: dict[tuple[str, int], list[float]] = {(k, c): [] for k in KINDS for c in args.clients}
    try:
        # Alternate the servers round by round, so a noisy neighbour hits both alike.
        for _ in range(args.rounds):
            for clients in args.clients:
                for kind, (_, url) in children.items():
                    rates[kind, clients].append(asyncio.run(_rate(url, clients, args.requests)))
    finally:
        for child, _ in children.values():
            _stop(child)
    print(f"{'clients':>7}  {'echo req/s':>10}  {'reference req/s':>15}  {'ratio':>5}")
    for clients in args.clients:
        echo, ref = (statistics.median(rates[kind, clients]) for kind in KINDS)
        print(f"{clients:>7}  {echo:>10.0f}  {ref:>15.0f}  {ref / echo:>5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
