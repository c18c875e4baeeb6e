"""The run's circuit breaker: a target that stops answering, or floods, is named once.

Every wait is bounded by the response timeout, but a silent target would still cost a
timeout per request, and every case would fail the same way. The breaker counts valid
requests in a row that got no reply; at :data:`LIMIT` it trips, and what is left of the
run (cases and property runs alike) is not run, naming why once. The same holds for one
API that goes unanswered while the others are answered (only that API stops), and for a
target that closes the connection after every reply. It also counts the frames that
answered no request: a target that sends many of them for each request it is asked is
flooding, one FAIL for the whole run; past :data:`FLOOD_STOP` it trips too.

Cases and property runs may run at once, on many connections and on worker threads, so
"in a row" is in the order the waits end, whatever the connection: any reply resets the
count. A request still in flight when the breaker trips proves nothing more; its silence
(or a close) makes its case NOT RUN with the breaker's reason (:meth:`Breaker.observe`),
so a run stopped early shows as many silences as a sequential run would, whatever the
number of connections.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from .consumption import Ledger
from .protocol import Exchange, Status

LIMIT = 3
"""Valid requests in a row without their reply before the target counts as stopped."""
FLOOD_TOTAL = 200
FLOOD_PER_REQUEST = 5.0
"""A run floods when the frames that answered nothing exceed both: a greeting, a
heartbeat or a notice after each reply stays far below."""
LATENCY_SAMPLES = 20
"""Answers the settle time is learnt from."""
FLOOD_STOP = 20_000
"""Past this many frames that answered nothing, nothing more is sent."""


@dataclass
class Breaker:
    """Shared by the example cases and the property runs of one run."""

    limit: int = LIMIT
    silent: int = 0
    stopped: str | None = None
    """Why nothing more is sent, once the breaker has tripped."""
    requests: int = 0
    strays: int = 0
    """Frames received that answered no request (greetings, broadcasts, second copies)."""
    api_silent: dict[str, int] = field(default_factory=dict)
    api_stopped: dict[str, str] = field(default_factory=dict)
    """APIs whose valid requests went unanswered ``limit`` times in a row, and why."""
    closes: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    """How long the latest valid requests took to be answered."""
    consumed: Ledger = field(default_factory=Ledger)
    """What the run took from the target (every exchange passes here)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """Property runs record from worker threads, cases from the event loop."""

    def observe(self, exchange: Exchange, *, valid: bool, api: str | None = None) -> str | None:
        """Record one exchange; a valid request's silence counts towards tripping.

        Returns why the exchange proves nothing, or None: a valid request left unanswered
        after the breaker (for the target, or for this API) had tripped on other
        connections while it was in flight. Its silence is not counted, and its case is
        not run, naming the breaker's reason."""
        with self._lock:
            missed = valid and not exchange.answered
            if missed and (why := self.stopped or (self.api_stopped.get(api) if api else None)):
                self.requests += 1
                self.strays += exchange.unmatched_count
                return f"{why} (this request was in flight when it did)"
            self._observe(exchange, valid=valid, api=api)
            return None

    def _observe(self, exchange: Exchange, *, valid: bool, api: str | None) -> None:
        self.requests += 1
        self.strays += exchange.unmatched_count
        self.consumed.tally(exchange)
        if valid and exchange.status is not Status.CLOSED:  # a close fails its case at once
            self._heard(exchange.answered, exchange.reason)
        if valid and exchange.answered:
            self.latencies.append(exchange.elapsed)
        if valid and api is not None:
            missed = exchange.status in (Status.TIMEOUT, Status.CLOSED, Status.FLOODED)
            self.api_silent[api] = self.api_silent.get(api, 0) + 1 if missed else 0
            if self.api_silent[api] >= self.limit and api not in self.api_stopped:
                self.api_stopped[api] = (f"{self.limit} {api} requests in a row got no reply: the target stopped "
                                         f"answering {api} (the last: {exchange.reason})")
        if self.strays > FLOOD_STOP and self.stopped is None and (why := self.flooding()):
            self.stopped = f"the target flooded the run: {why}"

    def kept_open(self, kept: bool) -> str | None:
        """Record whether a connection outlived a reply; trip after ``limit`` closes in a row.

        Returns why a close proves nothing, or None: the breaker had tripped while the
        request was in flight (as :meth:`observe`)."""
        with self._lock:
            if not kept and self.stopped:
                return f"{self.stopped} (this request was in flight when it did)"
            self.closes = 0 if kept else self.closes + 1
            if self.closes >= self.limit and self.stopped is None:
                self.stopped = (f"the target closed the connection after its reply {self.closes} times in a row: "
                                "every case that sends more than one request would fail the same way")
            return None

    def settle(self, floor: float) -> float:
        """How long to wait for a refusal once the target has read past the request: at
        least ``floor``, and twice the slowest recent answer (a slow target answers late)."""
        with self._lock:
            return max(floor, 2 * max(self.latencies, default=0.0))

    def refuses(self, api: str) -> str | None:
        """Why nothing more is sent to this API (or to the target), or None."""
        return self.stopped or self.api_stopped.get(api)

    def heard(self, answered: bool, reason: str) -> None:
        """Record whether a valid request got its reply; trip after ``limit`` misses in a row."""
        with self._lock:
            self._heard(answered, reason)

    def _heard(self, answered: bool, reason: str) -> None:
        self.silent = 0 if answered else self.silent + 1
        if self.silent >= self.limit and self.stopped is None:
            self.stopped = (f"{self.silent} requests in a row got no reply: the target stopped answering "
                            f"(the last: {reason})")

    def flooding(self) -> str | None:
        """Why the run counts as flooded, or None."""
        if self.strays <= FLOOD_TOTAL or self.strays <= FLOOD_PER_REQUEST * max(self.requests, 1):
            return None
        return (f"{self.strays} frames that answered no request arrived for {self.requests} requests "
                f"({self.strays / max(self.requests, 1):.0f} per request): unsolicited frames flood the connection")
