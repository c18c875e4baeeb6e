"""The run's circuit breaker: a target that stops answering stops the run, with one reason.

Every wait is bounded by the response timeout, but a silent target would still cost a
timeout per request, and every case would fail the same way. The breaker counts valid
requests in a row that got no reply; at :data:`LIMIT` it trips, and what is left of the
run (cases and property runs alike) is not run, naming why once.
"""

from __future__ import annotations

from dataclasses import dataclass

LIMIT = 3
"""Valid requests in a row without their reply before the target counts as stopped."""


@dataclass
class Breaker:
    """Shared by the example cases and the property runs of one run."""

    limit: int = LIMIT
    silent: int = 0
    stopped: str | None = None
    """Why nothing more is sent, once the breaker has tripped."""

    def heard(self, answered: bool, reason: str) -> None:
        """Record whether a valid request got its reply; trip after ``limit`` misses in a row."""
        self.silent = 0 if answered else self.silent + 1
        if self.silent >= self.limit and self.stopped is None:
            self.stopped = (f"{self.silent} requests in a row got no reply: the target stopped answering "
                            f"(the last: {reason})")
