"""``lcm-conformance run``: the whole conformance suite against one target."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from .. import __version__, rerun
from ..cases import Case
from ..expectations import Expectations
from ..hypo.plan import PLANS, PROFILES, Plan
from ..hypo.record import PropertyRun
from ..hypo.reproduce import PRINTED_CHARS
from ..profile import ProfileError
from ..report import report_dir_problem, write_reports
from ..report.common import clean
from ..report.progress import Group, Progress
from ..report.terminal import LEGEND, STYLES, mark, print_summary
from ..results import CaseResult, RunResult
from ..runner import (
    DEFAULT_JOBS,
    RunOptions,
    UsageError,
    detect_dialect,
    exit_code,
    expectation_diffs,
    load_expectations,
    make_profile,
    plan_run,
    run_blocking,
)
from ..spec import Spec, load_spec
from ..transport import TargetUnreachable

HELP = "run the conformance suite against a target (default: the embedded reference server)"
DESCRIPTION = """\
Send every case of the suite to a target over WebSocket and judge each reply against
the documentation: PASS (as the tables say), NON-STRICT (only as a sample shows; the
report names the discrepancy), INFORMATIONAL (behaviour the docs leave open),
UNIMPLEMENTED (the target does not offer the API), FAIL (contradicts the docs),
ERROR (the suite could not judge: a bug of the suite, never the target's fault).

With neither --target nor --profile, the embedded reference server is started on a
free 127.0.0.1 port and tested.

After the example cases, Hypothesis property tests (per API: valid requests, invalid
requests, echoes, robustness) and a stateful test of two agents' contacts search the
space around them; each is one result. A failing one is shrunk and written as a case
file (into --report-dir, and printed) that --case FILE replays. Without --hypothesis-db
they draw the same examples every run, so a target gets the same verdicts.

Up to --jobs cases and property tests run at once, each on its own connections; those
touching the same state (the agents' contacts, the known call) run one after another in
a fixed order, so every verdict is the one --jobs 1 gives (docs/judging.md). The progress
lines come in the same order whatever finishes first; a terminal also gets a status line
with an estimate of what remains, a log a plain line every few seconds.

Every failing case comes with a command that re-runs it the way this run ran it and
the frames that replay it by hand. Ctrl-C stops the run: the reports of the results
finished so far are written, marked incomplete.

exit codes:
  0  no FAIL and no ERROR (with --expectations: no difference from the expected verdicts)
  1  some FAIL (or NON-STRICT under --strict, or a difference from the expectations)
  2  usage or configuration error (bad option, profile, API, case id, timeout, report
     directory or expectations file), found before anything is sent
  3  target unreachable
  4  some ERROR (the suite could not judge a case) and no FAIL
  130  interrupted (Ctrl-C); the reports hold the results finished so far

examples:
  lcm-conformance run
  lcm-conformance run --target ws://127.0.0.1:8080/ --report-dir reports
  lcm-conformance run --profile vendor.yaml --expectations known-failures.yaml
  lcm-conformance run --case 'SCOC.*' --case GRMDC.count
  lcm-conformance run --hypothesis-profile thorough --hypothesis-db .hypothesis
  lcm-conformance run --case reports/property.ManualDialCall.echo.yaml
  lcm-conformance run --profile vendor.yaml --jobs 1 --quiet
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--target", metavar="URL", help="ws:// or wss:// URL of the target")
    where.add_argument("--profile", type=Path, metavar="FILE",
                       help="target profile (YAML; see examples/target-profile.yaml)")
    parser.add_argument("--report-dir", type=Path, metavar="DIR",
                        help="write results.json, junit.xml, report.md and report.html here")
    parser.add_argument("--strict", action="store_true",
                        help="NON-STRICT verdicts fail the run (the target must follow the tables)")
    parser.add_argument("--expectations", type=Path, metavar="FILE",
                        help="YAML mapping case id -> expected verdict (or -> {verdict: V, reason: TEXT}); "
                             "only differences fail the run")
    parser.add_argument("--case", action="append", default=[], metavar="ID",
                        help="run only this case or property test (repeatable; a trailing * matches a prefix; "
                             "a .yaml path runs that case file, e.g. a failing example a property test wrote)")
    parser.add_argument("--api", action="append", default=[], metavar="SUBTOPIC",
                        help="run only the cases of this API (repeatable)")
    parser.add_argument("--dialect", choices=("samples", "tables"), default="samples",
                        help="dialect of the embedded reference server (default: samples)")
    parser.add_argument("--response-timeout", type=float, metavar="SECONDS",
                        help="how long to wait for each reply (default: the profile's, else 5)")
    parser.add_argument("--hypothesis-profile", choices=PROFILES, default="quick",
                        help="property tests: quick (about 200 messages), ci (derandomized), thorough, "
                             "or off (default: quick)")
    parser.add_argument("--hypothesis-db", type=Path, metavar="DIR",
                        help="search afresh each run, keeping failing examples in DIR to try first next time "
                             "(default: keep nothing and draw the same examples every run)")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, metavar="N",
                        help="cases and property tests at once, each on its own connections; those touching the "
                             "same contacts or call still run one after another, in order "
                             f"(default: {DEFAULT_JOBS}; 1: one at a time)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary (no progress display)")


class _Watch:
    """Shows the run's progress (unless quiet) and keeps every finished result, in plan
    order, for the reports of an interrupted run.

    The progress lines come in a stable order whatever finishes first: one per API for its
    cases, in the spec's order, then one per API for its property runs, each once it is
    complete and the ones before it are printed."""

    def __init__(self, spec: Spec, cases: list[Case], runs: list[PropertyRun], plan: Plan, *, quiet: bool) -> None:
        self.slots: dict[str, list[int]] = {}
        groups: list[Group] = []
        weights: list[float] = []
        items: list[tuple[list[tuple[str, str, float]], str]] = [
            ([(c.api, c.id, len(c.steps)) for c in cases], "case"),
            ([(r.api, r.id, _messages(r, plan)) for r in runs], "property run"),
        ]
        for rows, noun in items:
            by_api: dict[str, list[tuple[str, float]]] = {}
            for api, ident, weight in rows:
                by_api.setdefault(api, []).append((ident, weight))
            for api in [*(a for a in spec.apis if a in by_api), *sorted(set(by_api) - set(spec.apis))]:
                for ident, weight in by_api[api]:
                    self.slots.setdefault(ident, []).append(len(weights))
                    weights.append(weight)
                groups.append(Group(api, len(by_api[api]), noun))
        self.total = len(weights)
        self.display = None if quiet else Progress(self.total, LEGEND, groups=groups, styles=STYLES, weights=weights)
        self.finished: list[tuple[int, CaseResult]] = []
        self.stopped = False
        self._lock = threading.Lock()

    def __call__(self, result: CaseResult) -> None:
        with self._lock:
            if self.stopped:  # finished after Ctrl-C: not in the reports
                return
            free = self.slots.get(result.id)
            slot = free.pop(0) if free else self.total + len(self.finished)
            self.finished.append((slot, result))
            if self.display is not None:
                self.display.advance(mark(result), slot)

    @property
    def results(self) -> list[CaseResult]:
        """The results finished so far, in plan order."""
        return [r for _, r in sorted(self.finished, key=lambda pair: pair[0])]

    def stop(self) -> None:
        """From now on no result counts (the signal handler calls this: no lock taken)."""
        self.stopped = True

    def close(self) -> None:
        if self.display is not None:
            self.display.close()


def _messages(run: PropertyRun, plan: Plan) -> float:
    """Roughly what a property run sends, for the estimate of what remains: two messages an
    example, a step of the stateful test each."""
    if run.drives:
        return float(plan.stateful_examples * plan.stateful_steps)
    return 2.0 * max(plan.examples.values())


def _interrupt() -> None:
    raise KeyboardInterrupt


class _Interrupt:
    """The SIGINT handler while the suite runs: freeze the results, say so, stop the run.

    The first Ctrl-C raises KeyboardInterrupt out of the run's event loop (from a callback
    of its own, so no task of the run holds it); the property tests in flight on worker
    threads end at their next message. A second Ctrl-C stops waiting for them.
    """

    def __init__(self, watch: _Watch) -> None:
        self.watch = watch
        self.count = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.watch.stop()
        message = b"interrupted: writing the results finished so far (Ctrl-C again to stop waiting)\n"
        if self.count == 1:
            os.write(2, message)  # async-signal safe: sys.stderr may be mid-write
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                loop.call_soon_threadsafe(_interrupt)
                return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """This handler for SIGINT while the block runs, in place of Python's default one only:
        an ignored SIGINT stays ignored, and signals reach only the main thread."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield
            return
        previous = signal.signal(signal.SIGINT, self)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def print_failing_examples(results: list[CaseResult]) -> None:
    """Each property test's shrunk failing example, as the case file that replays it."""
    for result in results:
        reproduce = result.reproduce or {}
        if "case_yaml" not in reproduce:
            continue
        text = reproduce["case_yaml"]
        print(f"\n# {result.id}: the shrunk failing example, as a case file ({reproduce['case_file']})")
        if len(text) > PRINTED_CHARS:
            print(f"# ({len(text)} characters: too long to print; results.json has it as reproduce.case_yaml)")
        else:
            print(clean(text), end="")


def _error(message: str, code: int) -> int:
    print(f"lcm-conformance run: {message}", file=sys.stderr)
    return code


def options_from(args: argparse.Namespace) -> RunOptions:
    """The run's options from the command line; raises UsageError for a bad value."""
    timeout = args.response_timeout
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--response-timeout must be a positive number of seconds, not {timeout:g}")
    return RunOptions(
        target=args.target, profile=args.profile, strict=args.strict, cases=tuple(args.case),
        apis=tuple(args.api), expectations=args.expectations, dialect=args.dialect,
        overrides={"timeouts.response": timeout} if timeout is not None else {},
        hypothesis_profile=args.hypothesis_profile, hypothesis_db=args.hypothesis_db, report_dir=args.report_dir,
        jobs=args.jobs,
    )


def _target_label(options: RunOptions) -> str:
    """The target as an interrupted run's reports name it (a whole run has the exact label)."""
    if options.target:
        return options.target
    if options.profile:
        try:
            return make_profile(options, None).url
        except (ProfileError, ValueError, OSError):
            return f"the target of profile {options.profile}"
    return f"embedded reference server ({options.dialect} dialect)"


def _partial(watch: _Watch, options: RunOptions, started: float) -> RunResult:
    """The run made of the results that finished before Ctrl-C."""
    results = watch.results
    run = RunResult(target=_target_label(options), suite_version=__version__, results=results,
                    strict=options.strict, dialect=detect_dialect(results), duration=time.perf_counter() - started)
    if options.expectations:
        run.expectation_diffs = expectation_diffs(results, load_expectations(options.expectations))
    return run


EMBEDDED_SAMPLES = ("NON-STRICT is expected here: the embedded reference server answers as the doc samples do "
                    "(topic WebService, ContactId, ...), where the tables say otherwise; "
                    "--dialect tables makes it answer as the tables say")


def notes(run: RunResult, options: RunOptions) -> list[str]:
    """Lines explaining the summary: why the embedded server's samples dialect earns
    NON-STRICT (a newcomer's first run is against it)."""
    embedded = not (options.target or options.profile)
    if embedded and options.dialect == "samples" and run.summary()["non_strict"]:
        return [EMBEDDED_SAMPLES]
    return []


def _finish(run: RunResult, options: RunOptions, spec: Spec, expectations: Expectations | None,
            incomplete: str | None = None) -> None:
    """Rewrite the re-run hints, print the summary and write the reports."""
    rerun.rewrite(run.results, options)
    print_summary(run, spec=spec, incomplete=incomplete, notes=notes(run, options))
    print_failing_examples(run.results)
    if options.report_dir:
        written = write_reports(run, options.report_dir, spec=spec, incomplete=incomplete,
                                expectations=expectations)
        print("reports: " + ", ".join(str(p) for p in written.values()), flush=True)


def run(args: argparse.Namespace) -> int:
    spec = load_spec()
    try:
        options = options_from(args)
        if options.report_dir and (problem := report_dir_problem(options.report_dir)):
            raise UsageError(problem)
        cases, runs = plan_run(spec, options)
        expectations = load_expectations(options.expectations) if options.expectations else None
    except (UsageError, ProfileError, ValueError) as exc:
        return _error(str(exc), 2)
    watch = _Watch(spec, cases, runs, PLANS.get(options.hypothesis_profile, PLANS["quick"]), quiet=args.quiet)
    started = time.perf_counter()
    interrupt = _Interrupt(watch)
    try:
        with interrupt.installed():
            result = run_blocking(options, watch)
    except KeyboardInterrupt:
        watch.stop()
        watch.close()
        sys.stdout.flush()
        print("lcm-conformance run: interrupted", file=sys.stderr, flush=True)
        partial = _partial(watch, options, started)
        _finish(partial, options, spec, expectations,
                incomplete=f"interrupted (Ctrl-C) after {len(partial.results)} of "
                           f"{len(cases) + len(runs)} cases and property tests")
        sys.stdout.flush()
        sys.stderr.flush()
        if interrupt.count > 1 and _lingering():
            os._exit(130)  # asked twice: do not wait for the property test still in flight
        return 130
    except (UsageError, ProfileError, ValueError) as exc:
        watch.close()
        return _error(str(exc), 2)
    except TargetUnreachable as exc:
        watch.close()
        return _error(str(exc), 3)
    watch.close()
    _finish(result, options, spec, expectations)
    return exit_code(result, gated=args.expectations is not None)


def _lingering() -> bool:
    """Whether a non-daemon thread (a property test's worker) would hold the process at exit."""
    return any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread())
