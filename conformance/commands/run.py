"""``lcm-conformance run``: the whole conformance suite against one target."""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

from ..profile import ProfileError
from ..report import write_reports
from ..report.terminal import print_progress, print_summary
from ..results import CaseResult
from ..hypo.plan import PROFILES
from ..hypo.reproduce import PRINTED_CHARS
from ..report.common import clean
from ..runner import RunOptions, UsageError, exit_code, plan_run, run_blocking
from ..spec import load_spec
from ..transport import TargetUnreachable

HELP = "run the conformance suite against a target (default: the embedded reference server)"
DESCRIPTION = """\
Send every case of the suite to a target over WebSocket and judge each reply against
the documentation: PASS (as the tables say), NON-STRICT (only as a sample shows; the
report names the discrepancy), INFORMATIONAL (behaviour the docs leave open),
UNIMPLEMENTED (the target does not offer the API), FAIL (contradicts the docs).

With neither --target nor --profile, the embedded reference server is started on a
free 127.0.0.1 port and tested.

After the example cases, Hypothesis property tests (per API: valid requests, invalid
requests, echoes, robustness) and a stateful test of two agents' contacts search the
space around them; each is one result. A failing one is shrunk and written as a case
file (into --report-dir, and printed) that --case FILE replays. Without --hypothesis-db
they draw the same examples every run, so a target gets the same verdicts.

exit codes:
  0  no FAIL (with --expectations: no difference from the expected verdicts)
  1  some FAIL (or NON-STRICT under --strict, or a difference from the expectations)
  2  usage or configuration error (bad option, profile, case id or expectations file)
  3  target unreachable

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
                        help="YAML mapping case id -> expected verdict; only differences fail the run")
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


class _ApiProgress:
    """Prints an API's progress line as soon as its last case has finished."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.spec = load_spec()
        self.expected: Counter[str] = Counter()
        self.done: dict[str, list[CaseResult]] = defaultdict(list)

    def __call__(self, result: CaseResult) -> None:
        self.done[result.api].append(result)
        if not self.quiet and len(self.done[result.api]) == self.expected[result.api]:
            print_progress(result.api, self.done[result.api], spec=self.spec)


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


def run(args: argparse.Namespace) -> int:
    options = RunOptions(
        target=args.target, profile=args.profile, strict=args.strict, cases=tuple(args.case),
        apis=tuple(args.api), expectations=args.expectations, dialect=args.dialect,
        overrides={"timeouts.response": args.response_timeout} if args.response_timeout else {},
        hypothesis_profile=args.hypothesis_profile, hypothesis_db=args.hypothesis_db, report_dir=args.report_dir,
    )
    progress = _ApiProgress(args.quiet)
    try:
        cases, runs = plan_run(progress.spec, options)
        progress.expected.update(item.api for item in (*cases, *runs))
        result = run_blocking(options, progress)
    except (UsageError, ProfileError, ValueError) as exc:
        return _error(str(exc), 2)
    except TargetUnreachable as exc:
        return _error(f"target unreachable: {exc}", 3)
    print_summary(result, spec=progress.spec)
    print_failing_examples(result.results)
    if args.report_dir:
        written = write_reports(result, args.report_dir, spec=progress.spec)
        print("reports: " + ", ".join(str(p) for p in written.values()))
    return exit_code(result, gated=args.expectations is not None)
