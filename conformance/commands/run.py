"""``lcm-conformance run``: the whole conformance suite against one target."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from .. import __version__, rerun
from ..expectations import Expectations
from ..hypo.plan import PROFILES
from ..hypo.reproduce import PRINTED_CHARS
from ..profile import ProfileError
from ..report import prepare_dir, write_reports
from ..report.common import clean
from ..report.terminal import print_progress, print_summary
from ..results import CaseResult, RunResult
from ..runner import (
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
from ..spec import load_spec
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
    parser.add_argument("--quiet", action="store_true", help="print only the summary")


class _Stopped(Exception):
    """Raised in the property runs' worker thread once the run was interrupted."""


class _ApiProgress:
    """Prints an API's progress line as soon as its last case has finished, and keeps
    every finished result (in order) for the reports of an interrupted run."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.spec = load_spec()
        self.expected: Counter[str] = Counter()
        self.done: dict[str, list[CaseResult]] = defaultdict(list)
        self.results: list[CaseResult] = []
        self.stopped = False
        self._lock = threading.Lock()

    def __call__(self, result: CaseResult) -> None:
        with self._lock:
            if self.stopped:  # a result that finished after Ctrl-C: not in the reports; stop the worker
                raise _Stopped("interrupted")
            self.results.append(result)
            self.done[result.api].append(result)
            if not self.quiet and len(self.done[result.api]) == self.expected[result.api]:
                print_progress(result.api, self.done[result.api], spec=self.spec)

    def stop(self) -> None:
        """From now on no result counts (the signal handler calls this: no lock taken)."""
        self.stopped = True


class _Interrupt:
    """The SIGINT handler while the suite runs: freeze the results, say so, stop the run.

    The first Ctrl-C raises KeyboardInterrupt in the main thread (the run's event loop);
    a property test in flight on the worker thread ends at its next bound. A second
    Ctrl-C stops waiting for it.
    """

    def __init__(self, progress: _ApiProgress) -> None:
        self.progress = progress
        self.count = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.progress.stop()
        message = b"interrupted: writing the results finished so far (Ctrl-C again to stop waiting)\n"
        if self.count == 1:
            os.write(2, message)  # async-signal safe: sys.stderr may be mid-write
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


def _partial(progress: _ApiProgress, options: RunOptions, started: float) -> RunResult:
    """The run made of the results that finished before Ctrl-C."""
    results = list(progress.results)
    run = RunResult(target=_target_label(options), suite_version=__version__, results=results,
                    strict=options.strict, dialect=detect_dialect(results), duration=time.perf_counter() - started)
    if options.expectations:
        run.expectation_diffs = expectation_diffs(results, load_expectations(options.expectations))
    return run


def _finish(run: RunResult, options: RunOptions, progress: _ApiProgress, expectations: Expectations | None,
            incomplete: str | None = None) -> None:
    """Rewrite the re-run hints, print the summary and write the reports."""
    rerun.rewrite(run.results, options)
    print_summary(run, spec=progress.spec, incomplete=incomplete)
    print_failing_examples(run.results)
    if options.report_dir:
        written = write_reports(run, options.report_dir, spec=progress.spec, incomplete=incomplete,
                                expectations=expectations)
        print("reports: " + ", ".join(str(p) for p in written.values()), flush=True)


def run(args: argparse.Namespace) -> int:
    progress = _ApiProgress(args.quiet)
    try:
        options = options_from(args)
        if options.report_dir:
            try:
                prepare_dir(options.report_dir)
            except OSError as exc:
                raise UsageError(f"--report-dir {options.report_dir}: cannot write reports there ({exc})") from exc
        cases, runs = plan_run(progress.spec, options)
        expectations = load_expectations(options.expectations) if options.expectations else None
    except (UsageError, ProfileError, ValueError) as exc:
        return _error(str(exc), 2)
    progress.expected.update([*(c.api for c in cases), *(r.api for r in runs)])
    started = time.perf_counter()
    interrupt = _Interrupt(progress)
    try:
        with interrupt.installed():
            result = run_blocking(options, progress)
    except KeyboardInterrupt:
        progress.stop()
        sys.stdout.flush()
        print("lcm-conformance run: interrupted", file=sys.stderr, flush=True)
        partial = _partial(progress, options, started)
        _finish(partial, options, progress, expectations,
                incomplete=f"interrupted (Ctrl-C) after {len(partial.results)} of "
                           f"{len(cases) + len(runs)} cases and property tests")
        sys.stdout.flush()
        sys.stderr.flush()
        if interrupt.count > 1 and _lingering():
            os._exit(130)  # asked twice: do not wait for the property test still in flight
        return 130
    except (UsageError, ProfileError, ValueError) as exc:
        return _error(str(exc), 2)
    except TargetUnreachable as exc:
        return _error(f"target unreachable: {exc}", 3)
    _finish(result, options, progress, expectations)
    return exit_code(result, gated=args.expectations is not None)


def _lingering() -> bool:
    """Whether a non-daemon thread (a property test's worker) would hold the process at exit."""
    return any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread())
