"""Guards for a server that may face any client, and the per-connection rate bucket."""

from __future__ import annotations

from dataclasses import dataclass

MAX_FRAME_BYTES = 64 * 1024
"""The documented frame limit: larger frames get an error reply."""


@dataclass(frozen=True)
class Limits:
    """Connection, message-rate and frame-size limits (all configurable from the CLI)."""

    max_connections: int = 256
    messages_per_second: float | None = 5000.0
    """Per connection; None serves as fast as frames come."""
    burst: int = 500
    """Frames a connection may send at once before the rate applies."""
    max_frame_bytes: int = MAX_FRAME_BYTES
    """Larger frames get an error reply; frames over 16 times this close the connection."""

    @property
    def transport_max_bytes(self) -> int:
        return 16 * self.max_frame_bytes


class TokenBucket:
    """A token bucket that throttles rather than drops: over the rate, frames wait.

    Waiting (instead of refusing) keeps the one-reply-per-request promise and lets TCP
    push back on a flooding client. Pure: the caller passes the clock.
    """

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), now

    def take(self, now: float) -> float:
        """Spend a token for one frame; return how long to wait before serving it."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate) - 1
        self.stamp = now
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate
