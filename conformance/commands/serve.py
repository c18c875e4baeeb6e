"""``lcm-conformance serve``: run the reference server until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..judging import LiveJudge
from ..report import report_dir_problem
from ..report.terminal import print_summary
from ..server import Limits, SeedError, running_server
from ..server.bindings import load_bindings
from ..server.default_seed import default_seed
from ..server.dialects import DIALECTS
from ..spec import load_spec
from . import reader_gone

if TYPE_CHECKING:
    from ..mutants import Target

HELP = "run the reference server (the suite's default target)"
DESCRIPTION = """\
Run the reference server: a stateful implementation of the documented API over
WebSocket, one JSON message per text frame. It prints "listening ws://HOST:PORT/" once
it accepts connections, logs one line per request to stderr, and stops cleanly on
Ctrl-C or SIGTERM.

Without --seed it starts from the default seed, built from the doc's sample messages:
each sample request, sent in doc order, gets exactly its sample response (with
--dialect samples). --print-seed shows that seed, a starting point for your own.

--mutant NAME serves a mutant of the reference server (one fault a real implementer
could ship) or a correct variant instead; `lcm-conformance mutants list` names them. A
variant's own dialect and version win over --dialect and --cm-version. A foreign.* name
serves the foreign target (written from the pages alone), which takes only --host,
--port and --token.

--judge turns it into a test bench for an agent application: every request a client
sends is judged against the request tables, as `lcm-conformance audit` judges a trace's
client side (PASS as the tables write it, NON-STRICT as only a sample shows it, FAIL for
a missing mandatory row or a subtopic no page mentions, per requirement id; one a page
names without documenting it is INFORMATIONAL). results.json in
--report-dir is rewritten after every request; the four reports are written on stop.

examples:
  lcm-conformance serve --port 8765
  lcm-conformance serve --port 8765 --judge --report-dir app-report
  lcm-conformance serve --dialect tables --seed my-seed.yaml --token s3cret
  lcm-conformance serve --print-seed > my-seed.yaml
  lcm-conformance serve --mutant state.shared-reservation
"""
_DEFAULTS = Limits()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--seed", type=Path, metavar="FILE", help="seed YAML replacing the default seed")
    parser.add_argument("--dialect", choices=DIALECTS, default="samples",
                        help="answer as the samples (default) or as the tables do")
    parser.add_argument("--cm-version", type=int, metavar="V",
                        help="act as this Campaign Manager version (drops APIs documented only up to an earlier one)")
    parser.add_argument("--token", metavar="T",
                        help="require this token in the handshake (Authorization: Bearer T, or ?token=T)")
    parser.add_argument("--max-connections", type=int, default=_DEFAULTS.max_connections, metavar="N",
                        help="open connections at most (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=_DEFAULTS.messages_per_second, metavar="R",
                        help="messages per second per connection before frames wait; 0 for no limit "
                             "(default: %(default)s)")
    parser.add_argument("--burst", type=int, default=_DEFAULTS.burst, metavar="N",
                        help="messages a connection may send at once (default: %(default)s)")
    parser.add_argument("--max-frame-bytes", type=int, default=_DEFAULTS.max_frame_bytes, metavar="N",
                        help="larger frames get an error reply (default: %(default)s)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-request log lines")
    parser.add_argument("--print-seed", action="store_true", help="print the default seed as YAML and exit")
    parser.add_argument("--mutant", metavar="NAME", help="serve this mutant or correct variant (see `mutants list`)")
    parser.add_argument("--judge", action="store_true",
                        help="judge every request clients send against the request tables (needs --report-dir)")
    parser.add_argument("--report-dir", type=Path, metavar="DIR",
                        help="with --judge: results.json after every request, the four reports on stop")


def _server(args: argparse.Namespace, limits: Limits, mutant: Target | None,
            judge: LiveJudge | None) -> AbstractAsyncContextManager[str]:
    """The reference server, or the mutant or variant ``--mutant`` names."""
    options = dict(host=args.host, port=args.port, dialect=args.dialect, seed=args.seed,
                   cm_version=args.cm_version, token=args.token, limits=limits)
    if mutant is None:
        return running_server(**options, observer=judge)
    from ..mutants.serving import running_target

    return running_target(mutant, **options)


async def _serve(args: argparse.Namespace, limits: Limits, mutant: Target | None, judge: LiveJudge | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with _server(args, limits, mutant, judge) as url:
        if judge is not None:
            judge.target = f"the clients of the reference server at {url}"
        print(f"listening {url}", flush=True)
        await stop.wait()


def _judge(args: argparse.Namespace) -> LiveJudge | str | None:
    """The live judge ``--judge`` asks for, or why it cannot be had (a usage error)."""
    if not args.judge:
        return "--report-dir is only read with --judge" if args.report_dir else None
    if args.report_dir is None:
        return "--judge needs --report-dir DIR (where results.json and the reports go)"
    if args.mutant is not None:
        return "--judge judges the clients of the reference server; it does not serve a mutant"
    return report_dir_problem(args.report_dir) or LiveJudge(args.report_dir)


def _mutant(name: str) -> Target | None:
    from ..mutants import TARGETS  # the catalogue loads only when a mutant is asked for

    return TARGETS.get(name)


def _print_seed() -> int:
    """Print the default seed; a reader that stops early (``| head``) ends it quietly."""
    spec = load_spec()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: the seed is long
    try:
        yaml.dump(default_seed(spec, load_bindings(spec)), sys.stdout,
                  Dumper=dumper, sort_keys=False, allow_unicode=True)
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone()
    return 0


def run(args: argparse.Namespace) -> int:
    if args.print_seed:
        return _print_seed()
    if min(args.max_connections, args.burst, args.max_frame_bytes) < 1 or args.rate < 0:
        print("lcm-conformance serve: limits must be positive (--rate may be 0)", file=sys.stderr)
        return 2
    mutant = _mutant(args.mutant) if args.mutant is not None else None
    if args.mutant is not None and mutant is None:
        print(f"lcm-conformance serve: no mutant or variant {args.mutant!r}; "
              "`lcm-conformance mutants list` names them", file=sys.stderr)
        return 2
    judge = _judge(args)
    if isinstance(judge, str):
        print(f"lcm-conformance serve: {judge}", file=sys.stderr)
        return 2
    limits = Limits(
        max_connections=args.max_connections,
        messages_per_second=args.rate or None,
        burst=args.burst,
        max_frame_bytes=args.max_frame_bytes,
    )
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(message)s", level=logging.WARNING)
    logging.getLogger("conformance.server").setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        asyncio.run(_serve(args, limits, mutant, judge))
    except SeedError as exc:
        print(f"lcm-conformance serve: seed: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lcm-conformance serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    if judge is not None:
        _judged(judge)
    return 0


def _judged(judge: LiveJudge) -> None:
    """The judge's summary and reports, once the server has stopped."""
    result, written = judge.finish()
    print_summary(result, spec=judge.spec)
    print(f"{judge.requests} requests judged; reports: " + ", ".join(str(p) for p in written.values()), flush=True)
