"""Run one case against a target: build each step's frame, exchange it, run its checks.

The engine joins the pure parts (cases, messages, checks) to the transport. One case
gets its own connections (one per agent), so a case that breaks a connection does
not spill into the next one; the target's state is shared, as it is for real clients.
Cases may run at once (:mod:`conformance.schedule`): a case opens its first connection,
then waits its :class:`Turn` before each step that touches state another case touches.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shlex
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from .breaker import Breaker
from .cases import Case, Step, fill
from .checks import StepContext, refusal_sign, run_check
from .messages import build_request, items, lookup
from .profile import Profile
from .protocol import Exchange, FrameLog, Status, expected_reply, parse_frame
from .refusals import strings
from .results import CaseResult, CheckResult, Frame, Verdict, worst
from .spec import Api, Spec
from .transport import Connection, ExchangeFailed, TargetUnreachable, TransportError

WRONG_TYPE_FOR_SCALAR = {"unexpected": "object"}
WRONG_TYPE_FOR_CONTAINER = "not-a-container"
OVERSIZED_BYTES = 256 * 1024
ANONYMOUS = 0
"""The ``agent`` of a step sent on a connection opened without the profile's credentials."""
IDLE_AGENT = "lcm-conformance-idle-agent"
"""An agent id no one uses: it has fetched no contact (and may not be logged in)."""
MARKER_PHONE = "0000000002"
"""A number dialled on one connection only, to see where its answer goes."""
NEEDS = {
    "agent2": "the target profile names one agent; this case needs two distinct agents (profile key agents)",
    "credentials": "the target profile declares no credentials (headers taken from the environment)",
}
"""Why a case needing a profile value cannot run without it."""
REFUSAL_WAIT = 1.0
"""Seconds to wait for the reply to a request the tables forbid, where no page documents
one: a target that drops such requests costs this much, not the whole response timeout."""
SETTLE = 0.1
"""Seconds allowed for that reply once a ping sent after the request has its pong, at the
least: the run's breaker raises it to twice the slowest recent answer."""
WITHDRAWN_WORDS = re.compile(r"unknown|unsupported|not supported|not offered|not available|no longer|withdrawn"
                             r"|not implemented|deprecated", re.IGNORECASE)
"""How a refusal says an API is not offered (our inference: the pages give no such text)."""


class Turn(Protocol):
    """A case's place in the run's order (:class:`conformance.schedule.Turn`)."""

    async def before(self, step: int) -> None:
        """Wait until step ``step`` (1-based) may touch the state it touches."""

    def done(self) -> None:
        """The case sends nothing more: the next case may touch what it touched."""


class NotRun(Exception):
    """A precondition the target cannot meet: the case is reported as not run."""


class Unimplemented(Exception):
    """The target does not offer an API the case needs."""


def credential_headers(profile: Profile) -> list[str]:
    """The handshake headers that carry a secret: by the profile's own rule, a value taken
    from the environment is a credential, so the profile declares the target requires it."""
    return sorted(name for name, value in profile.headers.items() if any(s in value for s in profile.secrets))


def run_variables(profile: Profile) -> dict[str, Any]:
    """The ``${…}`` names case files may use, from the target profile."""
    fixtures = profile.fixtures
    return {
        "agent": profile.agent,
        "agent2": profile.second_agent,
        "idle_agent": IDLE_AGENT,
        "marker_phone": MARKER_PHONE,
        "callid": fixtures.call_id,
        "call_account": fixtures.account_number,
        "outcome_id": fixtures.telephony_outcome_id,
        "business_outcome_id": fixtures.business_outcome_id,
        "phone": fixtures.phone_number,
        "phone_digits": fixtures.phone_number.lstrip("+"),
        "credentials": ", ".join(credential_headers(profile)) or None,
        "unknown_callid": "lcm-conformance-no-such-call",
        "unknown_phone": "0000000001",
        "oversized": json.dumps({"channel": "LCM", "data": "x" * OVERSIZED_BYTES}),
    }


def _wrong_type(api: Api, name: str) -> Any:
    row = api.field(f"request.data.{name}")
    return WRONG_TYPE_FOR_CONTAINER if row.json_type in ("object", "array") else WRONG_TYPE_FOR_SCALAR


def build_frame(spec: Spec, step: Step) -> tuple[str, Api | None, dict[str, Any] | None]:
    """The text to send for a (filled) step, the API it addresses and the message, if any."""
    if step.raw is not None:
        return step.raw, None, None
    if step.frame is not None:
        api = spec.apis.get(str(step.frame.get("subtopic"))) if isinstance(step.frame, dict) else None
        return json.dumps(step.frame), api, step.frame
    send = step.send or {}
    api = spec.api(send["api"])
    message = build_request(spec, api.name, send.get("form", "tables"), send.get("values"))
    message.update(send.get("envelope", {}))
    data = message.get("data", {})
    for name in send.get("drop", ()):
        data.pop(name, None)
    for name in send.get("retype", ()):
        data[name] = _wrong_type(api, name)
    return json.dumps(message), api, message


class CaseRunner:
    """Runs cases against one target described by a profile."""

    def __init__(self, spec: Spec, profile: Profile, *, target_label: str | None = None,
                 breaker: Breaker | None = None) -> None:
        self.spec = spec
        self.profile = profile
        self.target = target_label or profile.url
        self.base_variables = run_variables(profile)
        self.withdrawn: dict[str, str] = {}
        """APIs found not offered during the run: later cases skip them without waiting."""
        self.breaker = breaker or Breaker()

    def _offered(self, api: Api) -> str | None:
        """Why the target is not expected to offer an API, or None if it is."""
        return self.withdrawn.get(api.name) or self.profile.withholds(api)

    def _preconditions(self, case: Case) -> None:
        for api_name in {case.api, *(s.send["api"] for s in case.steps if s.send)}:
            if api_name in self.spec.apis and (why := self._offered(self.spec.api(api_name))):
                raise Unimplemented(why)
        for need in case.needs:
            if not self.base_variables.get(need):
                raise NotRun(NEEDS.get(need, f"the target profile gives no {need} fixture"))

    async def run(self, case: Case, turn: Turn | None = None) -> CaseResult:
        """Run one case; never raises: whatever happens ends in a verdict.

        ``turn``: waited before each step, once the step's connection is open (so opening
        it costs no time on a chain of cases that wait for one another).

        A FAIL check once recorded always decides the verdict; else an exception of ours
        makes it ERROR; else a precondition the target could not meet makes it NOT RUN
        (INFORMATIONAL) or UNIMPLEMENTED; a case whose checks never ran is NOT RUN.
        """
        started = time.perf_counter()
        run = _CaseRun(started)
        result = CaseResult(case.id, case.title, case.api, case.requirements, case.doc, case.basis,
                            Verdict.PASS, "")
        connections: dict[int, Connection] = {}
        try:
            self._preconditions(case)
            variables = {**self.base_variables, "row": case.row}
            for number, raw_step in enumerate(case.steps, 1):
                if self.breaker.stopped:
                    raise NotRun(self.breaker.stopped)
                if raw_step.unless and variables.get(raw_step.unless):
                    continue
                run.step = number
                step = _filled(raw_step, variables, number)
                conn = connections.get(step.agent)
                if conn is None:
                    conn = connections[step.agent] = self._connection(step.agent)
                    if step.agent != ANONYMOUS:  # a refused handshake is the anonymous step's answer
                        await conn.connect()
                if turn is not None:
                    await turn.before(number)
                    if self.breaker.stopped:
                        raise NotRun(self.breaker.stopped)
                await self._step(case, number, step, conn, variables, run)
        except NotRun as why:
            result.not_run = str(why)
            result.verdict = Verdict.INFORMATIONAL
        except Unimplemented as why:
            result.not_run = str(why)
            result.verdict = Verdict.UNIMPLEMENTED
        except TransportError as exc:
            run.checks.append(CheckResult("target reachable", Verdict.FAIL, case.requirements, "documented",
                                          case.doc, "the target to accept a connection", str(exc)))
        except Exception as exc:  # noqa: BLE001 -- a bug of ours, or a reply no path expected: ERROR, not a crash
            run.checks.append(_suite_error(case, run.step, exc))
        finally:
            if turn is not None:  # before the closing handshakes: they touch no state
                turn.done()
            for conn in connections.values():
                try:
                    await conn.close()
                except Exception:  # noqa: BLE001,S110 -- best effort; no verdict depends on it
                    pass
        redact = self.profile.redactor()
        result.checks = [_redacted(c, redact) for c in run.checks] if redact else run.checks
        result.frames = run.frames
        result.duration = time.perf_counter() - started
        result.verdict = _verdict(result)
        if result.verdict is not Verdict.INFORMATIONAL and result.verdict is not Verdict.UNIMPLEMENTED:
            result.not_run = None
        result.detail = _detail(result, run.strays)
        if result.verdict in (Verdict.FAIL, Verdict.ERROR):
            result.reproduce = self._reproduce(case, [redact(t) for t in run.sent] if redact else run.sent)
        return result

    def _connection(self, agent: int) -> Connection:
        if agent != ANONYMOUS:
            return Connection.from_profile(self.profile)
        hidden = set(credential_headers(self.profile))
        return Connection.from_profile(
            self.profile, headers={k: v for k, v in self.profile.headers.items() if k not in hidden}
        )

    async def _step(self, case: Case, number: int, step: Step, conn: Connection, variables: dict[str, Any],
                    run: _CaseRun) -> None:
        text, api, message = build_frame(self.spec, step)
        if api is not None and (why := self._offered(api)):
            raise Unimplemented(why)
        if api is not None and (why := self.breaker.refuses(api.name)):
            raise NotRun(why)
        refusal = step.expect == "reply"
        subtopic, callid = reply_key(self.spec, text, api, message)
        quick = refusal and not _documented_reply(step)
        api_name = api.name if api is not None else None
        wait = min(REFUSAL_WAIT, self.profile.timeouts.response) if quick else None
        connects = conn.connects
        base = time.perf_counter() - run.t0
        try:
            exchange = await conn.exchange(text, subtopic, callid, timeout=wait, refusal=refusal,
                                           settle=self.breaker.settle(SETTLE) if quick else None)
        except ExchangeFailed as failed:
            exchange = failed.exchange
        except TargetUnreachable as refused:
            if step.agent != ANONYMOUS:
                raise
            exchange = _refused(text, subtopic, callid, refused.reason)
        run.sent.append(text)
        run.strays += exchange.unmatched_count if exchange.answered else 0
        run.frames.extend(Frame(f.direction, round(base + f.at, 4), f.text) for f in exchange.log.frames)
        # Silence counts towards the breaker wherever a reply is documented.
        if late := self.breaker.observe(exchange, valid=not quick, api=api_name):
            raise NotRun(late)
        if api is not None and not refusal and withdrawal(api, exchange, self.profile):
            self.withdrawn[api.name] = (f"{api.name} (offered up to Campaign Manager {api.max_cm_version}) "
                                        f"was refused as not offered: {_show_reply(exchange)}")
            raise Unimplemented(self.withdrawn[api.name])
        ctx = StepContext(self.spec, api or self.spec.api(case.api), message, exchange, case.basis)
        previous = run.last.get(step.agent)
        if previous is not None:
            closed = conn.connects > connects
            if previous == "valid" and (late := self.breaker.kept_open(not closed)):
                raise NotRun(late)
            if closed:
                run.checks.append(_numbered(_kept_open(ctx, after_reply=previous == "valid"), number))
        if exchange.answered or exchange.status is Status.CLOSED or (refusal and exchange.status is Status.TIMEOUT):
            run.last[step.agent] = _kind(step, refusal)
        else:  # a valid request left unanswered: we reconnect, not the target
            run.last.pop(step.agent, None)
        for entry in step.checks:
            result = run_check(ctx, entry)
            run.checks.append(_numbered(result, number))
        reply = exchange.message.get("message") if isinstance(exchange.message, dict) else None
        nothing = refusal_sign(ctx.api, exchange.message) is not None
        for name, path in step.capture.items():  # a refusal hands out nothing
            variables[name] = [] if nothing else items(lookup(reply, path))
        for name in step.require:
            if not variables.get(name):
                raise NotRun(f"step {number}: the target handed the test agent no contact "
                             f"({name} is empty), so the rest of the case cannot run")


    def _reproduce(self, case: Case, sent: list[str]) -> dict[str, Any]:
        return {
            "frames": sent,
            "command": f"python -m websockets {shlex.quote(self.target)}",
            "case_command": f"lcm-conformance run --case {shlex.quote(case.id)} --target {shlex.quote(self.target)}",
        }


def reply_key(spec: Spec, text: str, api: Api | None, message: Any) -> tuple[str | None, str | None]:
    """The response subtopic and echoed call id that mark the reply to a frame, if any.

    A raw frame that still parses as a request of a documented API is answered as one.
    """
    if api is None:
        event = parse_frame(text, ())
        obj = getattr(event, "obj", None)
        api = spec.apis.get(obj.get("subtopic")) if obj is not None and isinstance(obj.get("subtopic"), str) else None
        message = obj
    if api is None:
        return None, None
    return expected_reply(api, message, spec)


def _refused(text: str, subtopic: str | None, callid: str | None, reason: str) -> Exchange:
    """The exchange of a request never sent: the opening handshake was refused."""
    return Exchange(Status.CLOSED, text, subtopic, callid, None, (), 0, 0, 0.0, 0.0, FrameLog(0.0),
                    f"handshake refused: {reason}")


def withdrawal(api: Api, exchange: Exchange, profile: Profile) -> bool:
    """Whether a valid request's exchange says in words that the target no longer offers a
    version-gated API.

    Only when the profile does not say which Campaign Manager version the target runs, and
    only by an explicit refusal that names the subtopic as unknown or unsupported: silence,
    a close or a crash is a failure, not a withdrawal.
    """
    return (
        api.max_cm_version is not None
        and profile.campaign_manager_version is None
        and not _answered_by(exchange, api)
        and _names_withdrawal(exchange.response, api)
    )


def _answered_by(exchange: Exchange, api: Api) -> bool:
    reply = exchange.message
    return isinstance(reply, dict) and reply.get("subtopic") == api.response_subtopic


def _names_withdrawal(event: Any, api: Api) -> bool:
    """A message that names the API's subtopic as unknown or unsupported."""
    obj = getattr(event, "obj", None)
    texts = strings(obj) if isinstance(obj, dict) else []
    return any(api.name in t and WITHDRAWN_WORDS.search(t) for t in texts)


def _show_reply(exchange: Exchange) -> str:
    text = getattr(exchange.response, "text", exchange.reason)
    return text if len(text) <= 300 else text[:299] + "…"


def _documented_reply(step: Step) -> bool:
    """Whether the step's checks say a page documents a reply to this refused request."""
    return any(isinstance(c, dict) and "answered" in c and (c["answered"] or {}).get("basis") == "documented"
               for c in step.checks)


def _kind(step: Step, refusal: bool) -> str:
    """What a step sent: a valid request, a request the tables forbid, or a frame that is no
    request of any API (raw text, a literal frame, an envelope of its own)."""
    if step.raw is not None or step.frame is not None or (step.send or {}).get("envelope"):
        return "odd"
    return "invalid" if refusal else "valid"


def _kept_open(ctx: StepContext, *, after_reply: bool) -> CheckResult:
    """The channel outlives a request: the next request on it must still be served.

    After the reply to a valid request this is documented (every page has the agent
    application send request after request and get each reply on its channel); after a
    request the tables forbid, or a frame that is no request, the pages say nothing, so
    closing then is recorded, never judged (the next request, on a new connection, must
    still be served).
    """
    if not after_reply:
        doc, basis = "inferred: the pages say nothing of what follows a request they forbid", "inferred"
    else:
        doc, basis = (f"{ctx.api.title}: Request and Response Parameters tables (each request and its "
                      "reply travel on the agent's channel; a reply does not end it)"), "documented"
    return ctx.result(
        "connection kept open", False, [ctx.api.envelope_id("request", "channel")], doc,
        "the connection the previous request used to serve this one",
        "the target had closed it after its previous reply; this request needed a new connection",
        basis=basis,
    )


def _suite_error(case: Case, step: int, exc: BaseException) -> CheckResult:
    """An ERROR check: the exception and where it was raised, for a bug report."""
    where = traceback.extract_tb(exc.__traceback__)[-3:]
    trace = " <- ".join(f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})" for f in reversed(where))
    return CheckResult(
        f"step {step} suite error", Verdict.ERROR, case.requirements, case.basis, case.doc,
        "the suite to judge this step", f"{type(exc).__name__}: {exc} [{trace}]",
    )


def _verdict(result: CaseResult) -> Verdict:
    """A FAIL check always decides; then ERROR; then not run or unimplemented; then the checks."""
    verdicts = [c.verdict for c in result.checks]
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.ERROR in verdicts:
        return Verdict.ERROR
    if result.not_run is not None:
        return result.verdict
    if not verdicts:
        result.not_run = "no check ran"
        return Verdict.INFORMATIONAL
    return worst(verdicts)


@dataclasses.dataclass
class _CaseRun:
    """What one case has gathered so far: checks, frames, frames sent, the step under way."""

    t0: float
    checks: list[CheckResult] = dataclasses.field(default_factory=list)
    frames: list[Frame] = dataclasses.field(default_factory=list)
    sent: list[str] = dataclasses.field(default_factory=list)
    step: int = 0
    strays: int = 0
    """Frames received that answered nothing (greetings, broadcasts, second copies)."""
    last: dict[int, str] = dataclasses.field(default_factory=dict)
    """Per agent connection: what its previous frame was (see :func:`_kind`)."""


def _filled(step: Step, variables: dict[str, Any], number: int) -> Step:
    """The step with its ``${…}`` filled; a value an earlier reply did not give makes the
    case not run (the reply's own checks judged whether it broke a documented rule)."""
    try:
        return _fill_step(step, variables)
    except KeyError as missing:
        raise NotRun(f"step {number} needs {missing.args[0]}, which the target's earlier replies "
                     "did not give") from None


def _fill_step(step: Step, variables: dict[str, Any]) -> Step:
    return Step(
        send=fill(copy.deepcopy(step.send), variables) if step.send else None,
        frame=fill(copy.deepcopy(step.frame), variables) if step.frame is not None else None,
        raw=fill(step.raw, variables) if step.raw is not None else None,
        agent=step.agent,
        expect=step.expect,
        checks=tuple(fill(list(step.checks), variables)),
        capture=step.capture,
        require=step.require,
        unless=step.unless,
    )


def _redacted(check: CheckResult, redact: Callable[[str], str]) -> CheckResult:
    """A check whose texts (built from parsed replies) hide the profile's secrets."""
    return dataclasses.replace(check, expected=redact(check.expected), actual=redact(check.actual))


def _numbered(result: CheckResult, number: int) -> CheckResult:
    return CheckResult(f"step {number} {result.name}", result.verdict, result.requirements, result.basis,
                       result.doc, result.expected, result.actual, result.discrepancies)


def _detail(result: CaseResult, strays: int = 0) -> str:
    also = f" ({strays} other frame(s) received that answered no request: recorded, not judged)" if strays else ""
    if result.not_run:
        return f"not run: {result.not_run}{also}"
    bad = [c for c in result.checks if c.verdict is result.verdict and c.verdict is not Verdict.PASS]
    if bad:
        return bad[0].message() + also
    return f"all {len(result.checks)} checks passed{also}"
