"""A whole conformance run: pick the target, select cases, run them, judge the run.

Used by ``lcm-conformance run`` and by the pytest plugin. With no target the
embedded reference server is started on a free loopback port and tested like any
other target: the suite knows it only through its wire. After the example cases come
the Hypothesis property and stateful runs (:mod:`conformance.hypo`), one result each.
Up to ``jobs`` of them run at once, each on its own connections, in an order that gives
every case the verdict a run one at a time gives (:mod:`conformance.schedule`); results
come back in plan order whatever finishes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis.errors import HypothesisDeprecationWarning

from . import __version__
from .breaker import FLOOD_PER_REQUEST, Breaker
from .cases import Case, CaseError, load_case_file, load_cases
from .engine import CaseRunner, Turn
from .expectations import Expectations, ExpectationsError, unknown_ids
from .expectations import read as read_expectations
from .hypo import suite as hypothesis_suite
from .hypo.driver import Session
from .hypo.plan import PROFILES
from .hypo.record import PropertyRun
from .messages import items, member
from .profile import Profile, load_profile
from .results import CaseResult, CheckResult, RunResult, Verdict
from .schedule import Unit, case_footprint, run_footprint, run_in_order
from .spec import Spec, load_spec
from .transport import Connection, TargetUnreachable

Progress = Callable[[CaseResult], None]
RANDOM_MODULE = "Do not use the `random` module inside strategies"
DEFAULT_JOBS = 8
"""Cases and property runs at once by default. bench/bench_latency.py: from 8 on, a run
across a network is as fast as the chain of cases that wait for one another allows (16
gains a few percent), and a loopback run is no slower than one at a time; at most twice
this many connections are open at once, which an endpoint limiting them may refuse."""


class UsageError(ValueError):
    """Bad options, case selection or expectations file (exit code 2)."""


@dataclass
class RunOptions:
    """What to run against what; mirrors the command-line options."""

    target: str | None = None
    profile: Path | None = None
    strict: bool = False
    cases: tuple[str, ...] = ()
    apis: tuple[str, ...] = ()
    expectations: Path | None = None
    dialect: str = "samples"
    overrides: dict[str, Any] = field(default_factory=dict)
    hypothesis_profile: str = "quick"
    """quick, ci, thorough, or off (no property tests)."""
    hypothesis_db: Path | None = None
    """Where Hypothesis keeps failing examples between runs; None keeps nothing."""
    report_dir: Path | None = None
    """Where a property test writes its shrunk failing example as a case file."""
    jobs: int = DEFAULT_JOBS
    """Cases and property runs at once, each on its own connections (1: one at a time)."""


def _matches(ident: str, ids: tuple[str, ...]) -> bool:
    return any(ident == i or (i.endswith("*") and ident.startswith(i[:-1])) for i in ids)


def select_cases(cases: list[Case], ids: tuple[str, ...], apis: tuple[str, ...]) -> list[Case]:
    """Cases by id (a trailing ``*`` matches a prefix) and by API; unknown ids are errors."""
    chosen = cases
    if apis:
        chosen = [c for c in chosen if c.api in apis]
    if ids:
        chosen = [c for c in chosen if _matches(c.id, ids)]
        if not chosen:
            raise UsageError(f"no case matches {', '.join(ids)}; `lcm-conformance coverage` lists the ids")
    return chosen


def case_files(selection: tuple[str, ...]) -> tuple[list[Path], tuple[str, ...]]:
    """Split ``--case`` values into case files (a ``.yaml`` path) and case ids."""
    files = [Path(s) for s in selection if s.endswith((".yaml", ".yml"))]
    for path in files:
        if not path.is_file():
            raise UsageError(f"no case file {path}")
    return files, tuple(s for s in selection if not s.endswith((".yaml", ".yml")))


def plan_run(spec: Spec, options: RunOptions) -> tuple[list[Case], list[PropertyRun]]:
    """The cases and property runs to do; every usage error is raised here, before anything runs.

    ``--case`` values that are case files run those files' cases (a property test's
    failing example, say) and nothing else unless ids are given too; ids select suite
    cases and property runs (``property.*``, ``stateful.*``) alike; ``--api`` narrows both.
    """
    if options.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {options.jobs}")
    if options.hypothesis_profile not in PROFILES:
        raise UsageError(f"unknown Hypothesis profile {options.hypothesis_profile!r}; one of {', '.join(PROFILES)}")
    if unknown := [a for a in options.apis if a not in spec.apis]:
        raise UsageError(f"unknown API {', '.join(map(repr, unknown))}; the documented request subtopics are "
                         f"{', '.join(spec.apis)}")
    for key, value in options.overrides.items():
        if key.startswith("timeouts.") and value is not None and not (
                isinstance(value, (int, float)) and 0 < value < float("inf")):
            raise UsageError(f"{key} must be a positive number of seconds, not {value!r}")
    files, ids = case_files(options.cases)
    try:
        from_files = [case for path in files for case in load_case_file(spec, path)]
    except CaseError as exc:
        raise UsageError(str(exc)) from exc
    all_runs = hypothesis_suite.all_runs(spec)
    if options.expectations:
        known = {c.id for c in (*load_cases(spec), *from_files)} | {r.id for r in all_runs}
        if unknown := unknown_ids(load_expectations(options.expectations), known):
            raise UsageError(f"expectations file {options.expectations}: unknown case id(s) {', '.join(unknown)}; "
                             "`lcm-conformance coverage` lists the ids")
    runs = [] if options.hypothesis_profile == "off" else all_runs
    if options.apis:
        runs = [r for r in runs if r.api in options.apis]
    if not ids:
        return (from_files, []) if files else (select_cases(load_cases(spec), (), options.apis), runs)
    cases = [c for c in select_cases(load_cases(spec), (), options.apis) if _matches(c.id, ids)]
    runs = [r for r in runs if _matches(r.id, ids)]
    if not cases and not runs:
        raise UsageError(f"no case matches {', '.join(ids)}; `lcm-conformance coverage` lists the ids")
    return from_files + cases, runs


def load_expectations(path: Path) -> Expectations:
    """An expectations file: case id → expected verdict, spelled as the reports print it.

    An entry is ``id: VERDICT`` or ``id: {verdict: VERDICT, reason: "..."}``; the reasons
    are kept in the result's ``reasons``. Every bad entry is named (a UsageError).
    """
    try:
        return read_expectations(path)
    except ExpectationsError as exc:
        raise UsageError(str(exc)) from exc


def expectation_diffs(results: list[CaseResult], expected: dict[str, Verdict]) -> list[str]:
    """Where the run differs from the expectations: a new failure or an unexpected pass.

    A case the file does not list is expected not to FAIL. An ERROR is no difference: the
    suite could not judge the case, which is the suite's fault, not the target's, and the
    run exits 4 for it whatever the file says.
    """
    reasons = getattr(expected, "reasons", {})
    diffs = []
    for r in results:
        want = expected.get(r.id)
        if r.verdict is Verdict.ERROR:
            continue
        if want is None:
            if r.verdict is Verdict.FAIL:
                diffs.append(f"{r.id}: new failure ({r.detail})")
        elif r.verdict is not want:
            why = f" ({reasons[r.id]})" if r.id in reasons else ""
            diffs.append(f"{r.id}: expected {want.label}{why}, got {r.verdict.label}")
    return diffs


def detect_dialect(results: list[CaseResult]) -> str:
    """Which documented form the target's replies follow: samples, tables, mixed or unknown."""
    votes: Counter[str] = Counter()
    for r in results:
        for f in r.frames:
            if f.direction != "received":
                continue
            try:
                reply = json.loads(f.text)
            except ValueError:
                continue
            if not isinstance(reply, dict):
                continue
            votes.update(_dialect_votes(reply))
    if not votes:
        return "unknown"
    if votes["samples"] and votes["tables"]:
        return "mixed" if min(votes.values()) * 5 > max(votes.values()) else votes.most_common(1)[0][0]
    return votes.most_common(1)[0][0]


def _dialect_votes(reply: dict[str, Any]) -> list[str]:
    votes = []
    if reply.get("topic") in ("WebService", "InboundCall"):
        votes.append("samples")
    elif reply.get("topic") == "Webservice":
        votes.append("tables")
    response = member(reply.get("message"), "response")
    if isinstance(response, list):
        votes.append("tables")
    for contact in items(response):
        if isinstance(contact, dict) and "ContactId" in contact:
            votes.append("samples")
        elif isinstance(contact, dict) and "ContactID" in contact:
            votes.append("tables")
    return votes


FLOOD_ID = "run.unsolicited-frames"


def flooded(why: str) -> CaseResult:
    """The whole run's one FAIL for a target that floods its connections with frames that
    answer nothing (each case judged only its own replies)."""
    doc = "every page: a Sample Request is answered by one Sample Response (DESIGN.md: a flooding target FAILs)"
    check = CheckResult("unsolicited frames", Verdict.FAIL, (), "documented", doc,
                        f"at most {FLOOD_PER_REQUEST:g} frames that answer nothing per request", why)
    return CaseResult(FLOOD_ID, "The target does not flood its connections with frames nobody asked for", "*",
                      (), doc, "documented", Verdict.FAIL, check.message(), checks=[check])


def make_profile(options: RunOptions, url: str | None) -> Profile:
    """The target profile: from a file, else the defaults (the doc's sample values)."""
    overrides = dict(options.overrides)
    if url:
        overrides["url"] = url
    return load_profile(options.profile, overrides)


@contextlib.asynccontextmanager
async def target_url(options: RunOptions) -> AsyncIterator[tuple[str | None, bool]]:
    """Yield (URL or None for "take it from the profile", embedded?)."""
    if options.target or options.profile:
        yield options.target, False
        return
    from .server import running_server

    async with running_server(dialect=options.dialect) as url:
        yield url, True


async def probe(profile: Profile) -> None:
    """Open and close one connection, so an unreachable target stops the run at once."""
    conn = Connection.from_profile(profile)
    try:
        await conn.connect()
    finally:
        await conn.close()


async def run_cases(spec: Spec, profile: Profile, cases: list[Case], progress: Progress | None = None,
                    *, label: str | None = None, breaker: Breaker | None = None, jobs: int = 1) -> list[CaseResult]:
    """Run cases within the profile's whole-run time bound, up to ``jobs`` at once; their
    results in the order of ``cases``. ``progress`` is told of each as it finishes."""
    runner = CaseRunner(spec, profile, target_label=label, breaker=breaker)
    return await run_plan(runner, cases, [], None, progress, jobs=jobs)


async def run_plan(runner: CaseRunner, cases: list[Case], runs: list[PropertyRun], session: Session | None,
                   progress: Progress | None = None, *, jobs: int = DEFAULT_JOBS) -> list[CaseResult]:
    """The cases, then the property runs (``session``'s, on worker threads that send
    through this loop), up to ``jobs`` at once, scheduled by the state their requests
    touch (:mod:`.schedule`); their results in that order. ``progress`` is told of each
    as it finishes. The runner's breaker and ``session.withdrawn`` should be the run's
    (the session's breaker, and ``withdrawn=runner.withdrawn``)."""
    spec, profile = runner.spec, runner.profile

    def unit(index: int) -> Unit:
        if index < len(cases):
            return Unit(case_footprint(spec, profile, cases[index]))
        return Unit((run_footprint(spec, profile, runs[index - len(cases)]),))

    deadline = time.monotonic() + profile.timeouts.run
    loop = asyncio.get_running_loop()
    workers = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(runs))), thread_name_prefix="lcm-property")

    async def work(index: int, turn: Turn) -> CaseResult:
        if index >= len(cases):  # started at once: it waits for its turn at its first request
            assert session is not None
            own = dataclasses.replace(session, turn=turn)
            return await loop.run_in_executor(workers, hypothesis_suite.run_one, runs[index - len(cases)], own)
        case = cases[index]
        if time.monotonic() > deadline:
            result = CaseResult(case.id, case.title, case.api, case.requirements, case.doc, case.basis,
                                Verdict.INFORMATIONAL, "")
            result.not_run = f"the whole run exceeded its {profile.timeouts.run:g}s bound"
            result.detail = f"not run: {result.not_run}"
            return result
        return await runner.run(case, turn)

    def done(_: int, result: CaseResult) -> None:
        if progress:
            progress(result)

    try:
        with warnings.catch_warnings():
            # Hypothesis checks the random module's state around each test; tests on several
            # threads of one process see each other's, a false alarm (no strategy here uses it).
            warnings.filterwarnings("ignore", RANDOM_MODULE, HypothesisDeprecationWarning)
            return await run_in_order(len(cases) + len(runs), unit, work, jobs=jobs, done=done)
    except BaseException:  # interrupted: each worker thread stops at its next message
        if session is not None:
            session.interrupted.set()
        raise
    finally:
        workers.shutdown(wait=False, cancel_futures=True)


async def run_suite(options: RunOptions, progress: Progress | None = None) -> RunResult:
    """The whole run. Raises UsageError, ProfileError or TargetUnreachable."""
    spec = load_spec()
    cases, runs = plan_run(spec, options)
    expected = load_expectations(options.expectations) if options.expectations else None
    started = time.perf_counter()
    async with target_url(options) as (url, embedded):
        profile = make_profile(options, url)
        label = f"{profile.url} (embedded reference server, {options.dialect} dialect)" if embedded else profile.url
        await probe(profile)
        breaker = Breaker()
        runner = CaseRunner(spec, profile, target_label=profile.url, breaker=breaker)
        session = hypothesis_suite.session(
            spec, profile, options.hypothesis_profile, asyncio.get_running_loop(), database=options.hypothesis_db,
            report_dir=options.report_dir, deadline=time.monotonic() + profile.timeouts.run,
            gated=options.expectations is not None, breaker=breaker, withdrawn=runner.withdrawn,
        ) if runs else None
        results = await run_plan(runner, cases, runs, session, progress, jobs=options.jobs)
        if (flood := breaker.flooding()) is not None:
            results.append(flooded(flood))
            if progress:
                progress(results[-1])
    run = RunResult(target=label, suite_version=__version__, results=results, strict=options.strict,
                    dialect=detect_dialect(results), duration=time.perf_counter() - started,
                    consumed=breaker.consumed.to_json())
    if expected is not None:
        run.expectation_diffs = expectation_diffs(results, expected)
    return run


def exit_code(run: RunResult, *, gated: bool) -> int:
    """1: some FAIL (or NON-STRICT under --strict; with expectations: some difference from
    them instead); else 4: some ERROR (the suite could not judge); else 0."""
    if run.expectation_diffs if gated else run.failed():
        return 1
    return 4 if run.errored() else 0


def run_blocking(options: RunOptions, progress: Progress | None = None) -> RunResult:
    """:func:`run_suite` for callers without an event loop."""
    return asyncio.run(run_suite(options, progress))


__all__ = [
    "DEFAULT_JOBS", "RunOptions", "TargetUnreachable", "UsageError", "detect_dialect", "exit_code",
    "expectation_diffs", "load_expectations", "plan_run", "run_blocking", "run_cases", "run_plan", "run_suite",
    "select_cases",
]
