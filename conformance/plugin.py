"""pytest plugin: the conformance cases of ``cases/*.yaml`` as pytest items.

Registered through the ``pytest11`` entry point, so ``pytest cases/`` (or plain
``pytest`` in the source tree) runs the same suite as ``lcm-conformance run``, with
the same options spelled ``--lcm-…``. Given a target (``--lcm-target`` or
``--lcm-profile``) and no path, pytest collects the installed suite's cases, so
``python -m pytest --lcm-target URL`` runs the suite from any directory after a plain
``pip install``. The target is set up once per session; each item runs one case on a
private event loop thread shared by the session, so the embedded reference server and
the cases never block each other. After the cases come the Hypothesis property and
stateful runs, one item each (``--lcm-hypothesis-profile``), driven from the test thread
through that loop. pytest's summary line counts the verdicts the way the reports do:
``4 passed, 59 non-strict, 1 informational, 2 not run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from . import __version__
from .cases import Case, load_cases
from .expectations import Expectations
from .hypo import suite as hypothesis_suite
from .hypo.driver import Session
from .hypo.plan import PROFILES
from .hypo.record import PropertyRun
from .hypo.reproduce import PRINTED_CHARS
from .paths import data_dir
from .profile import ProfileError
from .report.common import status_key
from .results import CaseResult, RunResult, Verdict
from .runner import (
    DEFAULT_JOBS,
    RunOptions,
    UsageError,
    detect_dialect,
    expectation_diffs,
    load_expectations,
    make_profile,
    plan_run,
    probe,
    run_plan,
    target_url,
)
from .spec import load_spec
from .transport import TargetUnreachable

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr  # what Item.repr_failure may return; pytest does not re-export it

_T = TypeVar("_T")

CASE_TIMEOUT_MARGIN = 30.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lcm-conformance", "LCM WebService conformance suite")
    group.addoption("--lcm-target", metavar="URL", help="ws:// or wss:// URL of the target "
                    "(default: start the embedded reference server)")
    group.addoption("--lcm-profile", type=Path, metavar="FILE", help="target profile (YAML)")
    group.addoption("--lcm-strict", action="store_true", help="NON-STRICT verdicts fail")
    group.addoption("--lcm-expectations", type=Path, metavar="FILE",
                    help="case id -> expected verdict; expected failures become xfail")
    group.addoption("--lcm-report-dir", type=Path, metavar="DIR", help="write the four reports here")
    group.addoption("--lcm-dialect", choices=("samples", "tables"), default="samples",
                    help="dialect of the embedded reference server")
    group.addoption("--lcm-hypothesis-profile", choices=PROFILES, default="quick",
                    help="property tests: quick (about 200 messages), ci (derandomized), thorough, or off")
    group.addoption("--lcm-jobs", type=int, default=DEFAULT_JOBS, metavar="N",
                    help=f"run up to N cases and property runs at once, each on its own connection, scheduled as "
                         f"`lcm-conformance run --jobs` schedules them (same verdicts for every N); above 1 the "
                         f"selected items run together at the first one, which then reports them one by one "
                         f"(default: {DEFAULT_JOBS}; 1: each item runs when pytest reaches it)")
    group.addoption("--lcm-hypothesis-db", type=Path, metavar="DIR",
                    help="search afresh each run, keeping failing examples in DIR (default: keep nothing "
                         "and draw the same examples every run)")


class _Target:
    """The session's target and the event loop thread the cases run on."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lcm-conformance", daemon=True)
        self.thread.start()
        self.stack = contextlib.AsyncExitStack()
        try:
            url, _ = self.call(self.stack.enter_async_context(target_url(options)))
            self.profile = make_profile(options, url)
            self.call(probe(self.profile))
        except BaseException:
            self.close()
            raise
        from .engine import CaseRunner

        self.runner = CaseRunner(load_spec(), self.profile)

    def call(self, coro: Coroutine[Any, Any, _T], timeout: float | None = None) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, case: Case) -> CaseResult:
        steps = max(1, len(case.steps))
        budget = steps * (self.profile.timeouts.response + self.profile.timeouts.connect) + CASE_TIMEOUT_MARGIN
        return self.call(self.runner.run(case), budget)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self.stack.aclose(), 30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class _State:
    """Per-session plugin state: the target (started lazily) and the results so far."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.options = RunOptions(
            target=config.getoption("lcm_target"), profile=config.getoption("lcm_profile"),
            strict=config.getoption("lcm_strict"), expectations=config.getoption("lcm_expectations"),
            dialect=config.getoption("lcm_dialect"), hypothesis_profile=config.getoption("lcm_hypothesis_profile"),
            hypothesis_db=config.getoption("lcm_hypothesis_db"), report_dir=config.getoption("lcm_report_dir"),
            jobs=config.getoption("lcm_jobs"),
        )
        try:  # a bad profile, target URL or expectations file stops the session before anything is sent
            if self.options.jobs < 1:
                raise UsageError(f"--lcm-jobs must be 1 or more, not {self.options.jobs}")
            if self.options.profile or self.options.target:
                make_profile(self.options, self.options.target)
            if self.options.expectations:
                plan_run(load_spec(), self.options)  # names the ids that are no case
            self.expected = load_expectations(self.options.expectations) if self.options.expectations \
                else Expectations()
        except (UsageError, ProfileError) as exc:
            raise pytest.UsageError(str(exc)) from exc
        self._target: _Target | None = None
        self._session: Session | None = None
        self.results: list[CaseResult] = []
        self.prefetched: dict[str, CaseResult] | None = None
        self.broken = ""
        """Why the scheduled run (``--lcm-jobs`` above 1) gave no results, if it did not."""

    @property
    def target(self) -> _Target:
        if self._target is None:
            try:
                self._target = _Target(self.options)
            except TargetUnreachable as exc:  # said once, not once per item; the CLI's exit code
                pytest.exit(f"lcm-conformance: {exc}", returncode=3)
        return self._target

    @property
    def session(self) -> Session:
        """The property runs' session, once the cases before them have run."""
        if self._session is None:
            target, options = self.target, self.options
            self._session = hypothesis_suite.session(
                target.runner.spec, target.profile, options.hypothesis_profile, target.loop,
                database=options.hypothesis_db, report_dir=options.report_dir,
                gated=options.expectations is not None, breaker=target.runner.breaker,
                withdrawn=target.runner.withdrawn)
        return self._session

    def result(self, item: _ResultItem) -> CaseResult:
        """The item's result: run now (``--lcm-jobs 1``), or taken from one scheduled run of
        every selected item, started by the first of them to run."""
        if self.options.jobs == 1:
            return item.run_now(self)
        if self.prefetched is None:
            self.prefetched = {}  # started once: a run that fails is not started again by the next item
            items = [i for i in item.session.items if isinstance(i, _ResultItem)]
            cases = [i.case for i in items if isinstance(i, CaseItem)]
            runs = [i.run for i in items if isinstance(i, PropertyItem)]
            target = self.target
            session = self.session if runs else None
            budget = target.profile.timeouts.run + CASE_TIMEOUT_MARGIN
            plan = run_plan(target.runner, cases, runs, session, jobs=self.options.jobs)
            future = asyncio.run_coroutine_threadsafe(plan, target.loop)
            try:
                self.prefetched = {r.id: r for r in future.result(budget)}
            except TimeoutError:
                future.cancel()
                self.broken = f"the scheduled run did not end within its {budget:g} s bound"
            except Exception as exc:  # noqa: BLE001 -- a bug of ours: every item reports it as ERROR
                self.broken = f"the scheduled run raised {type(exc).__name__}: {exc}"
        if item.name not in self.prefetched:
            return item.broken_result(self.broken or "no result came for this item")
        return self.prefetched[item.name]

    def close(self) -> None:
        if self._target is not None:
            self._target.close()


_KEY = pytest.StashKey[_State]()


def pytest_configure(config: pytest.Config) -> None:
    state = config.stash[_KEY] = _State(config)
    given = state.options.target or state.options.profile
    if given and config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args = [str(data_dir("cases"))]  # a target and no path: the installed suite


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and file_path.parent.resolve() == data_dir("cases").resolve():
        return CaseFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if path.resolve() == data_dir("cases").resolve():
        return CasesDir.from_parent(parent, path=path)
    return None


class CasesDir(pytest.Dir):  # type: ignore[misc]  # pytest marks Dir final, yet it is the directory collector to extend
    """The ``cases/`` directory: its case files, then the property and stateful runs."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        yield from super().collect()
        if self.config.getoption("lcm_hypothesis_profile") != "off":
            for run in hypothesis_suite.all_runs(load_spec()):
                yield PropertyItem.from_parent(self, name=run.id, run=run)


class CaseFile(pytest.File):
    """One ``cases/*.yaml`` file."""

    def collect(self) -> Iterator[pytest.Item]:
        for case in load_cases(load_spec()):
            if case.source == self.path.name:
                yield CaseItem.from_parent(self, name=case.id, case=case)


class CaseFailed(Exception):
    """A case's verdict fails the run; the message is the full failure report."""


class _ResultItem(pytest.Item):
    """An item whose outcome is a case result: FAIL fails it, expectations apply."""

    api: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user_properties.append(("api", self.api))

    def run_now(self, state: _State) -> CaseResult:
        raise NotImplementedError

    def broken_result(self, why: str) -> CaseResult:
        """ERROR (the suite could not judge): the scheduled run gave this item no result."""
        return CaseResult(self.name, self.name, self.api, (), "", "inferred", Verdict.ERROR,
                          f"the suite could not judge: {why}")

    def runtest(self) -> None:
        state = self.config.stash[_KEY]
        result = state.result(self)
        state.results.append(result)
        self.user_properties += [("verdict", result.verdict.value), ("counted_as", status_key(result))]
        expected = state.expected.get(self.name)
        if result.verdict is Verdict.ERROR:  # the suite's own bug: never expected away, never passed
            raise CaseFailed(_failure_text(result))
        failing = result.verdict is Verdict.FAIL or (state.options.strict and result.verdict is Verdict.NON_STRICT)
        why = f" ({state.expected.reasons[self.name]})" if self.name in state.expected.reasons else ""
        if expected is not None and expected is result.verdict and failing:
            pytest.xfail(f"expected {expected.label}{why}: {result.detail}")
        if failing:
            raise CaseFailed(_failure_text(result))
        if expected is not None and expected is not result.verdict:
            raise CaseFailed(f"expected {expected.label}{why}, got {result.verdict.label}: {result.detail}")
        if result.verdict is Verdict.UNIMPLEMENTED or result.not_run:
            pytest.skip(f"{result.verdict.label}: {result.detail}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class CaseItem(_ResultItem):
    """One conformance case."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        self.case = case
        self.api = case.api
        super().__init__(**kwargs)

    def run_now(self, state: _State) -> CaseResult:
        return state.target.run(self.case)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.case.id}: {self.case.title}"


class PropertyItem(_ResultItem):
    """One property of one API, or the stateful test (a Hypothesis run)."""

    def __init__(self, *, run: PropertyRun, **kwargs: Any) -> None:
        self.run = run
        self.api = run.api
        super().__init__(**kwargs)

    def run_now(self, state: _State) -> CaseResult:
        return self.run.run(state.session)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.run.id} (Hypothesis)"


def _failure_text(result: CaseResult) -> str:
    lines = [f"{result.verdict.label} {result.id}: {result.title}",
             f"requirements: {', '.join(result.requirements)}", ""]
    if result.verdict is Verdict.ERROR:
        lines += ["the suite could not judge this case (a bug of the suite, never the target's fault):",
                  result.detail, ""]
    lines += [c.message() for c in result.checks if c.verdict is result.verdict]
    lines += ["", "frames exchanged:"]
    lines += [f"  +{f.t:.3f}s {'→' if f.direction == 'sent' else '←'} {f.text[:2000]}" for f in result.frames]
    if result.reproduce and "command" in result.reproduce:
        lines += ["", "reproduce with:", f"  {result.reproduce['command']}  # then send:"]
        lines += [f"    {t[:2000]}" for t in result.reproduce.get("frames", [])]
        lines += [f"  {result.reproduce.get('case_command', '')}"]
    if result.reproduce and "case_yaml" in result.reproduce:
        lines += ["", f"the shrunk failing example, as a case file ({result.reproduce['case_file']}):",
                  result.reproduce["case_yaml"][:PRINTED_CHARS]]
    return "\n".join(lines)


_SHOWN: dict[str, tuple[str, str, str, str]] = {
    Verdict.NON_STRICT.value: ("non-strict", "N", "NON-STRICT", "yellow"),
    Verdict.INFORMATIONAL.value: ("informational", "I", "INFORMATIONAL", "cyan"),
    Verdict.UNIMPLEMENTED.value: ("unimplemented", "U", "UNIMPLEMENTED", "yellow"),
    "not_run": ("not run", "s", "NOT RUN", "yellow"),
    Verdict.ERROR.value: ("error", "E", "ERROR", "red"),
}
"""The summary column a case counts in (``status_key``) -> how pytest's terminal shows
its item: the category counted in the summary line, the progress letter, the word under
``-v`` and its colour. PASS and FAIL are pytest's own passed and failed."""


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
    """Count the items the way ``results.json``'s summary counts the cases: NON-STRICT,
    INFORMATIONAL, UNIMPLEMENTED and NOT RUN each in a category of their own (they pass or
    skip), ERROR (the suite could not judge) as pytest's "error". Every other report,
    an expected failure's included, is left to pytest."""
    column = dict(report.user_properties).get("counted_as")
    if report.when != "call" or hasattr(report, "wasxfail") or column not in _SHOWN:
        return None
    if report.failed != (column == Verdict.ERROR.value):  # a FAIL, NON-STRICT under --lcm-strict, a surprise
        return None
    category, letter, word, colour = _SHOWN[str(column)]
    return category, letter, (word, {colour: True})


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_KEY, None)
    if state is None:
        return
    try:
        report_dir = session.config.getoption("lcm_report_dir")
        if report_dir and state.results:
            from .report import write_reports

            run = RunResult(target=state.target.profile.url, suite_version=__version__, results=state.results,
                            dialect=detect_dialect(state.results), strict=state.options.strict)
            if state.options.expectations:
                run.expectation_diffs = expectation_diffs(state.results, state.expected)
            write_reports(run, report_dir, expectations=state.expected or None)
    finally:
        state.close()
