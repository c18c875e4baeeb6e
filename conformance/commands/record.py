"""``lcm-conformance record``: a recording proxy between an agent application and an endpoint."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from ..proxy import ProxySettings, RecordingProxy

HELP = "relay an agent application's WebSocket traffic to an endpoint and record it as a trace"
DESCRIPTION = """\
Listen for WebSocket connections and relay each one to the upstream endpoint, both ways,
unchanged: text and binary messages, close codes, the handshake headers and the
subprotocols the client offers (the upstream's choice, or its refusal, goes back to the
client). Every event is appended to a JSON Lines trace (docs/trace-format.md): opens with
the handshake headers and subprotocol, every message with its time and direction, closes
with their codes. Authorization, Proxy-Authorization and Cookie headers (and ?token=
query values) are always redacted; --redact names more. It prints "listening
ws://HOST:PORT/" once ready; Ctrl-C or SIGTERM closes every connection (1001), ends the
trace and flushes it.

Judge the trace offline with `lcm-conformance audit FILE`.

Bounds: a message larger than --max-frame-bytes closes that connection with 1009 (both
legs); at most --max-connections connections (more get HTTP 503); each leg buffers at
most 4 messages, and at most 8 MiB of trace waits for the disk.

exit codes:
  0  stopped cleanly (the trace is complete)
  1  the trace could not be written
  2  usage error, or the listening address cannot be bound

examples:
  lcm-conformance record --upstream wss://lcm.example.com/ws --listen 127.0.0.1:8765 --out app.trace.jsonl
  lcm-conformance record --upstream ws://127.0.0.1:9000/ --out run.jsonl --redact X-Api-Key
"""


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {value!r}")
    return host.strip("[]"), int(port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--upstream", required=True, metavar="URL", help="the endpoint to relay to (ws:// or wss://)")
    parser.add_argument("--listen", type=_listen, default=("127.0.0.1", 0), metavar="HOST:PORT",
                        help="where the application connects (default: 127.0.0.1 and a free port)")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="the trace file (JSON Lines; replaced)")
    parser.add_argument("--redact", action="append", default=[], metavar="HEADER",
                        help="also hide this handshake header's (or query parameter's) value (repeatable)")
    parser.add_argument("--max-frame-bytes", type=int, default=2**20, metavar="N",
                        help="larger messages close the connection with 1009 (default: %(default)s)")
    parser.add_argument("--max-connections", type=int, default=128, metavar="N",
                        help="connections at once; more get HTTP 503 (default: %(default)s)")


async def _record(settings: ProxySettings, out: Path) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stream = open(out, "wb")  # noqa: SIM115 -- closed below, where a failed trace's last error is known
    failure: BaseException | None = None
    try:
        async with RecordingProxy(settings, stream) as proxy:
            print(f"listening {proxy.url}", flush=True)
            stopped = asyncio.create_task(stop.wait())
            ends: set[asyncio.Future[Any]] = {stopped, proxy.writer.failed}
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
    finally:
        try:
            stream.close()
        except OSError as exc:  # the last flush; the first error, if any, is the writer's
            failure = exc
    failed = proxy.writer.failed.result() if proxy.writer.failed.done() else failure
    if failed is not None:
        print(f"lcm-conformance record: cannot write {out}: {failed}", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    if not args.upstream.startswith(("ws://", "wss://")):
        print(f"lcm-conformance record: --upstream must be a ws:// or wss:// URL, not {args.upstream!r}",
              file=sys.stderr)
        return 2
    if min(args.max_frame_bytes, args.max_connections) < 1:
        print("lcm-conformance record: limits must be positive", file=sys.stderr)
        return 2
    host, port = args.listen
    settings = ProxySettings(upstream=args.upstream, host=host, port=port, redact=tuple(args.redact),
                             max_frame_bytes=args.max_frame_bytes, max_connections=args.max_connections)
    try:
        return asyncio.run(_record(settings, args.out))
    except OSError as exc:
        print(f"lcm-conformance record: {exc.strerror or exc}", file=sys.stderr)
        return 2
