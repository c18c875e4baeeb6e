"""One handler per documented API: a normalised request and the state in, an outcome out.

Handlers apply the pages' rules to :class:`~.state.State` and decide the outcome in
table form; they neither parse nor render. A state refusal the docs answer with a normal
result (a skip that finds no contact) becomes a result with ``success`` false; a missing
prerequisite (an agent not logged in) or a documented error case becomes a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .bindings import Bindings, Operation
from .inputs import Request, show
from .outcomes import Answer, Failure, Outcome
from .state import ContactNotFound, InvalidCallId, Refused, State, UnknownAgent, outcome_key

Handler = Callable[[State, Request], Outcome]
MAX_COUNT_DIGITS = 9


def _result(bindings: Bindings, op: Operation, success: bool, msg: str | None = None) -> dict[str, Any]:
    """The op's result member: the success flag and, on failure, why."""
    result: dict[str, Any] = {bindings.result["success"]: success}
    if msg is not None:
        result[bindings.result["msg"]] = msg
    return {op["result"]: op.wrap("result", result)}


def _reserve(op: Operation, bindings: Bindings) -> Handler:
    def handle(state: State, request: Request) -> Outcome:
        data, wanted = request.data, request.data[op["count"]]
        if not (wanted.isascii() and wanted.isdigit() and len(wanted) <= MAX_COUNT_DIGITS):
            return Failure(op.api.name, f"{op['count']} must be a whole number of contacts, not {show(wanted)}")
        try:
            contacts = state.reserve(
                data[op["agent"]], int(wanted), consent=data[op["consent"]], reserved=data[op["reserved"]]
            )
        except Refused as exc:
            return Failure(op.api.name, str(exc))
        return Answer(op.api.name, {op["contacts"]: [dict(c.record) for c in contacts]})

    return handle


def _skip(op: Operation, bindings: Bindings) -> Handler:
    def handle(state: State, request: Request) -> Outcome:
        data = request.data
        try:
            state.skip(
                data[op["agent"]],
                outcome_key(data[op["outcome"]]),
                account=data[op["account"]],
                phone=data[op["phone"]],
            )
        except UnknownAgent as exc:
            return Failure(op.api.name, str(exc))
        except Refused as exc:
            return Answer(op.api.name, _result(bindings, op, False, str(exc)))
        return Answer(op.api.name, _result(bindings, op, True))

    return handle


def _dial(op: Operation, bindings: Bindings) -> Handler:
    def handle(state: State, request: Request) -> Outcome:
        return Answer(op.api.name, {target: request.envelope[member] for target, member in op.copies})

    return handle


def _skip_non_consent(op: Operation, bindings: Bindings) -> Handler:
    def handle(state: State, request: Request) -> Outcome:
        try:
            state.skip_non_consent(request.data[op["agent"]])
        except UnknownAgent as exc:
            return Failure(op.api.name, str(exc))
        except ContactNotFound:
            return Answer(op.api.name, _result(bindings, op, False, bindings.texts["contact_not_found"]))
        return Answer(op.api.name, _result(bindings, op, True))

    return handle


def _set_outcome(op: Operation, bindings: Bindings) -> Handler:
    def handle(state: State, request: Request) -> Outcome:
        data = request.data
        callid = data[op["callid"]]
        try:
            state.set_call_outcome(
                callid,
                agent=data[op["agent"]],
                account=data[op["account"]],
                outcome=outcome_key(data[op["outcome"]]),
                details=data,
            )
        except InvalidCallId as exc:
            return Failure(op.api.name, bindings.texts["empty_callid" if exc.empty else "unknown_callid"])
        except UnknownAgent as exc:
            return Failure(op.api.name, str(exc))
        except Refused as exc:
            return Answer(op.api.name, {op["reply_callid"]: callid, **_result(bindings, op, False, str(exc))})
        return Answer(op.api.name, {op["reply_callid"]: callid, **_result(bindings, op, True)})

    return handle


MAKERS: dict[str, Callable[[Operation, Bindings], Handler]] = {
    "reserve": _reserve,
    "skip": _skip,
    "dial": _dial,
    "skip_non_consent": _skip_non_consent,
    "set_outcome": _set_outcome,
}
"""Operation (bindings.yaml) -> handler factory."""


def build_handlers(bindings: Bindings) -> dict[str, Handler]:
    """The handler table, keyed by request subtopic."""
    return {op.api.name: MAKERS[name](op, bindings) for name, op in bindings.operations.items()}
