"""What a default run takes from a target: contacts reserved and skipped, outcomes set.

A counting relay sits between ``lcm-conformance run`` and a fresh reference server (both
on loopback) and tallies every request and its reply with the suite's own ledger
(:mod:`conformance.consumption`), so it measures any version of the suite the same way:
``--tree DIR`` runs the suite from another checkout (e.g. a ``git worktree`` of an older
commit) for a before/after figure. Each run is bounded.

Run: python bench/bench_consumption.py [--tree DIR] [--runs N] [--hypothesis-profile quick|off]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from conformance.consumption import Ledger
from conformance.server import running_server
from conformance.spec import load_spec

BOUND = 300.0
ANSWERS = {api.response_subtopic: api.name for api in load_spec().apis.values()}


class Counter:
    """A relay that pairs each reply with the latest request of its API on its connection."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.ledger = Ledger()
        self.requests = 0

    async def handle(self, client: ServerConnection) -> None:
        asked: dict[str, Any] = {}
        async with connect(self.upstream, max_size=None) as server:
            async def up() -> None:
                async for frame in client:
                    self.requests += 1
                    try:
                        message = json.loads(frame)
                        asked[str(message.get("subtopic"))] = message
                    except (ValueError, AttributeError):
                        pass
                    await server.send(frame)

            async def down() -> None:
                async for frame in server:
                    try:
                        reply = json.loads(frame)
                        api = ANSWERS.get(reply.get("subtopic"))
                        if api in asked:
                            self.ledger.count(asked.pop(api), reply)
                    except (ValueError, AttributeError):
                        pass
                    await client.send(frame)

            tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            except ConnectionClosed:
                pass
            finally:
                for task in tasks:
                    task.cancel()


async def one_run(tree: Path, profile: str) -> tuple[dict[str, int], int, float, int]:
    async with running_server() as upstream:
        counter = Counter(upstream)
        async with serve(counter.handle, "127.0.0.1", 0, max_size=None) as relay:
            url = f"ws://127.0.0.1:{relay.sockets[0].getsockname()[1]}/"
            env = {**os.environ, "PYTHONPATH": str(tree)}
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "conformance", "run", "--target", url, "--hypothesis-profile", profile,
                "--quiet", env=env, cwd=tree, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            code = await asyncio.wait_for(proc.wait(), BOUND)
            return counter.ledger.to_json(), counter.requests, time.perf_counter() - started, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the checkout whose suite runs (default: this one)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--hypothesis-profile", default="quick")
    args = parser.parse_args()
    print(f"suite from {args.tree} (property runs: {args.hypothesis_profile})")
    print(f"{'run':>3}  {'reserved':>8}  {'skipped':>7}  {'closed':>6}  {'requests':>8}  {'seconds':>7}  exit")
    for n in range(1, args.runs + 1):
        taken, requests, seconds, code = asyncio.run(one_run(args.tree, args.hypothesis_profile))
        print(f"{n:>3}  {taken['reserved']:>8}  {taken['skipped']:>7}  {taken['closed']:>6}  {requests:>8}  "
              f"{seconds:>7.1f}  {code}")


if __name__ == "__main__":
    main()
