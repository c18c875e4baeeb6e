"""Judge a recorded conversation, both directions, from its events alone (pure; no I/O).

Feed :class:`Auditor` the events of a trace in order (:func:`conformance.trace.read`) and
take the results: the client's requests judged against the request tables
(:mod:`.client`), the server's replies judged as ``run`` judges them (:mod:`.server`, with
``run``'s pairing, checks and schemas), and the state the whole trace shows
(:mod:`.contacts`). Time is the trace's: a request whose reply does not come within the
profile's response timeout is unanswered, whatever came later.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import __version__, trace
from ..breaker import Breaker
from ..checks import StepContext, run_check
from ..engine import REFUSAL_WAIT, credential_headers, withdrawal
from ..hypo.frames import Expectation
from ..profile import Profile
from ..protocol import Correlator, Exchange, expected_reply, response_keys, response_subtopics
from ..results import CaseResult, CheckResult, Frame, RunResult, Verdict
from ..runner import detect_dialect, flooded
from ..spec import Spec
from .client import ClientJudgement, judge_request
from .contacts import NOTHING, wall_clock
from .memo import Memo
from .pairing import Ambiguous, Link, Pending
from .server import DOWNLOAD, SKIP, SKIP_NON_PEWC, Earlier, Judge, Request
from .tally import EXAMPLES, Tally

STATEFUL = frozenset({DOWNLOAD, SKIP, SKIP_NON_PEWC})
"""APIs whose checks read the trace's contact state (and so what is in flight)."""
KEEP = 8
"""Frames kept per exchange to show in a report (the first ones and the latest)."""
DIALECT_SAMPLES = 64
"""Replies kept to tell which documented form the server writes (``dialect``)."""
CHECK_TITLES = {
    "answered": "every request gets its reply, on the documented response subtopic",
    "schema": "replies follow the response tables",
    "echo": "the reply repeats what the Message Parameters table says it repeats",
    "at_most": "no more contacts than NumberOfContactsRequired",
    "consent": "only contacts of the consent type asked for",
    "disjoint": "no contact is held by two agents",
    "not_returned": "a skipped contact is never handed out again",
    "held_again": "a re-fetch gives back the contacts the agent holds",
    "success": "a skip of a contact the agent holds succeeds",
    "not_success": "a request the tables forbid, or a skip of a closed contact, does not succeed",
    "error_case": "an empty call id is refused with the documented message",
    "reply_subtopic": "an error reply comes on the API's response subtopic",
    "not_error": "the profile's call is not refused as an invalid call id",
    "none_withheld": "a request written as the sample writes it is served as one written as the tables say",
    "offered": "the API is offered",
}


@dataclass(frozen=True)
class About:
    """What the auditor keeps of a request while it waits for its reply."""

    client: ClientJudgement
    expectation: Expectation | None
    request: Request | None


def _frames(exchange: Exchange) -> list[Frame]:
    return [Frame(f.direction, round(exchange.started + f.at, 6), f.text) for f in exchange.log.frames]


def _where(pending: Pending, exchange: Exchange | None = None) -> str:
    if exchange is not None and exchange.answered and len(pending.lines) > 1:
        return f"lines {pending.line}→{pending.lines[-1]}"
    return f"line {pending.line}"


class Auditor:
    """Events in, results out. ``client``/``server``: which side to judge."""

    def __init__(self, spec: Spec, profile: Profile, *, client: bool = True, server: bool = True,
                 examples: int = EXAMPLES, label: str = "line") -> None:
        self.spec = spec
        self.label = label
        """How a result names where a frame is: ``line 14`` of a trace, ``request 14`` of a live session."""
        self.profile = profile
        self.client = client
        self.server = server
        self.tally = Tally(examples, label)
        self.credentials = frozenset(h.lower() for h in credential_headers(profile))
        self.anonymous: set[str] = set()
        """Connections opened without the credentials the profile declares."""
        self.judge = Judge(spec, profile)
        self.breaker = Breaker()
        self.links: dict[str, Link] = {}
        self.earlier: dict[tuple[str, str], Earlier] = {}
        self.withdrawn: dict[str, str] = {}
        self.now = 0.0
        self.upstream: str | None = None
        self.replies: list[Frame] = []
        self._requests: Memo[ClientJudgement] = Memo()
        self._schemas: Memo[CheckResult] = Memo()
        self._required = response_keys(spec)
        self._known = response_subtopics(spec)
        self.events = 0

    # ------------------------------------------------------------------ events

    def feed(self, event: trace.Event) -> None:
        """One trace event, in trace order. An exception of ours is an ERROR result naming
        the line, never a crash: the rest of the trace is still judged."""
        self.events += 1
        if isinstance(event, trace.Header):
            self.upstream = event.upstream
            self.judge.contacts.origin = wall_clock(event.started)
            return
        self.now = max(self.now, event.t)
        try:
            self._dispatch(event)
        except Exception as exc:  # noqa: BLE001 -- a bug of ours: ERROR, as run's engine reports one
            check = CheckResult("suite error", Verdict.ERROR, (), "inferred",
                                "a bug of the suite, never the target's fault; please report it",
                                "the suite to judge this event", f"{type(exc).__name__}: {exc}")
            self.tally.add("trace.suite-error", "*", "the suite could judge every event", check,
                           f"line {event.line}", (), (event.line,))

    def _dispatch(self, event: trace.Open | trace.Refused | trace.Frame | trace.Close | trace.End) -> None:
        if isinstance(event, trace.Frame):
            if event.sender == trace.CLIENT:
                self._request(event)
            elif self.server:
                self._reply(event)
        elif isinstance(event, trace.Open):
            self._link(event.conn)
            if self.credentials - {name.lower() for name, _ in event.headers}:
                self.anonymous.add(event.conn)
        elif isinstance(event, trace.Close):
            self._close(event)
        elif isinstance(event, trace.Refused):
            self._refused(event)

    def feed_all(self, events: Iterable[trace.Event]) -> None:
        for event in events:
            self.feed(event)

    def _link(self, conn: str) -> Link:
        link = self.links.get(conn)
        if link is None:
            link = self.links[conn] = Link()
        return link

    def _request(self, event: trace.Frame) -> None:
        data = event.data
        if isinstance(data, str):
            judged = self._requests.get(None, data, lambda: judge_request(self.spec, data))
        else:
            judged = judge_request(self.spec, data)
        text = data if isinstance(data, str) else repr(data)
        if self.client:
            name = judged.api.name if judged.api is not None else "*"
            shown = [Frame("sent", event.t, text)]
            for ident, check in judged.checks:
                title = f"{name}: the application writes {check.name} as the tables do"
                self.tally.add(ident, name, title, check, f"{self.label} {event.line}", shown, (event.line,), text)
        if not self.server:
            return
        link = self._link(event.conn)
        self._expire(event.conn, link, event.t)
        api = judged.api
        expected = judged.expectation(text)
        valid = expected is not None and expected.kind == "valid"
        subtopic, callid = expected_reply(api, judged.message or {}, self.spec) if api else (None, None)
        timeout = self.profile.timeouts.response if valid else min(REFUSAL_WAIT, self.profile.timeouts.response)
        correlator = Correlator(keep=KEEP, required=self._required, known=self._known)
        correlator.send(text, subtopic, callid, now=event.t, timeout=timeout, refusal=True)
        request = Request.of(api, judged.message or {}, judged.form) if api and valid else None
        link.send(Pending(event.line, event.t, text, correlator, About(judged, expected, request)))

    def _reply(self, event: trace.Frame) -> None:
        link = self._link(event.conn)
        self._expire(event.conn, link, event.t)
        outcome = link.receive(event.data, event.line, event.t)
        if isinstance(outcome, Ambiguous):
            self._ambiguous(outcome)
        elif outcome is not None:
            self._judge(event.conn, *outcome)

    def _expire(self, conn: str, link: Link, now: float) -> None:
        for pending, exchange in link.expire(now):
            self._judge(conn, pending, exchange)

    def _close(self, event: trace.Close) -> None:
        link = self.links.get(event.conn)
        if link is not None and self.server:
            self._ended(event, link)
        self.links.pop(event.conn, None)
        self.anonymous.discard(event.conn)
        for key in [k for k in self.earlier if k[0] == event.conn]:
            del self.earlier[key]

    def _ended(self, event: trace.Close, link: Link) -> None:
        """The requests a closed connection leaves unanswered: FAIL when the server closed it."""
        self._expire(event.conn, link, event.t)
        if event.by == trace.SERVER:
            why = f"the server closed it ({event.code}{' ' + event.reason if event.reason else ''})"
            for pending, exchange in link.closed(event.t, why):
                self._judge(event.conn, pending, exchange)
        else:
            who = "the application" if event.by == trace.CLIENT else "the recording proxy"
            for pending, exchange in link.abandon(event.t, f"{who} closed it"):
                self._unjudged(pending, exchange, f"{who} closed the connection before the reply was due")
        self.breaker.strays += link.strays

    def _refused(self, event: trace.Refused) -> None:
        check = CheckResult("handshake", Verdict.INFORMATIONAL, (), "inferred",
                            "inferred: the pages say nothing of the opening handshake",
                            "the connection opened", f"refused by the {event.by}: HTTP {event.status} {event.reason}")
        self.tally.add("trace.refused-connections", "*", "connections the handshake refused", check,
                       f"line {event.line}", (), (event.line,))

    # ---------------------------------------------------------------- judging

    def _unjudged(self, pending: Pending, exchange: Exchange, reason: str) -> None:
        about: About = pending.about
        api = about.client.api
        self.breaker.observe(exchange, valid=False)  # a request all the same: what it read counts towards a flood
        ident = f"server.{api.name}.answered" if api is not None else "server.not-a-request"
        title = f"{api.name}: {CHECK_TITLES['answered']}" if api is not None else "frames that are no request"
        self.tally.not_run(ident, api.name if api else "*", title, reason, f"line {pending.line}",
                           [Frame("sent", pending.t, pending.text)])

    def _ambiguous(self, found: Ambiguous) -> None:
        apis = [p.about.client.api for p in found.requests]
        lines = ", ".join(str(p.line) for p in found.requests)
        check = CheckResult(
            "pairing", Verdict.INFORMATIONAL,
            tuple(dict.fromkeys(a.envelope_id("response", "subtopic") for a in apis if a is not None)), "inferred",
            "inferred: a reply is paired by its response subtopic and echoed callid (DESIGN.md, wire binding); "
            "nothing tells which of these requests it answers, so none is judged by it",
            "one outstanding request the frame could answer",
            f"{len(found.requests)} requests (lines {lines}) could own the frame at line {found.line}")
        frames = [*(Frame("sent", p.t, p.text) for p in found.requests), Frame("received", found.t, found.text)]
        self.tally.add("trace.pairing", "*", "replies paired with one request", check, f"line {found.line}",
                       frames, (*(p.line for p in found.requests), found.line))

    def _judge(self, conn: str, pending: Pending, exchange: Exchange) -> None:
        about: About = pending.about
        api, expected = about.client.api, about.expectation
        valid = about.request is not None
        self.breaker.observe(exchange, valid=valid, api=api.name if api else None)
        where, frames = _where(pending, exchange), _frames(exchange)
        if exchange.answered and len(self.replies) < DIALECT_SAMPLES:
            self.replies.append(frames[-1])
        if api is None or expected is None:
            check = CheckResult("reply", Verdict.INFORMATIONAL, (), "inferred",
                                "inferred: the pages say nothing of frames that are no request of theirs",
                                "a reply or none", "a reply" if exchange.answered else exchange.reason)
            self.tally.add("server.not-a-request", "*", "frames that are no request", check, where, frames,
                           pending.lines, pending.text)
            return
        why = self.withdrawn.get(api.name) or self.profile.withholds(api)
        if why is None and valid and withdrawal(api, exchange, self.profile):
            why = self.withdrawn[api.name] = f"refused as not offered at {where}: {exchange.reason}"
        if why is not None:
            check = CheckResult("offered", Verdict.UNIMPLEMENTED, (api.envelope_id("request", "subtopic"),),
                                "documented", api.version_note or api.title, f"{api.name} offered", why)
            self.tally.add(f"server.{api.name}.offered", api.name, f"{api.name}: {CHECK_TITLES['offered']}",
                           check, where, frames, pending.lines, pending.text)
            return
        message = about.client.message
        ctx = StepContext(self.spec, api, message, exchange, expected.basis)
        entries = self._entries(conn, about, expected, ctx)
        for entry in entries:
            check = self._check(ctx, entry)
            name = check.name.split(" ", 1)[0]
            self.tally.add(f"server.{api.name}.{check.name.replace(' ', '.')}", api.name,
                           f"{api.name}: {CHECK_TITLES.get(name, name)}", check, where, frames, pending.lines,
                           pending.text)
        if about.request is not None and conn not in self.anonymous:
            self.judge.learn(about.request, ctx, where)
            if exchange.answered:
                self.earlier[(conn, api.name)] = Earlier(about.request.form, about.request.values, Judge.got(ctx),
                                                         exchange.started)
            else:  # what an unanswered request was owed the trace does not show
                self.earlier.pop((conn, api.name), None)

    def _check(self, ctx: StepContext, entry: Any) -> CheckResult:
        """One check; a reply's schema, which rests on nothing but its text, is judged once per text."""
        if entry != "schema":
            return run_check(ctx, entry)
        text = getattr(ctx.exchange.response, "text", "")
        return self._schemas.get((ctx.api.name, ctx.basis, ctx.exchange.refusal), text,
                                 lambda: run_check(ctx, entry))

    def _entries(self, conn: str, about: About, expected: Expectation, ctx: StepContext) -> list[Any]:
        if conn in self.anonymous:
            return ["refused"]  # the auth.without-credentials case: only whether it was served
        if about.request is not None:
            busy = Judge.changing(self._in_flight()) if ctx.api.name in STATEFUL else NOTHING
            return self.judge.plan(about.request, ctx, self.earlier.get((conn, ctx.api.name)), busy)
        refused = {"not_success": {"requirements": list(expected.requirements), "doc": expected.doc}}
        return [refused] if expected.kind == "invalid" else ["answered", refused]

    def _in_flight(self) -> list[Request]:
        """The valid requests of every connection still awaiting their replies."""
        return [p.about.request for link in self.links.values() for p in link.outstanding
                if p.about.request is not None]

    # ----------------------------------------------------------------- ending

    def results(self) -> list[CaseResult]:
        """The results so far, without ending anything (a live session writes them as it goes)."""
        return self.tally.results()

    def finish(self) -> list[CaseResult]:
        """The results, once every event was fed: requests still waiting are judged at the
        trace's last time (unanswered if their deadline passed, else not judged)."""
        if self.server:
            for conn, link in list(self.links.items()):
                self._expire(conn, link, self.now)
                for pending, exchange in link.abandon(self.now, "the trace ended"):
                    self._unjudged(pending, exchange, "the trace ends before its reply was due")
                self.breaker.strays += link.strays
                del self.links[conn]
        results = self.tally.results()
        if (flood := self.breaker.flooding()) is not None:
            results.append(flooded(flood))
        return results

    def run_result(self, results: list[CaseResult], *, target: str | None = None, strict: bool = False,
                   started: float | None = None) -> RunResult:
        """The audit as a run: the same ``results.json`` contract and reports as ``run``."""
        sample = CaseResult("dialect", "", "*", (), "", "", Verdict.PASS, "", frames=self.replies)
        return RunResult(
            target=target or self.upstream or "a recorded trace", suite_version=__version__, results=results,
            dialect=detect_dialect([sample]), strict=strict,
            duration=time.perf_counter() - started if started is not None else 0.0,
            consumed=self.breaker.consumed.to_json())

