"""Fault kinds: small changes applied around the clean reference server, never inside it.

A :class:`Fault` is data: service edits (each returns a changed copy of the
:class:`~conformance.server.Service`, with its reader, state, handlers or render wrapped),
a transport fault (how an exchange's replies go out: late, closed, crashed, mangled) and
whether the opening handshake's token is checked. The constructors below build the
usual ones, so a catalogue entry is a name, a description, a requirement and one call.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from functools import reduce
from typing import Any

from websockets.asyncio.server import Server, ServerConnection

from ..server import Exchange, Service
from ..server.handlers import Handler
from ..server.inputs import Request
from ..server.outcomes import Failure, Outcome
from ..server.service import FrameReader
from ..server.state import State
from .edits import Edit

ServiceEdit = Callable[[Service], Service]
Reply = dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    """One frame handled on the fault transport: what a transport fault may act on."""

    connection: ServerConnection
    server: Server
    frame: str | bytes
    request: Request | None
    """The frame as the service's reader reads it; None when it is no valid request."""
    exchange: Exchange

    async def send(self, frames: list[str | bytes] | None = None) -> None:
        """Send the exchange's replies (or the given frames), in order."""
        for reply in self.exchange.frames if frames is None else frames:
            await self.connection.send(reply)


Deliver = Callable[[Delivery], Awaitable[None]]
When = Callable[[Delivery], bool]


@dataclass(frozen=True)
class Fault:
    """What a target changes around the reference server (nothing, by default)."""

    service: tuple[ServiceEdit, ...] = ()
    deliver: Deliver | None = None
    """Replaces "send every reply" on a transport of the mutants' own; None keeps the reference's."""
    checks_token: bool = True

    def apply(self, service: Service) -> Service:
        return reduce(lambda svc, edit: edit(svc), self.service, service)


# ------------------------------------------------------------------------ service faults


def replies(fn: Callable[[Outcome, list[Reply]], list[Reply]]) -> Fault:
    """Change the replies an outcome gets: none, more, or others."""
    def edit(svc: Service) -> Service:
        render = svc.render
        return replace(svc, render=lambda outcome: fn(outcome, render(outcome)))

    return Fault(service=(edit,))


def rewrite(*edits: Edit, api: str | None = None, failures: bool | None = None) -> Fault:
    """Edit the replies to one API (every API if None): its answers, its failures, or both."""
    def change(outcome: Outcome, out: list[Reply]) -> list[Reply]:
        if api not in (None, outcome.api) or failures not in (None, isinstance(outcome, Failure)):
            return out
        out = copy.deepcopy(out)
        for reply in out:
            for edit in edits:
                edit(reply)
        return out

    return replies(change)


def outcomes(fn: Callable[[Outcome], Outcome]) -> Fault:
    """Change what a handler decided before it is put into words."""
    def edit(svc: Service) -> Service:
        render = svc.render
        return replace(svc, render=lambda outcome: render(fn(outcome)))

    return Fault(service=(edit,))


def handlers(wrap: Callable[[Handler], Handler], api: str | None = None) -> Fault:
    """Wrap the handler of one API (of every API if None)."""
    def edit(svc: Service) -> Service:
        table = {name: wrap(h) if api in (None, name) else h for name, h in svc.handlers.items()}
        return replace(svc, handlers=table)

    return Fault(service=(edit,))


def refuse(when: Callable[[Request], bool], text: str, api: str | None = None) -> Fault:
    """Refuse, as a bad request, requests the reference accepts (an input wrongly rejected)."""
    def wrap(handler: Handler) -> Handler:
        def handle(state: State, request: Request) -> Outcome:
            return Failure(request.api, text) if when(request) else handler(state, request)

        return handle

    return handlers(wrap, api)


def reinterpret(api: str, data: Callable[[Request], Mapping[str, Any]]) -> Fault:
    """Hand the handler other data than the reader understood (a misreading)."""
    def wrap(handler: Handler) -> Handler:
        return lambda state, request: handler(state, replace(request, data=data(request)))

    return handlers(wrap, api)


def state(proxy: Callable[[State], Any]) -> Fault:
    """Serve from a proxy of the state that bends one of its rules."""
    return Fault(service=(lambda svc: replace(svc, state=proxy(svc.state)),))


class _RewritingReader:
    """The reference reader, after a rewrite of each JSON-object text frame."""

    def __init__(self, inner: FrameReader, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.inner, self.fn = inner, fn

    def read(self, frame: str | bytes) -> Request:
        if isinstance(frame, str):
            try:
                message = json.loads(frame)
            except (ValueError, RecursionError):
                message = None
            if isinstance(message, dict):
                frame = json.dumps(self.fn(message))
        return self.inner.read(frame)


def requests(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Fault:
    """Rewrite each request before the reference reads it (lenient or wrong parsing)."""
    return Fault(service=(lambda svc: replace(svc, reader=_RewritingReader(svc.reader, fn)),))


# ---------------------------------------------------------------------- transport faults


def late(when: When, seconds: float) -> Fault:
    """Answer the frames ``when`` picks only after ``seconds``."""
    async def deliver(d: Delivery) -> None:
        if when(d):
            await asyncio.sleep(seconds)  # the delay is the fault itself
        await d.send()

    return Fault(deliver=deliver)


def closing(when: When, *, answer_first: bool, code: int = 1008) -> Fault:
    """Close the connection on the frames ``when`` picks, with or without answering first."""
    async def deliver(d: Delivery) -> None:
        picked = when(d)
        if answer_first or not picked:
            await d.send()
        if picked:
            await d.connection.close(code, "closed by the target")

    return Fault(deliver=deliver)


def crashing(when: When) -> Fault:
    """Stop the whole server, unanswered, on the frames ``when`` picks (an unhandled error)."""
    async def deliver(d: Delivery) -> None:
        if when(d):
            d.server.close()
            return
        await d.send()

    return Fault(deliver=deliver)


def mangling(when: When, fn: Callable[[str], str | bytes]) -> Fault:
    """Put the replies to the frames ``when`` picks on the wire as ``fn`` writes them."""
    async def deliver(d: Delivery) -> None:
        await d.send([fn(f) for f in d.exchange.frames] if when(d) else None)

    return Fault(deliver=deliver)


UNGUARDED = Fault(checks_token=False)
"""Serve without checking the opening handshake's token."""
