"""Send generated steps to the target from Hypothesis's synchronous world, bounded.

Hypothesis calls test functions synchronously; the transport is asyncio. A
:class:`Portal` runs each exchange on an event loop thread (the runner's own loop, or
the pytest plugin's) and waits for it with a timeout. A :class:`Driver` serves one
property run: one :class:`~conformance.transport.Connection` per agent, kept across
examples (two connections are two agents), a message budget, a time budget, the run's
rate (shared by every connection of the run) and a breaker that stops every run once the
target has fallen silent. Several runs may share a session at once, each on its own
worker thread. An :class:`Example`
is one Hypothesis example: the steps it sent (as case steps, ready to be written out),
the checks they got and the frames exchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..breaker import Breaker
from ..cases import Step
from ..checks import StepContext, forgiven, run_check
from ..engine import SETTLE, Turn, build_frame, reply_key, withdrawal
from ..profile import Profile
from ..protocol import Exchange, parse_frame
from ..results import CheckResult, Frame, Verdict
from ..spec import Api, Spec
from ..transport import Connection, ExchangeFailed, Pace, TransportError
from .plan import Plan

_MARGIN = 10.0
_T = TypeVar("_T")


class Exhausted(Exception):
    """The run may send no more: budget spent, time up, or the target fell silent."""


class Withdrawn(Exception):
    """The target does not offer the API (it answered none of its requests)."""


class Serial:
    """Worker threads run Hypothesis one at a time and overlap only while they wait for the
    target (:meth:`Portal.call`). CPython 3.11 garbles ``ast.parse`` run from two threads at
    once (gh-106905: "AST constructor recursion depth mismatch"), and Hypothesis parses
    source to name the functions and lambdas it runs; the GIL serialises the work anyway."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Run Hypothesis in this thread (from a worker thread, around a whole run)."""
        with self._lock:
            self._local.held = True
            try:
                yield
            finally:
                self._local.held = False

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """Let the other workers run while this one waits (a no-op where it does not work)."""
        if not getattr(self._local, "held", False):
            yield
            return
        self._local.held = False
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._local.held = True


SERIAL = Serial()


class Portal:
    """Runs coroutines on an event loop that runs in another thread, and waits for them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def call(self, coro: Coroutine[Any, Any, _T], timeout: float) -> _T:
        """The coroutine's result; from the loop's own thread this would deadlock, so it refuses."""
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self.loop:
            coro.close()
            raise RuntimeError("the portal's loop runs in this thread: call from a worker thread")
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        except RuntimeError:  # the loop closed (the run was interrupted): the coroutine never runs
            coro.close()
            raise
        with SERIAL.waiting():
            return future.result(timeout)


@dataclass
class Session:
    """What every property run of one suite run shares."""

    spec: Spec
    profile: Profile
    plan: Plan
    portal: Portal
    target: str
    """The target as reports name it."""
    database: Path | None = None
    report_dir: Path | None = None
    withdrawn: dict[str, str] = field(default_factory=dict)
    """APIs found not offered (by the example cases or here), and why."""
    deadline: float = float("inf")
    """``time.monotonic()`` past which nothing more is sent (the profile's whole-run bound)."""
    breaker: Breaker = field(default_factory=Breaker)
    """Shared with the example cases: once the target stopped answering, nothing is sent."""
    interrupted: threading.Event = field(default_factory=threading.Event)
    """Set when the user interrupts the run: nothing more is sent, and no file is written."""
    pace: Pace | None = None
    """The run's message rate, shared by every connection of every run (None: the plan's
    rate, for this session's connections together)."""
    turn: Turn | None = None
    """A property run's place in the run's order (:mod:`conformance.schedule`): waited
    before its first request, once its connection is open, and let go before its
    connections close. Each run gets a copy of the session with its own."""

    def __post_init__(self) -> None:
        if self.pace is None:
            self.pace = Pace(self.plan.rate, self.plan.burst)

    @property
    def stopped(self) -> str | None:
        """Why no run may send anything more, once the target fell silent."""
        return self.breaker.stopped

    def unavailable(self, api: Api) -> str | None:
        """Why the target is not expected to offer the API (profile, version), or None."""
        return self.withdrawn.get(api.name) or self.profile.withholds(api)



@dataclass
class Sent:
    """What one step produced: the exchange (None when no connection could be opened) and
    whether its connection had to be reopened first (the target closed the previous one)."""

    exchange: Exchange | None
    reopened: bool

    @property
    def answered(self) -> bool:
        return self.exchange is not None and self.exchange.answered


class Driver:
    """Sends the steps of one property run, within its budgets."""

    def __init__(self, session: Session, *, messages: int, seconds: float) -> None:
        self.session = session
        self.left = messages
        self.seconds = seconds
        self.deadline = min(time.monotonic() + seconds, session.deadline)
        self.waited = session.turn is None
        """Whether the run's turn has come (its time counts from then)."""
        self.sent = 0
        self.exhausted: str | None = None
        """Why the run could send no more, once it could not."""
        self.connections: dict[int, Connection] = {}

    def example(self, api: Api, basis: str, requirements: tuple[str, ...], doc: str) -> Example:
        return Example(self, api, basis, requirements, doc)

    def take(self) -> None:
        """Spend one message of the budget; raises Exhausted when there is none to spend."""
        if self.session.interrupted.is_set():
            self.exhausted = "the run was interrupted"
        elif self.session.stopped:
            self.exhausted = self.session.stopped
        elif self.left <= 0:
            self.exhausted = "the run's message budget is spent"
        elif time.monotonic() > self.deadline:
            self.exhausted = "the time allowed is up"
        if self.exhausted:
            raise Exhausted(self.exhausted)
        self.left -= 1
        self.sent += 1

    def exchange(self, agent: int, text: str, subtopic: str | None, callid: str | None,
                 wait: float | None = None, *, refusal: bool = False) -> tuple[Exchange, bool]:
        timeouts, plan = self.session.profile.timeouts, self.session.plan
        wait = timeouts.response if wait is None else min(wait, timeouts.response)
        bound = timeouts.connect + wait + plan.burst / plan.rate + _MARGIN
        if not self.waited:  # its turn may take as long as what the run has left
            bound += min(timeouts.run, max(0.0, self.session.deadline - time.monotonic()))
        return self.session.portal.call(self._exchange(agent, text, subtopic, callid, wait, refusal), bound)

    async def _exchange(self, agent: int, text: str, subtopic: str | None, callid: str | None,
                        wait: float, refusal: bool) -> tuple[Exchange, bool]:
        conn = self.connections.get(agent)
        if conn is None:
            conn = self.connections[agent] = Connection.from_profile(self.session.profile, pace=self.session.pace)
        if not self.waited and self.session.turn is not None:
            await conn.connect()  # opened before the wait: it costs the run's turn nothing
            await self.session.turn.before(1)
            self.waited = True
            self.deadline = min(time.monotonic() + self.seconds, self.session.deadline)
            if self.session.stopped:
                self.exhausted = self.session.stopped
                raise Exhausted(self.exhausted)
        before = conn.connects
        try:
            exchange = await conn.exchange(text, subtopic, callid, timeout=wait, refusal=refusal,
                                           settle=self.session.breaker.settle(SETTLE) if refusal else None)
        except ExchangeFailed as failed:
            exchange = failed.exchange
        return exchange, before > 0 and conn.connects > before

    def close(self) -> None:
        async def close_all() -> None:
            if self.session.turn is not None:  # the closing handshakes touch no state
                self.session.turn.done()
            for conn in self.connections.values():
                await conn.close()

        self.session.portal.call(close_all(), self.session.profile.timeouts.connect * len(self.connections) + _MARGIN)
        self.connections.clear()


class Example:
    """One Hypothesis example: its steps (with the checks they got, as a case has them),
    its checks by step number, and the frames exchanged, timed from its first frame."""

    def __init__(self, driver: Driver, api: Api, basis: str, requirements: tuple[str, ...], doc: str) -> None:
        self.driver = driver
        self.spec = driver.session.spec
        self.api = api
        self.basis = basis
        self.requirements = requirements
        self.doc = doc
        self.steps: list[Step] = []
        self.checks: list[tuple[int, CheckResult]] = []
        self.frames: list[Frame] = []
        self.sent: list[str] = []
        self.tallied = False
        self._t0: float | None = None
        self._redact = driver.session.profile.redactor()

    @property
    def failed(self) -> bool:
        return any(c.verdict is Verdict.FAIL for _, c in self.checks)

    def numbered(self) -> list[CheckResult]:
        """The checks named as the engine names a case's: ``step N name``."""
        return [dataclasses.replace(c, name=f"step {n} {c.name}") for n, c in self.checks]

    def note(self, check: CheckResult) -> None:
        """Add a check of the last step that no case check expresses (an inferred one)."""
        self.checks.append((len(self.steps), self._redacted(check)))

    def send(self, step: Step, *, forgive_refusal: bool = False, wait: float | None = None) -> Sent:
        """Send one step, run its checks and record everything; raises Exhausted, Withdrawn.

        ``forgive_refusal``: a valid request may be refused (``success: false``); the docs
        leave a refusal's shape open, so its schema and echo checks are INFORMATIONAL at
        worst then, and are left out of the step as recorded (a replay judges it the same).
        ``wait``: at most this long for the reply (else the profile's response timeout).
        """
        text, api, message = build_frame(self.spec, step)
        session = self.driver.session
        if api is not None and api.name in session.withdrawn:
            raise Withdrawn(session.withdrawn[api.name])
        if api is not None and (why := session.breaker.api_stopped.get(api.name)):
            self.driver.exhausted = why
            raise Exhausted(why)
        refusal = step.expect == "reply"
        subtopic, callid = reply_key(self.spec, text, api, message)
        self.driver.take()
        self.steps.append(step)
        number = len(self.steps)
        try:
            exchange, reopened = self.driver.exchange(step.agent, text, subtopic, callid, wait, refusal=refusal)
        except TransportError as exc:
            session.breaker.heard(False, str(exc))
            self.steps[-1] = dataclasses.replace(step, checks=())
            self.checks.append((number, CheckResult(
                "target reachable", Verdict.FAIL, self.requirements, "documented", self.doc,
                "the target to accept a connection", self._redact(str(exc)))))
            return Sent(None, False)
        late = session.breaker.observe(exchange, valid=not refusal, api=api.name if api is not None else None)
        self._record(text, exchange)
        if late:  # the breaker tripped on other connections while this request was in flight
            self.driver.exhausted = late
            raise Exhausted(late)
        if api is not None and not refusal and self._withdrawn(api, exchange):
            why = f"{api.name} (offered up to Campaign Manager {api.max_cm_version}) was refused as not offered"
            session.withdrawn[api.name] = why
            raise Withdrawn(why)
        ctx = StepContext(self.spec, api or self.api, message, exchange, self.basis)
        kept = []
        for entry in step.checks:
            result = run_check(ctx, entry)
            name = entry if isinstance(entry, str) else next(iter(entry))
            if forgive_refusal and (excused := forgiven(ctx, name, result)) is not None:
                result = excused
            else:
                kept.append(entry)
            self.checks.append((number, self._redacted(result)))
        self.steps[-1] = dataclasses.replace(step, checks=tuple(kept))
        return Sent(exchange, reopened)

    def _withdrawn(self, api: Api, exchange: Exchange) -> bool:
        """As the engine reads it (:func:`~conformance.engine.withdrawal`)."""
        return withdrawal(api, exchange, self.driver.session.profile)

    def replies(self, subtopic: str) -> int:
        """Frames received with this subtopic so far (answers and extra ones alike)."""
        objects = (getattr(parse_frame(f.text, ()), "obj", None) for f in self.frames if f.direction == "received")
        return sum(1 for obj in objects if obj is not None and obj.get("subtopic") == subtopic)

    def _record(self, text: str, exchange: Exchange) -> None:
        if self._t0 is None:
            self._t0 = exchange.started
        base = exchange.started - self._t0
        self.frames.extend(Frame(f.direction, round(base + f.at, 4), f.text) for f in exchange.log.frames)
        self.sent.append(self._redact(text) if self._redact else text)

    def _redacted(self, check: CheckResult) -> CheckResult:
        if not self._redact:
            return check
        return dataclasses.replace(check, expected=self._redact(check.expected), actual=self._redact(check.actual))



