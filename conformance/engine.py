"""Run one case against a target: build each step's frame, exchange it, run its checks.

The engine joins the pure parts (cases, messages, checks) to the transport. One case
gets its own connections (one per agent), so a case that breaks a connection does
not spill into the next one; the target's state is shared, as it is for real clients.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shlex
import time
from typing import Any, Callable

from .cases import Case, Step, fill
from .checks import StepContext, run_check
from .messages import build_request, items, lookup
from .profile import Profile
from .protocol import Exchange, FrameLog, Status, expected_reply
from .results import CaseResult, CheckResult, Frame, Verdict, worst
from .spec import Api, Spec
from .transport import Connection, ExchangeFailed, TargetUnreachable, TransportError

WRONG_TYPE_FOR_SCALAR = {"unexpected": "object"}
WRONG_TYPE_FOR_CONTAINER = "not-a-container"
OVERSIZED_BYTES = 256 * 1024
ANONYMOUS = 0
"""The ``agent`` of a step sent on a connection opened without the profile's credentials."""


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
        "agent2": profile.second_agent or profile.agent,
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
        api = spec.apis.get(step.frame.get("subtopic")) if isinstance(step.frame, dict) else None
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

    def __init__(self, spec: Spec, profile: Profile, *, target_label: str | None = None) -> None:
        self.spec = spec
        self.profile = profile
        self.target = target_label or profile.url
        self.base_variables = run_variables(profile)
        self.withdrawn: dict[str, str] = {}
        """APIs found not offered during the run: later cases skip them without waiting."""

    def _offered(self, api: Api) -> str | None:
        """Why the target is not expected to offer an API, or None if it is."""
        return self.withdrawn.get(api.name) or self.profile.withholds(api)

    def _preconditions(self, case: Case) -> None:
        for api_name in {case.api, *(s.send["api"] for s in case.steps if s.send)}:
            if api_name in self.spec.apis and (why := self._offered(self.spec.api(api_name))):
                raise Unimplemented(why)
        for need in case.needs:
            if not self.base_variables.get(need):
                raise NotRun(f"the target profile gives no {need} fixture")

    async def run(self, case: Case) -> CaseResult:
        """Run one case; never raises for anything the target does."""
        started = time.perf_counter()
        checks: list[CheckResult] = []
        frames: list[Frame] = []
        sent: list[str] = []
        connections: dict[int, Connection] = {}
        result = CaseResult(case.id, case.title, case.api, case.requirements, case.doc, case.basis,
                            Verdict.PASS, "")
        try:
            self._preconditions(case)
            variables = {**self.base_variables, "row": case.row}
            for number, raw_step in enumerate(case.steps, 1):
                step = _filled(raw_step, variables)
                conn = connections.get(step.agent)
                if conn is None:
                    conn = connections[step.agent] = self._connection(step.agent)
                await self._step(case, number, step, conn, variables, checks, frames, sent, started)
        except NotRun as why:
            result.not_run = str(why)
            result.verdict = Verdict.INFORMATIONAL
        except Unimplemented as why:
            result.not_run = str(why)
            result.verdict = Verdict.UNIMPLEMENTED
        except TransportError as exc:
            checks.append(CheckResult("target reachable", Verdict.FAIL, case.requirements, "documented",
                                      case.doc, "the target to accept a connection", str(exc)))
        finally:
            for conn in connections.values():
                await conn.close()
        redact = self.profile.redactor()
        result.checks = [_redacted(c, redact) for c in checks] if redact else checks
        result.frames = frames
        result.duration = time.perf_counter() - started
        if result.not_run is None:
            result.verdict = worst(c.verdict for c in checks)
        result.detail = _detail(result)
        if result.verdict is Verdict.FAIL:
            result.reproduce = self._reproduce(case, [redact(t) for t in sent] if redact else sent)
        return result

    def _connection(self, agent: int) -> Connection:
        if agent != ANONYMOUS:
            return Connection.from_profile(self.profile)
        hidden = set(credential_headers(self.profile))
        return Connection.from_profile(
            self.profile, headers={k: v for k, v in self.profile.headers.items() if k not in hidden}
        )

    async def _step(self, case: Case, number: int, step: Step, conn: Connection, variables: dict[str, Any],
                    checks: list[CheckResult], frames: list[Frame], sent: list[str], t0: float) -> None:
        text, api, message = build_frame(self.spec, step)
        if api is not None and (why := self._offered(api)):
            raise Unimplemented(why)
        subtopic, callid = (None, None)
        if api is not None and step.expect == "response":
            subtopic, callid = expected_reply(api, message, self.spec)
        base = time.perf_counter() - t0
        try:
            exchange = await conn.exchange(text, subtopic, callid)
        except ExchangeFailed as failed:
            exchange = failed.exchange
        except TargetUnreachable as refused:
            if step.agent != ANONYMOUS:
                raise
            exchange = _refused(text, subtopic, callid, refused.reason)
        sent.append(text)
        frames.extend(Frame(f.direction, round(base + f.at, 4), f.text) for f in exchange.log.frames)
        if api is not None and self._withdrawn(api, step, exchange):
            self.withdrawn[api.name] = (f"{api.name} (offered up to Campaign Manager {api.max_cm_version}) "
                                        f"got no {api.response_subtopic} reply: {exchange.reason}")
            raise Unimplemented(self.withdrawn[api.name])
        ctx = StepContext(self.spec, api or self.spec.api(case.api), message, exchange, case.basis)
        for entry in step.checks:
            result = run_check(ctx, entry)
            checks.append(_numbered(result, number))
        reply = exchange.message.get("message") if isinstance(exchange.message, dict) else None
        for name, path in step.capture.items():
            variables[name] = items(lookup(reply, path))
        for name in step.require:
            if not variables.get(name):
                raise NotRun(f"step {number}: the target handed the test agent no contact "
                             f"({name} is empty), so the rest of the case cannot run")

    def _withdrawn(self, api: Api, step: Step, exchange: Exchange) -> bool:
        """Whether a missing reply says the target no longer offers a version-gated API.

        Only a valid request (one that expects the API's response) can tell, and only when
        the profile does not say which Campaign Manager version the target runs: a declared
        version that still offers the API makes a missing reply a failure, not a withdrawal.
        """
        return (
            api.max_cm_version is not None
            and step.expect == "response"
            and self.profile.campaign_manager_version is None
            and not _answered_by(exchange, api)
        )

    def _reproduce(self, case: Case, sent: list[str]) -> dict[str, Any]:
        return {
            "frames": sent,
            "command": f"python -m websockets {shlex.quote(self.target)}",
            "case_command": f"lcm-conformance run --case {shlex.quote(case.id)} --target {shlex.quote(self.target)}",
        }


def _refused(text: str, subtopic: str | None, callid: str | None, reason: str) -> Exchange:
    """The exchange of a request never sent: the opening handshake was refused."""
    return Exchange(Status.CLOSED, text, subtopic, callid, None, (), 0, 0, 0.0, 0.0, FrameLog(0.0),
                    f"handshake refused: {reason}")


def _answered_by(exchange: Exchange, api: Api) -> bool:
    reply = exchange.message
    return isinstance(reply, dict) and reply.get("subtopic") == api.response_subtopic


def _filled(step: Step, variables: dict[str, Any]) -> Step:
    return Step(
        send=fill(copy.deepcopy(step.send), variables) if step.send else None,
        frame=fill(copy.deepcopy(step.frame), variables) if step.frame is not None else None,
        raw=fill(step.raw, variables) if step.raw is not None else None,
        agent=step.agent,
        expect=step.expect,
        checks=tuple(fill(list(step.checks), variables)),
        capture=step.capture,
        require=step.require,
    )


def _redacted(check: CheckResult, redact: Callable[[str], str]) -> CheckResult:
    """A check whose texts (built from parsed replies) hide the profile's secrets."""
    return dataclasses.replace(check, expected=redact(check.expected), actual=redact(check.actual))


def _numbered(result: CheckResult, number: int) -> CheckResult:
    return CheckResult(f"step {number} {result.name}", result.verdict, result.requirements, result.basis,
                       result.doc, result.expected, result.actual, result.discrepancies)


def _detail(result: CaseResult) -> str:
    if result.not_run:
        return f"not run: {result.not_run}"
    bad = [c for c in result.checks if c.verdict is result.verdict and c.verdict is not Verdict.PASS]
    if bad:
        return bad[0].message()
    return f"all {len(result.checks)} checks passed"
