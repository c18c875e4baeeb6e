"""A thin asyncio layer that moves frames between the protocol core and a target.

All decisions (what answers a request, when to give up, how many frames to keep) live
in :class:`conformance.protocol.Correlator`; this module only opens connections, reads
with a deadline and turns failures into the exceptions a runner maps to verdicts and
exit codes: :class:`TargetUnreachable` (exit 3), and :class:`ResponseTimeout`,
:class:`ConnectionClosed`, :class:`TargetFlooded` (a FAIL with the frames seen).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed as _WsClosed
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.protocol import State

from .protocol import NO_REDACTION, Correlator, Exchange, Redactor, Request, Status
from .server.limits import TokenBucket

if TYPE_CHECKING:
    from .profile import Profile


class TransportError(Exception):
    """Base of every error this module raises."""


class TargetUnreachable(TransportError):
    """No WebSocket connection could be opened; ``reason`` says why in one line."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"target {url} unreachable: {reason}")


class ExchangeFailed(TransportError):
    """A request got no answer; ``exchange`` holds the request, the frames seen and why."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        super().__init__(exchange.reason)


class ResponseTimeout(ExchangeFailed):
    """No answer before the response deadline."""


class ConnectionClosed(ExchangeFailed):
    """The connection closed (or broke) before the answer came."""


class TargetFlooded(ExchangeFailed):
    """The target sent more frames than one exchange may read without answering."""


_SETTLE_TIMEOUT = 1.0
"""At most this long for the pong that marks the end of what a target sends on connect."""

_EARLY_LIMIT = 1000
"""At most this many waiting frames are read before a request (a flood is cut there)."""

_CLOSE_TIMEOUT = 2.0
"""At most this long for a closing handshake: the verdicts never depend on it."""

_FAILURES: dict[Status, type[ExchangeFailed]] = {
    Status.TIMEOUT: ResponseTimeout,
    Status.CLOSED: ConnectionClosed,
    Status.FLOODED: TargetFlooded,
}


_PONGLESS: set[str] = set()
"""Targets (by URL) that left a ping unanswered: their later connections skip the ping, so
a target that breaks RFC 6455 here costs one bounded wait per run, not one per case."""


async def _settled(ws: ClientConnection, url: str, timeout: float) -> list[str | bytes]:
    """What the target sends on connect, before it reads anything: a ping's pong comes
    after every frame the target sent before it read the ping (one round trip, bounded)."""
    if url not in _PONGLESS:
        try:
            async with asyncio.timeout(timeout):
                await (await ws.ping())
        except TimeoutError:
            _PONGLESS.add(url)  # judged by its answers, not here
        except _WsClosed:
            pass
    return await _pending(ws)


async def _pending(ws: ClientConnection) -> list[str | bytes]:
    """The frames already received and not read yet, without waiting for more."""
    frames: list[str | bytes] = []
    while len(frames) < _EARLY_LIMIT:
        try:
            async with asyncio.timeout(0):  # a frame already queued is returned without suspending
                frames.append(await ws.recv())
        except (TimeoutError, _WsClosed):
            break
    return frames


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _unreachable_reason(exc: BaseException, connect_timeout: float) -> str:
    """One line a user can act on, for each way opening a connection fails."""
    if isinstance(exc, TimeoutError):
        return f"no WebSocket handshake within {connect_timeout:g}s"
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        return f"handshake rejected with HTTP {status} {exc.response.reason_phrase}".rstrip()
    if isinstance(exc, InvalidHandshake):
        return f"WebSocket handshake failed: {exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"host name not resolved: {exc.strerror}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


SLICES = 4
"""A settle time is waited in this many slices; one that ends late does not count."""


class _Settle:
    """The settle time after a pong, counted in time the suite could read: it is waited in
    slices, and a slice whose end came late (this process held up by other connections'
    work or a busy machine, a target in the same process starved) does not count. On an
    idle machine it is the settle time; on a busy one it stretches, up to the deadline."""

    def __init__(self, settle: float, now: float) -> None:
        self.owed, self.slice = settle, settle / SLICES
        self.start = now

    def end(self) -> float:
        return self.start + min(self.owed, self.slice)

    def elapsed(self, now: float) -> bool:
        """A slice ran out at ``now``: whether the whole settle time has, counting it."""
        length = self.end() - self.start
        if now - self.end() <= length / 2:
            self.owed -= length
        self.start = now
        return self.owed <= length / 1000


async def _read_meanwhile(ws: ClientConnection, core: Correlator) -> Exchange | None:
    """The answer, if it is among the frames already received: a wait that ran out while
    this process was held up may have its answer waiting."""
    for _ in range(2):  # a pass of the event loop reads what the socket holds, the next hands it on
        await asyncio.sleep(0)
    for frame in await _pending(ws):
        if (answer := core.receive(frame, asyncio.get_running_loop().time())) is not None:
            return answer
    return None


class Pace:
    """At most ``rate`` requests a second, after a burst of ``burst``, over every
    connection that shares it: a run on many connections asks no more of a target than
    one on a single connection would. Used from the event loop's thread only."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._bucket: TokenBucket | None = None

    async def wait(self) -> None:
        """Take a token, waiting until one is due (the rate limit, not a synchronisation)."""
        now = asyncio.get_running_loop().time()
        if self._bucket is None:
            self._bucket = TokenBucket(self.rate, self.burst, now)
        if (delay := self._bucket.take(now)) > 0:
            await asyncio.sleep(delay)


class Connection:
    """One agent's connection to the target, reopened on demand.

    :meth:`exchange` sends one request and returns its answer; it (re)connects first when
    there is no open connection, the target closed it, or the previous exchange left it
    out of sync (a late answer could still come). Use as ``async with``.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        ca_file: str | Path | None = None,
        connect_timeout: float = 5.0,
        response_timeout: float = 5.0,
        max_frame_bytes: int = 1 << 20,
        max_frames: int = 1000,
        keep: int = 32,
        redact: Redactor = NO_REDACTION,
        pace: Pace | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"not a ws:// or wss:// URL: {url!r}")
        self.url = url
        self.headers = dict(headers or {})
        self.connect_timeout = connect_timeout
        self.response_timeout = response_timeout
        self.max_frame_bytes = max_frame_bytes
        self.connects = 0
        """How many times a connection was opened (a reconnect count for reports)."""
        self.pace = pace
        """Shared with the run's other connections: each request waits for its token."""
        self._ssl = None
        if parts.scheme == "wss":
            self._ssl = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        # A proxy from the environment can never reach a loopback target.
        self._proxy: Any = None if _is_loopback(parts.hostname) else True
        self._core = Correlator(keep=keep, max_frames=max_frames, redact=redact)
        self._ws: ClientConnection | None = None
        self._waiting: list[str | bytes] = []
        """Frames the target sent on connect, before any request (a greeting)."""

    @classmethod
    def from_profile(cls, profile: Profile, **options: Any) -> Connection:
        """A connection configured by a target profile (options override it)."""
        settings: dict[str, Any] = {
            "headers": profile.headers,
            "ca_file": profile.ca_file,
            "connect_timeout": profile.timeouts.connect,
            "response_timeout": profile.timeouts.response,
            "redact": profile.redactor(),
        }
        return cls(profile.url, **{**settings, **options})

    async def __aenter__(self) -> Connection:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def is_open(self) -> bool:
        return self._ws is not None and self._ws.state is State.OPEN

    def _open(self) -> ClientConnection:
        if self._ws is None:
            raise TransportError("no connection is open")  # connect() raises first; a bug of ours if seen
        return self._ws

    async def connect(self) -> None:
        """Open a fresh connection (closing any previous one); raises TargetUnreachable."""
        await self.close()
        try:
            self._ws = await connect(
                self.url,
                additional_headers=self.headers,
                ssl=self._ssl,
                proxy=self._proxy,
                open_timeout=self.connect_timeout,
                close_timeout=min(self.connect_timeout, _CLOSE_TIMEOUT),
                max_size=self.max_frame_bytes,
            )
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            reason = _unreachable_reason(exc, self.connect_timeout)
            raise TargetUnreachable(self.url, reason) from exc
        self.connects += 1
        self._core.reset()
        self._waiting = await _settled(self._ws, self.url, min(self.connect_timeout, _SETTLE_TIMEOUT))

    async def close(self) -> None:
        """Close the connection: a closing handshake if it is in sync, else an abort.

        Out of sync, unread frames may fill the receive queue; the handshake would then
        wait out its whole timeout behind them, so the TCP connection is just dropped.
        """
        ws, self._ws = self._ws, None
        if ws is None:
            return
        if self._core.in_sync:
            await ws.close()
        else:
            ws.transport.abort()
            async with asyncio.timeout(self.connect_timeout):
                await ws.wait_closed()

    async def exchange(
        self,
        request: Request | str,
        expect_subtopic: str | None,
        expect_callid: str | None = None,
        *,
        timeout: float | None = None,
        refusal: bool = False,
        settle: float | None = None,
    ) -> Exchange:
        """Send one request and return the answered :class:`Exchange`.

        Frames already waiting when the request goes out (a greeting, a second copy of an
        earlier answer) are recorded with the exchange, never taken as its answer.
        ``refusal`` marks a request the tables forbid; with it, or with
        ``expect_subtopic=None``, a frame on an undocumented subtopic answers too.
        ``settle``: a ping follows the request, and once its pong is back (the target has
        the request) the wait ends this many seconds later (:class:`_Settle`): silence is
        then known in a round trip plus the settle time, not a whole timeout. A refusal that comes later
        still is recorded with the next exchange, never taken for its answer. Raises
        :class:`ResponseTimeout`, :class:`ConnectionClosed` or :class:`TargetFlooded`
        (each carrying the unanswered exchange), or :class:`TargetUnreachable`.
        """
        if self.pace is not None:
            await self.pace.wait()
        if not self.is_open or not self._core.in_sync:
            await self.connect()
        ws, core = self._open(), self._core
        clock = asyncio.get_running_loop().time
        waiting = await _pending(ws)
        if not self.is_open:  # the target closed while we read what was waiting: start afresh
            await self.connect()
            ws = self._open()
        waiting, self._waiting = self._waiting + waiting, []
        text = core.send(request, expect_subtopic, expect_callid, now=clock(),
                         timeout=self.response_timeout if timeout is None else timeout, refusal=refusal)
        for frame in waiting:
            core.early(frame, clock())
        assert core.deadline is not None
        deadline = core.deadline
        settling: _Settle | None = None
        try:
            # The deadline covers send too: a target that stops reading blocks it.
            async with asyncio.timeout_at(deadline):
                await ws.send(text)
                if settle is not None and self.url not in _PONGLESS:
                    await (await ws.ping())
                    settling = _Settle(settle, clock())
            answer: Exchange | None = None
            while answer is None:
                end = deadline if settling is None else min(deadline, settling.end())
                try:
                    async with asyncio.timeout_at(end):
                        while (answer := core.receive(await ws.recv(), clock())) is None:
                            pass
                except TimeoutError:
                    answer = await _read_meanwhile(ws, core)  # read while this process was held up
                    now = clock()
                    if answer is None and (now >= deadline or settling is None or settling.elapsed(now)):
                        core.shorten(now)
                        answer = core.expire(now)
            result = answer
        except TimeoutError:
            result = core.expire(clock())
        except _WsClosed as exc:
            result = core.closed(clock(), str(exc))
        finally:
            if core.awaiting:  # cancelled, or an unexpected error: an answer may still come
                core.closed(clock(), "exchange interrupted")
        if result.status is not Status.ANSWERED:
            raise _FAILURES[result.status](result)
        return result
