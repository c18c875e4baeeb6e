"""Run one Hypothesis test against the target and make its outcome a case result.

A property run is one :class:`~conformance.results.CaseResult`, like an example case:
FAIL with the shrunk failing example (its checks, its frames, and a case file that
replays it) when some example broke a documented requirement; otherwise the worst
verdict its examples saw (NON-STRICT, INFORMATIONAL or PASS), each distinct check
outcome shown once with how many examples saw it.
"""

from __future__ import annotations

import shlex
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from hypothesis import given
from hypothesis.errors import Flaky, HypothesisWarning, Unsatisfiable
from hypothesis.strategies import SearchStrategy

from ..results import CaseResult, CheckResult, Frame, Verdict, worst
from ..spec import Api
from . import reproduce
from .driver import Driver, Example, Exhausted, Session, Withdrawn
from .plan import hypothesis_settings


@dataclass(frozen=True)
class Meta:
    """What a property run is, as its case result names it."""

    id: str
    title: str
    api: Api
    requirements: tuple[str, ...]
    doc: str
    basis: str

    def result(self, verdict: Verdict, detail: str, **more: Any) -> CaseResult:
        return CaseResult(self.id, self.title, self.api.name, self.requirements, self.doc, self.basis,
                          verdict, detail, **more)


@dataclass(frozen=True)
class PropertyRun:
    """A property of one API, or the stateful test: its result id, API and how to run it."""

    id: str
    api: str
    run: Callable[[Session], CaseResult]
    drives: tuple[str, ...] = ()
    """The APIs a stateful test drives while keeping a model of the state they change: it
    must have that state to itself while it runs. Empty for a property, which judges each
    request on its own, whatever state it meets."""


class _Stop(BaseException):
    """Ends a Hypothesis run at once when nothing more may be sent. A BaseException, so
    Hypothesis neither shrinks it nor keeps drawing examples it could only discard."""


class Falsified(Exception):
    """An example broke a documented requirement (Hypothesis shrinks on this)."""

    def __init__(self, example: Example) -> None:
        super().__init__(next((c.message() for c in example.numbered() if c.verdict is Verdict.FAIL), ""))
        self.example = example


@dataclass
class _Seen:
    check: CheckResult
    examples: int
    frames: list[Frame]


class Hunt:
    """One property run: its driver, the examples it saw, the failure it found."""

    def __init__(self, session: Session, meta: Meta, *, messages: int) -> None:
        self.session = session
        self.meta = meta
        self.driver = Driver(session, messages=messages + session.plan.shrink_messages,
                             seconds=session.plan.seconds_per_run)
        self.examples = 0
        self.seen: dict[tuple[str, Verdict, tuple[str, ...]], _Seen] = {}
        self.failure: Example | None = None
        self.current: Example | None = None
        self.withdrawn: str | None = None

    def example(self, basis: str | None = None) -> Example:
        """A new example, sent through this run's driver."""
        meta = self.meta
        self.current = self.driver.example(meta.api, basis or meta.basis, meta.requirements, meta.doc)
        return self.current

    def tally(self, example: Example) -> None:
        """Count a finished example (once) and what its checks saw; remember it if it failed
        (the last one remembered is the shrunk one, which Hypothesis runs last)."""
        if example.tallied:
            return
        example.tallied = True
        self.examples += 1
        for key in {_key(c) for _, c in example.checks}:
            seen = self.seen.get(key)
            if seen is None:
                check = next(c for _, c in example.checks if _key(c) == key)
                self.seen[key] = _Seen(check, 1, list(example.frames))
            else:
                seen.examples += 1
        if example.failed:
            self.failure = example

    @staticmethod
    def verify(example: Example) -> None:
        """Raise Falsified if the example broke a documented requirement."""
        if example.failed:
            raise Falsified(example)

    def interrupted(self) -> NoReturn:
        """Nothing more may be sent: the example under way counts if it sent anything (a
        failure found so far is kept), and the whole run ends."""
        if self.current is not None and self.current.checks:
            self.tally(self.current)
        raise _Stop

    def test(self, strategy: SearchStrategy[Any], body: Callable[[Any], Example], examples: int) -> Callable[[], None]:
        """The Hypothesis test of a property: draw a value, run ``body`` on it, judge it."""

        def property_test(value: Any) -> None:
            self.current = None
            try:
                example = body(value)
            except Exhausted:
                self.interrupted()
            except Withdrawn as why:
                self.withdrawn = str(why)
                raise _Stop from None
            self.tally(example)
            self.verify(example)

        # Tell runs apart in the example database and for derandomized seeds.
        property_test._hypothesis_internal_add_digest = self.meta.id.encode()  # type: ignore[attr-defined]
        plan, database = self.session.plan, self.session.database
        return hypothesis_settings(plan, database, max_examples=examples)(given(strategy)(property_test))

    def run(self, test: Callable[[], None]) -> CaseResult:
        """Run a Hypothesis test (a property or a state machine) and judge what it found."""
        started = time.perf_counter()
        if self.session.stopped:
            return self.meta.result(Verdict.INFORMATIONAL, f"not run: {self.session.stopped}",
                                    not_run=self.session.stopped)
        flaky = unsatisfied = False
        try:
            with warnings.catch_warnings():  # a huge drawn value makes Hypothesis warn about its repr
                warnings.simplefilter("ignore", HypothesisWarning)
                test()
        except (Falsified, _Stop):
            pass
        except Flaky:
            flaky = True
        except Unsatisfiable:
            unsatisfied = True
        finally:
            self.driver.close()
        if self.withdrawn and self.failure is None:  # a FAIL found before is never dropped
            return self.meta.result(Verdict.UNIMPLEMENTED, f"not run: {self.withdrawn}", not_run=self.withdrawn)
        result = self._judge(flaky, unsatisfied)
        result.duration = time.perf_counter() - started
        return result

    def _judge(self, flaky: bool, unsatisfied: bool) -> CaseResult:
        counts = f"{self.examples} example(s), {self.driver.sent} message(s)"
        if self.driver.exhausted and self.failure is None:
            counts += f"; stopped early: {self.driver.exhausted}"
        if self.failure is not None:
            return self._failed(counts, flaky)
        if not self.examples or not self.driver.sent:  # nothing sent, nothing judged: never a PASS
            why = self.driver.exhausted or ("no example could be run" if unsatisfied else "the run sent nothing")
            return self.meta.result(Verdict.INFORMATIONAL, f"not run: {why}", not_run=why)
        verdict = worst(s.check.verdict for s in self.seen.values())
        own = f"{self.meta.api.abbr}."
        ranked = sorted(self.seen.values(), key=lambda s: (
            s.check.verdict is not verdict, not any(r.startswith(own) for r in s.check.requirements), s.check.name))
        checks = [replace(s.check, actual=f"{s.check.actual} (in {s.examples} of {self.examples} examples)")
                  for s in ranked]
        if verdict is Verdict.PASS:
            return self.meta.result(verdict, f"{counts}: every check passed", checks=checks)
        deciding = ranked[0]
        return self.meta.result(verdict, f"{checks[0].message()} [{counts}]", checks=checks,
                                frames=deciding.frames)

    def _failed(self, counts: str, flaky: bool) -> CaseResult:
        example = self.failure
        assert example is not None
        checks = example.numbered()
        first = next(c for c in checks if c.verdict is Verdict.FAIL)
        note = ""
        if self.driver.exhausted:
            note = f"shrinking stopped ({self.driver.exhausted}): the smallest failing example so far is shown. "
        elif flaky:
            note = "flaky on replay (the target's state may have moved on): the last failing example is shown. "
        result = self.meta.result(Verdict.FAIL, f"{note}{first.message()} [{counts}]", checks=checks,
                                  frames=list(example.frames))
        result.reproduce = self._reproduction(example, sorted({r for c in checks if c.verdict is Verdict.FAIL
                                                               for r in c.requirements}))
        return result

    def _reproduction(self, example: Example, requirements: list[str]) -> dict[str, Any]:
        meta, session = self.meta, self.session
        document = reproduce.case_document(
            f"{meta.id}.falsified", f"The shrunk failing example of {meta.id}: {meta.title}", meta.api.name,
            requirements or list(meta.requirements), meta.doc, example.basis, example.steps)
        text = reproduce.render(document)
        redact = session.profile.redactor()
        text = redact(text) if redact else text
        url = redact(session.profile.url) if redact else session.profile.url
        path = f"{meta.id}.yaml"
        if session.report_dir is not None and not session.interrupted.is_set():
            path = str(reproduce.write(text, session.report_dir, meta.id))
        return {
            "frames": example.sent,
            "command": f"python -m websockets {shlex.quote(url)}",
            "case_command": f"lcm-conformance run --case {shlex.quote(path)} --target {shlex.quote(url)}",
            "case_file": path,
            "case_yaml": text,
        }



def _key(check: CheckResult) -> tuple[str, Verdict, tuple[str, ...]]:
    """Checks alike across examples: same name, verdict and requirements (so the schema
    check of the API's reply and of a follow-up request stay apart)."""
    return check.name, check.verdict, check.requirements
