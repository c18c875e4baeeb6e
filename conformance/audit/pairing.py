"""Pair a recorded connection's replies with its requests, as ``run`` pairs them (pure).

Each request gets the :class:`~conformance.protocol.Correlator` ``run`` uses, so a reply
is the first frame on the documented response subtopic (with the echoed ``callid``) or a
refusal of its own. A recorded application may send a request before the previous one is
answered; a frame two outstanding requests could own is reported as ambiguous, never
given to one of them. Frames no request takes are read by the oldest outstanding request
(counted towards a flood, as ``run`` counts them), or, when none is outstanding, kept for
the next request as frames that came before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..protocol import Correlator, Exchange, parse_frame

EARLY = 32
"""Frames between requests kept to show with the next one (more are only counted)."""


@dataclass
class Pending:
    """One request awaiting its reply, and the trace lines its exchange has read."""

    line: int
    t: float
    text: str
    correlator: Correlator
    about: Any
    """What the auditor knows of the request (its judgement, its API)."""
    lines: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines.append(self.line)

    def note(self, line: int) -> None:
        if len(self.lines) < self.correlator.keep:
            self.lines.append(line)
        else:
            self.lines[-1] = line


@dataclass(frozen=True)
class Ambiguous:
    """A frame that could answer several outstanding requests: none of them gets it."""

    line: int
    t: float
    text: str
    requests: tuple[Pending, ...]


Finished = tuple[Pending, Exchange]


class Link:
    """One connection's outstanding requests and unread frames."""

    def __init__(self) -> None:
        self.outstanding: list[Pending] = []
        self._early: list[tuple[int, float, str | bytes]] = []
        self.strays = 0
        """Frames between requests beyond :data:`EARLY`: counted only."""

    def send(self, pending: Pending) -> None:
        """A request went out: the frames read since the last one are noted as early."""
        for line, t, frame in self._early:
            pending.correlator.early(frame, t)
            pending.note(line)
        if self._early:
            self._early.clear()
        self.outstanding.append(pending)

    def receive(self, frame: str | bytes, line: int, t: float) -> Finished | Ambiguous | None:
        """One frame from the server: the exchange it finishes, an ambiguity, or None."""
        if not self.outstanding:
            if len(self._early) < EARLY:
                self._early.append((line, t, frame))
            else:
                self.strays += 1
            return None
        required = self.outstanding[0].correlator.required
        event = parse_frame(frame, required)
        owners = [p for p in self.outstanding if p.correlator.answers(event)]
        if len(owners) > 1:
            for p in owners:
                self.outstanding.remove(p)
            return Ambiguous(line, t, frame if isinstance(frame, str) else repr(frame), tuple(owners))
        reader = owners[0] if owners else self.outstanding[0]
        reader.note(line)
        exchange = reader.correlator.receive(frame, t)
        if exchange is None:
            return None
        self.outstanding.remove(reader)
        return reader, exchange

    def expire(self, now: float) -> list[Finished]:
        """Requests whose deadline passed before ``now``: no reply in time."""
        done = [p for p in self.outstanding if p.correlator.deadline is not None and p.correlator.deadline < now]
        for p in done:
            self.outstanding.remove(p)
        return [(p, p.correlator.expire(now)) for p in done]

    def closed(self, now: float, reason: str) -> list[Finished]:
        """The server ended the connection: every outstanding request is unanswered."""
        done, self.outstanding = self.outstanding, []
        return [(p, p.correlator.closed(now, reason)) for p in done]

    def abandon(self, now: float, reason: str) -> list[Finished]:
        """The connection ends without the server's doing: the requests cannot be judged
        (their exchanges still say what was read, towards a flood)."""
        done, self.outstanding = self.outstanding, []
        self.strays += len(self._early)
        self._early.clear()
        return [(p, p.correlator.closed(now, reason)) for p in done]
