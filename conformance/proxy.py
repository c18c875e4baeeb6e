"""A transparent recording WebSocket proxy: relays both ways unchanged and writes a trace.

Each client connection gets its own upstream connection, opened during the client's
opening handshake with the client's headers and offered subprotocols, so the upstream's
answer (its subprotocol, or its refusal with its HTTP status) is what the client gets.
Messages are relayed as they are (text or binary) and closes carry their code across.
Pings are answered on each leg, not relayed (websockets answers them itself).

Memory stays bounded whatever the traffic: a message is at most ``max_frame_bytes``
(larger ones close that leg with 1009, and the other leg with it), each leg buffers at
most ``max_queue`` messages, there are at most ``max_connections`` connections, and the
trace waits in memory up to ``trace_buffer_bytes`` (past that a relay waits for the disk).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, ProtocolError
from websockets.frames import Close, Frame, Opcode
from websockets.headers import parse_subprotocol
from websockets.http11 import Request, Response
from websockets.protocol import Event
from websockets.typing import Subprotocol

from . import trace
from .server.transport import server_url

HOP_BY_HOP = frozenset({
    "host", "connection", "upgrade", "keep-alive", "te", "trailer", "transfer-encoding", "content-length",
    "proxy-authorization", "proxy-connection", "sec-websocket-key", "sec-websocket-version",
    "sec-websocket-extensions", "sec-websocket-protocol", "sec-websocket-accept",
})
"""Handshake headers that belong to one leg; the others are passed on as the client sent them."""
NO_STATUS = 1005
"""A close frame without a code (RFC 6455): passed on as one."""
FLUSH_EVERY = 0.05
BATCH_BYTES = 256 * 2**10
"""The trace is written every FLUSH_EVERY seconds, or as soon as BATCH_BYTES wait."""


@dataclass(frozen=True)
class ProxySettings:
    """Where to listen, where to relay, what to hide, and the bounds."""

    upstream: str
    host: str = "127.0.0.1"
    port: int = 0
    redact: tuple[str, ...] = ()
    max_frame_bytes: int = 2**20
    max_queue: int = 4
    max_connections: int = 128
    trace_buffer_bytes: int = 8 * 2**20
    open_timeout: float = 10.0
    close_timeout: float = 2.0


class TraceWriter:
    """Appends trace lines from a task of its own, in batches (every :data:`FLUSH_EVERY`
    seconds, or sooner past :data:`BATCH_BYTES`), off the event loop: a relay only appends
    a line, and waits only when ``limit`` bytes are already waiting (memory stays bounded)."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._pending: list[bytes] = []
        self._size = 0
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.failed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="trace-writer")

    async def write(self, event: dict[str, Any]) -> None:
        """Queue one line; waits while the buffer is full. Once the trace cannot be written
        (``failed``), lines are dropped: the caller stops the proxy."""
        line = trace.encode(event)
        while self._size and self._size + len(line) > self._limit and not self.failed.done():
            self._room.clear()
            self._wake.set()
            await self._room.wait()
        if self.failed.done():
            return
        self._pending.append(line)
        self._size += len(line)
        if self._size >= BATCH_BYTES:
            self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    async with asyncio.timeout(FLUSH_EVERY):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
                batch, self._pending = self._pending, []
                if batch:
                    await loop.run_in_executor(None, self._append, batch)
                    self._size -= sum(map(len, batch))
                    self._room.set()
                if self._closing and not self._pending:
                    break
            await loop.run_in_executor(None, self._sync)
        except Exception as exc:  # not only OSError: any failure must free the relays waiting for room
            if not self.failed.done():
                self.failed.set_result(exc)
            self._room.set()
            raise

    def _append(self, batch: list[bytes]) -> None:
        self._stream.writelines(batch)
        self._stream.flush()  # a reader (tail -f) sees each batch; a crash loses at most one

    def _sync(self) -> None:
        self._stream.flush()
        with contextlib.suppress(OSError, ValueError):  # a pipe or a terminal has nothing to sync
            os.fsync(self._stream.fileno())

    async def close(self) -> None:
        """Write everything still waiting, flush it to the disk, and stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task


def upstream_url(upstream: str, path: str) -> str:
    """Where a client's request path goes: the upstream's own path when the client asked
    for ``/``, else the client's path under it; the client's query is appended."""
    base, asked = urlsplit(upstream), urlsplit(path)
    own = base.path or "/"
    where = own if asked.path in ("", "/") else own.rstrip("/") + "/" + asked.path.lstrip("/")
    query = "&".join(q for q in (base.query, asked.query) if q)
    return urlunsplit((base.scheme, base.netloc, where, query, ""))


def forwarded(headers: Headers) -> list[tuple[str, str]]:
    """The client's handshake headers the upstream should see too."""
    return [(name, value) for name, value in headers.raw_items() if name.lower() not in HOP_BY_HOP]


def _offered(headers: Headers) -> list[Subprotocol]:
    return [p for value in headers.get_all("Sec-WebSocket-Protocol") for p in parse_subprotocol(value)]


def _relayed_refusal(response: Response) -> Response:
    """The upstream's refusal as the client gets it: same status, reason, body and headers."""
    headers = Headers([(k, v) for k, v in response.headers.raw_items() if k.lower() not in HOP_BY_HOP])
    headers["Content-Length"] = str(len(response.body))
    headers["Connection"] = "close"
    return Response(response.status_code, response.reason_phrase, headers, bytes(response.body))


def _closer(client: Connection, upstream: Connection) -> tuple[trace.Closer, int, str]:
    """Who ended a connection, with which code and reason.

    A leg whose peer sent a close frame first was ended by that peer; a leg the proxy
    closed first (a message too big, the proxy stopping) by the proxy; a leg that broke
    without a closing handshake by its peer, with 1006.
    """
    legs: Sequence[tuple[trace.Side, Connection]] = ((trace.CLIENT, client), (trace.SERVER, upstream))
    for side, leg in legs:
        rcvd, sent = leg.protocol.close_rcvd, leg.protocol.close_sent
        if rcvd is not None and (sent is None or leg.protocol.close_rcvd_then_sent):
            return side, rcvd.code, rcvd.reason
    for _side, leg in legs:
        sent = leg.protocol.close_sent
        if sent is not None:
            return trace.PROXY, sent.code, sent.reason
    lost = next((side for side, leg in legs if leg.protocol.close_rcvd is None), trace.CLIENT)
    return lost, trace.CONNECTION_LOST, ""


async def _pass_close(leg: Connection, code: int, reason: str) -> None:
    """End the other leg as the first one ended: the same code, no code, or a dropped connection."""
    if code == trace.CONNECTION_LOST:
        leg.transport.abort()
        return
    if code == NO_STATUS:
        await leg.close(cast("int", None))  # websockets sends a close frame without a code for None
        return
    try:
        Close(code, reason).check()
    except ProtocolError:  # a code that may not be sent (1015, say): end with 1011 instead
        code = 1011
    await leg.close(code, reason)


class RecordingProxy:
    """The proxy: ``async with RecordingProxy(settings, stream) as proxy: proxy.url``."""

    def __init__(self, settings: ProxySettings, stream: BinaryIO) -> None:
        self.settings = settings
        self._stream = stream
        self._pending: dict[ServerConnection, tuple[int, ClientConnection]] = {}
        self._live = 0
        self._connections = 0
        self._frames = 0
        self._server: Server | None = None
        self._closing: set[asyncio.Future[None]] = set()
        self.url = ""

    async def __aenter__(self) -> RecordingProxy:
        loop = asyncio.get_running_loop()
        self._t0 = loop.time()
        self.writer = TraceWriter(self._stream, self.settings.trace_buffer_bytes)
        self.writer.start()
        s = self.settings
        self._server = await serve(
            self._handle, s.host, s.port, process_request=self._open_upstream,
            select_subprotocol=self._subprotocol, compression=None, max_size=s.max_frame_bytes,
            max_queue=s.max_queue, ping_interval=None, close_timeout=s.close_timeout, server_header=None,
            create_connection=_ServerLeg,
        )
        self.url = server_url(self._server)
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        await self.writer.write(trace.header_event(started, s.upstream, self.url))
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        """Stop: every connection is closed (1001, by the proxy), then the trace is ended and flushed."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for _conn, upstream in list(self._pending.values()):
            await upstream.close(1001)
        self._pending.clear()
        if not self.writer.failed.done():
            await self.writer.write(trace.end_event(self._now(), self._connections, self._frames))
        with contextlib.suppress(OSError):  # already reported through ``failed``
            await self.writer.close()

    def _now(self) -> float:
        return asyncio.get_running_loop().time() - self._t0

    async def _open_upstream(self, client: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return None  # not a WebSocket handshake: websockets refuses it
        self._connections += 1
        conn = self._connections
        s = self.settings
        if self._live + len(self._pending) >= s.max_connections:
            await self.writer.write(trace.refused_event(self._now(), conn, trace.PROXY, 503, "too many connections"))
            return client.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Too many connections.\n")
        offered = _offered(request.headers)
        try:
            upstream = await connect(
                upstream_url(s.upstream, request.path), additional_headers=forwarded(request.headers),
                subprotocols=offered or None, user_agent_header=None, compression=None, proxy=None,
                create_connection=_ClientLeg, open_timeout=s.open_timeout, ping_interval=None,
                close_timeout=s.close_timeout,
                max_size=s.max_frame_bytes, max_queue=s.max_queue,
            )
        except InvalidStatus as refused:
            response = refused.response
            await self.writer.write(trace.refused_event(self._now(), conn, trace.SERVER, response.status_code,
                                                        response.reason_phrase))
            return _relayed_refusal(response)
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            why = f"upstream unreachable: {exc}"
            await self.writer.write(trace.refused_event(self._now(), conn, trace.PROXY, 502, why))
            return client.respond(HTTPStatus.BAD_GATEWAY, why + "\n")
        self._pending[client] = (conn, upstream)
        await self.writer.write(trace.open_event(self._now(), conn, request.path, request.headers.raw_items(),
                                                 upstream.subprotocol, s.redact))
        asyncio.get_running_loop().call_later(s.open_timeout, self._abandon, client)
        return None

    def _abandon(self, client: ServerConnection) -> None:
        """An upstream whose client never finished its handshake is closed (no leak)."""
        entry = self._pending.pop(client, None)
        if entry is not None:
            task = asyncio.ensure_future(entry[1].close(1001))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _subprotocol(self, client: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        entry = self._pending.get(client)
        return entry[1].subprotocol if entry is not None else None

    async def _handle(self, client: ServerConnection) -> None:
        entry = self._pending.pop(client, None)
        if entry is None:
            await client.close(1011, "no upstream connection")
            return
        conn, upstream = entry
        session = _Session(self, conn, client, upstream)
        self._live += 1
        try:
            _, left = await asyncio.wait(session.start(), return_when=asyncio.FIRST_COMPLETED)
            await session.end()
            if left:
                _, late = await asyncio.wait(left, timeout=self.settings.close_timeout)
                for task in late:
                    task.cancel()
        finally:
            self._live -= 1
            for leg in (client, upstream):
                if leg.protocol.close_sent is None:
                    leg.transport.abort()


class _Session:
    """One relayed connection: its two legs, and its end, recorded once."""

    def __init__(self, proxy: RecordingProxy, conn: int, client: ServerConnection, upstream: ClientConnection) -> None:
        self.proxy, self.conn, self.client, self.upstream = proxy, conn, client, upstream
        self.ended = False
        self.pumps: dict[trace.Side, asyncio.Task[None]] = {}
        self._reading: set[trace.Side] = set()
        self._cut: set[trace.Side] = set()
        for leg, side in ((client, trace.CLIENT), (upstream, trace.SERVER)):
            if isinstance(leg, _Watched):
                leg.on_close_frame = functools.partial(self._close_frame, side)

    def start(self) -> set[asyncio.Task[None]]:
        self.pumps = {trace.CLIENT: asyncio.create_task(self.pump(self.client, self.upstream, trace.CLIENT)),
                      trace.SERVER: asyncio.create_task(self.pump(self.upstream, self.client, trace.SERVER))}
        return set(self.pumps.values())

    def _close_frame(self, side: trace.Side) -> None:
        """The peer on ``side`` sent its close: a pump waiting for a message stops waiting
        (websockets would end the stream only once the TCP connection ends, a round trip later)."""
        if side in self._reading and side in self.pumps:
            self._cut.add(side)
            self.pumps[side].cancel()

    async def pump(self, source: Connection, sink: Connection, sender: trace.Side) -> None:
        """Relay one direction. The peer's close is passed on right behind the messages it
        sent before it, as the peer sent them: at once."""
        try:
            while source.protocol.close_rcvd is None:
                self._reading.add(sender)
                try:
                    message = await source.recv()
                finally:
                    self._reading.discard(sender)
                await self._relay(message, sink, sender)
        except asyncio.CancelledError:
            if sender not in self._cut:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # our own doing: the close frame came (see _close_frame)
        except ConnectionClosed:
            return  # either leg: end() reads who ended it
        for queued in await _queued(source):
            await self._relay(queued, sink, sender)
        await self.end()

    async def _relay(self, message: str | bytes, sink: Connection, sender: trace.Side) -> None:
        self.proxy._frames += 1
        await self.proxy.writer.write(trace.frame_event(self.proxy._now(), self.conn, sender, message))
        await sink.send(message)

    async def end(self) -> None:
        """Record who ended the connection, and end the other leg the same way (once)."""
        if self.ended:
            return
        self.ended = True
        by, code, reason = _closer(self.client, self.upstream)
        await self.proxy.writer.write(trace.close_event(self.proxy._now(), self.conn, by, code, reason))
        for leg in (self.client, self.upstream):
            if leg.protocol.close_sent is None and leg.protocol.close_rcvd is None:
                await _pass_close(leg, code, reason)


class _Watched:
    """A leg that says the moment its peer's close frame arrives."""

    on_close_frame: Callable[[], None] | None = None

    def _watch(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.CLOSE and self.on_close_frame is not None:
            self.on_close_frame()


class _ClientLeg(ClientConnection, _Watched):
    def process_event(self, event: Event) -> None:
        super().process_event(event)
        self._watch(event)


class _ServerLeg(ServerConnection, _Watched):
    def process_event(self, event: Event) -> None:
        super().process_event(event)
        self._watch(event)


async def _queued(source: Connection) -> list[str | bytes]:
    """The messages already received and not read yet, without waiting for more."""
    found: list[str | bytes] = []
    while True:
        try:
            async with asyncio.timeout(0):  # a queued message is returned without suspending
                found.append(await source.recv())
        except (TimeoutError, ConnectionClosed):
            return found


@contextlib.asynccontextmanager
async def recording(settings: ProxySettings, out: Path) -> AsyncIterator[str]:
    """Run the proxy in this event loop, writing the trace to ``out``; yield its URL."""
    with open(out, "wb") as stream:
        async with RecordingProxy(settings, stream) as proxy:
            yield proxy.url
