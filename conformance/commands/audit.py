"""``lcm-conformance audit``: judge a recorded trace offline, both directions."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from .. import trace
from ..audit import Auditor
from ..profile import Profile, ProfileError, default_profile, load_profile
from ..report import report_dir_problem, write_reports
from ..report.progress import Progress
from ..report.terminal import LEGEND, MARKS, STYLES, print_summary
from ..results import Verdict, worst
from ..runner import UsageError, exit_code, expectation_diffs, load_expectations
from ..spec import load_spec

HELP = "judge a recorded trace (from `record`) offline: the application's requests and the endpoint's replies"
DESCRIPTION = """\
Read a trace (JSON Lines, docs/trace-format.md; `lcm-conformance record` writes one) and
judge it without opening a socket, with the checks, schemas and reply pairing of `run`:

  client side  every request against the request tables, per requirement id: PASS as
               the tables write it, NON-STRICT as only a sample shows it (naming the
               discrepancy), FAIL for a missing mandatory row, a type no form allows or
               a subtopic no page mentions (results client.<requirement id>;
               one a page names without documenting it is INFORMATIONAL);
  server side  every reply as `run` judges it (results server.<API>.<check>): a request
               without its reply within the profile's response timeout FAILs; a reply
               two outstanding requests could own is reported (trace.pairing), never
               guessed;
  state        across the whole trace: a skipped contact is never handed out again, no
               contact is held by two agents, a re-fetch gives back what the agent holds.

An audit that takes more than a couple of seconds shows how far it is: at a terminal a
status line with a mark per hundredth of the trace (the worst verdict judged in it) and
an estimate of what remains, in a log a plain line every few seconds; --quiet shows none.

Each result names the trace lines it rests on and the reports show those frames. The
profile gives the response timeout, the credentials the endpoint requires (a connection
opened without them that is served FAILs) and what it is known to hold (the call id,
outcome ids); without one, the doc samples' values, no credentials and a 5 s timeout.

exit codes:
  0  no FAIL and no ERROR (with --expectations: no difference from the expected verdicts)
  1  some FAIL (or NON-STRICT under --strict, or a difference from the expectations)
  2  usage error: a bad option, profile, expectations file, report directory, or a
     trace line that is not a trace event (named)
  4  some ERROR (the suite could not judge) and no FAIL

examples:
  lcm-conformance audit app.trace.jsonl --report-dir reports
  lcm-conformance audit app.trace.jsonl --side client --strict
  lcm-conformance audit prod.trace.jsonl --profile vendor.yaml --expectations known.yaml
"""
SIDES = ("both", "client", "server")
TRACE_LABEL = "ws://recorded.trace/"
"""The target a profile-less audit is reported against until the trace names its upstream."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, metavar="FILE", help="the trace to judge")
    parser.add_argument("--report-dir", type=Path, metavar="DIR",
                        help="write results.json, junit.xml, report.md and report.html here")
    parser.add_argument("--strict", action="store_true", help="NON-STRICT verdicts fail the audit")
    parser.add_argument("--expectations", type=Path, metavar="FILE",
                        help="YAML mapping result id -> expected verdict; only differences fail the audit")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="target profile: its response timeout, credentials, call id and outcome ids "
                             "(default: the samples')")
    parser.add_argument("--side", choices=SIDES, default="both",
                        help="judge the application's requests, the endpoint's replies, or both (default)")
    parser.add_argument("--response-timeout", type=float, metavar="SECONDS",
                        help="how long a reply may take (default: the profile's, else 5)")
    parser.add_argument("--quiet", action="store_true", help="print only the outcome line (no progress display)")


PARTS = 100
"""Parts of the trace, by bytes, the progress display counts: a mark each."""
QUIET_FOR = 2.0
"""Seconds an audit runs before its progress display starts: a short one prints nothing."""


class Watch:
    """Feeds a trace to the auditor and shows how far it is (see DESCRIPTION): part ``i``
    is done once the first ``i/PARTS`` of the file's bytes are judged, and its mark is the
    worst verdict judged meanwhile. The display starts only after :data:`QUIET_FOR`
    seconds, its estimate counted from the audit's start."""

    def __init__(self, auditor: Auditor, size: int, *, quiet: bool = False, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.auditor, self.size, self.quiet, self.stream, self.clock = auditor, size, quiet, stream, clock
        self.started = clock()
        self.read = 0
        self.marks: list[str] = []
        self.display: Progress | None = None
        self._seen: Counter[str] = Counter()
        self._next = self._edge(1)

    def _edge(self, part: int) -> int:
        """The bytes read once ``part`` parts are."""
        return -(-self.size * part // PARTS)

    def lines(self, file: Iterable[bytes]) -> Iterator[bytes]:
        for raw in file:
            self.read += len(raw)
            yield raw

    def feed(self, file: BinaryIO) -> None:
        """Every event of ``file``, in order (raises :class:`trace.TraceError`); a terminal's
        status line is cleared however it ends."""
        try:
            for event in trace.read(self.lines(file)):
                self.auditor.feed(event)
                if self.read >= self._next:
                    self._advance(min(PARTS, self.read * PARTS // max(self.size, 1)))
            self._advance(PARTS if self.size else 0)
        finally:
            if self.display is not None and self.display.live:  # a log shows no mark, so no legend either
                self.display.close()

    def _advance(self, parts: int) -> None:
        if parts <= len(self.marks):
            return
        seen = self.auditor.tally.seen
        came = seen - self._seen
        self._seen = seen.copy()
        verdicts = [v for v in Verdict if came[v.value]]
        key = (worst(verdicts).value if verdicts
               else "not_run" if came["not_run"] else Verdict.PASS.value)
        new = len(self.marks)
        self.marks += [MARKS[key]] * (parts - new)
        self._next = self._edge(parts + 1)
        if self.display is None and not self.quiet and self.clock() - self.started >= QUIET_FOR:
            self.display = Progress(PARTS, LEGEND, styles=STYLES, noun="part", stream=self.stream, clock=self.clock)
            self.display.started, new = self.started, 0  # the estimate counts from the audit's start
        if self.display is not None:
            for slot in range(new, parts):
                self.display.advance(self.marks[slot], slot)


def _profile(args: argparse.Namespace) -> Profile:
    timeout = args.response_timeout
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--response-timeout must be a positive number of seconds, not {timeout:g}")
    overrides = {"timeouts.response": timeout} if timeout is not None else {}
    if args.profile is None:
        return load_profile(None, {"url": TRACE_LABEL, **overrides}, env={}) if overrides \
            else default_profile(TRACE_LABEL)
    return load_profile(args.profile, overrides)


def _error(message: str, code: int) -> int:
    print(f"lcm-conformance audit: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        profile = _profile(args)
        if args.report_dir and (problem := report_dir_problem(args.report_dir)):
            raise UsageError(problem)
        expectations = load_expectations(args.expectations) if args.expectations else None
    except (UsageError, ProfileError) as exc:
        return _error(str(exc), 2)
    spec = load_spec()
    auditor = Auditor(spec, profile, client=args.side != "server", server=args.side != "client")
    try:
        with open(args.trace, "rb") as lines:
            Watch(auditor, os.fstat(lines.fileno()).st_size, quiet=args.quiet).feed(lines)
    except OSError as exc:
        return _error(f"cannot read {args.trace}: {exc.strerror or exc}", 2)
    except trace.TraceError as exc:
        return _error(f"{args.trace}: {exc}", 2)
    results = auditor.finish()
    run_result = auditor.run_result(results, strict=args.strict, started=started,
                                    target=f"{auditor.upstream or TRACE_LABEL} (recorded in {args.trace})")
    if expectations is not None:
        run_result.expectation_diffs = expectation_diffs(results, expectations)
    if args.quiet:
        print(f"{len(results)} results from {auditor.events} trace events")
    else:
        print_summary(run_result, spec=spec)
    if args.report_dir:
        written = write_reports(run_result, args.report_dir, spec=spec, expectations=expectations)
        print("reports: " + ", ".join(str(p) for p in written.values()), flush=True)
    return exit_code(run_result, gated=expectations is not None)
