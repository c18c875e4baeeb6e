"""The thin WebSocket layer around the service core, and the in-process runners.

It checks the opening handshake (token, connection limit), feeds each text frame to
:meth:`Service.handle`, sends the replies, throttles a connection over its message
rate, and logs one line per request. Nothing here knows the API.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hmac
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State as WsState

from .limits import Limits, TokenBucket
from .seed import SeedSource
from .service import Service, build_service

log = logging.getLogger("conformance.server")
TOKEN_PARAMETER = "token"


def authorised(request: Request, token: str) -> bool:
    """Whether the handshake offers the token, as a Bearer header or a query parameter."""
    offered = parse_qs(urlsplit(request.path).query).get(TOKEN_PARAMETER, [])
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        offered.append(credentials.strip())
    return any(hmac.compare_digest(o.encode(), token.encode()) for o in offered)


class Gate:
    """The opening-handshake checks: the token first, then the connection limit."""

    def __init__(self, token: str | None, max_connections: int) -> None:
        self.token, self.max_connections = token, max_connections
        self.admitted: set[ServerConnection] = set()

    def __call__(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.token is not None and not authorised(request, self.token):
            response = connection.respond(HTTPStatus.UNAUTHORIZED, "A valid token is required.\n")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if len(self.admitted) >= self.max_connections:
            # A connection that failed between this check and its session never released
            # its place; drop those before refusing.
            self.admitted = {c for c in self.admitted if c.state is not WsState.CLOSED}
            if len(self.admitted) >= self.max_connections:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Too many connections.\n")
        self.admitted.add(connection)
        return None

    def release(self, connection: ServerConnection) -> None:
        self.admitted.discard(connection)


Observer = Callable[[ServerConnection, str | bytes], None]
"""Sees every frame a client sends, before it is served (``serve --judge`` judges requests so)."""


async def _session(service: Service, limits: Limits, gate: Gate, connection: ServerConnection,
                   observer: Observer | None = None) -> None:
    loop = asyncio.get_running_loop()
    bucket = TokenBucket(limits.messages_per_second, limits.burst, loop.time()) if limits.messages_per_second else None
    peer = "{}:{}".format(*connection.remote_address[:2])
    try:
        async for frame in connection:
            if observer is not None:
                observer(connection, frame)
            if bucket is not None and (delay := bucket.take(loop.time())) > 0:
                await asyncio.sleep(delay)
            started = time.perf_counter()
            try:
                exchange = service.handle(frame)
            except Exception:  # only a replaced render hook can get here
                log.exception("%s: the service failed on a frame", peer)
                continue
            for reply in exchange.frames:
                await connection.send(reply)
            if log.isEnabledFor(logging.INFO):
                outcome = f"error: {exchange.error}" if exchange.error else "ok"
                ms = (time.perf_counter() - started) * 1000
                log.info("%s %s %s %.2f ms", peer, exchange.api or "-", outcome, ms)
    except ConnectionClosed:
        pass
    finally:
        gate.release(connection)


def server_url(server: Server) -> str:
    """The ws:// URL of a listening server's first socket."""
    host, port = server.sockets[0].getsockname()[:2]
    return f"ws://[{host}]:{port}/" if ":" in host else f"ws://{host}:{port}/"


@asynccontextmanager
async def running_service(
    service: Service,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    limits: Limits | None = None,
    observer: Observer | None = None,
) -> AsyncIterator[str]:
    """Serve any :class:`Service` (the clean one, or one with injected faults); yield its URL.
    ``observer`` sees each frame a client sends before it is served."""
    limits = limits or Limits()
    gate = Gate(token, limits.max_connections)
    async with serve(
        functools.partial(_session, service, limits, gate, observer=observer),
        host,
        port,
        process_request=gate,
        max_size=limits.transport_max_bytes,
    ) as server:
        yield server_url(server)


@asynccontextmanager
async def running_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    dialect: str = "samples",
    seed: SeedSource | None = None,
    cm_version: int | None = None,
    token: str | None = None,
    limits: Limits | None = None,
    observer: Observer | None = None,
) -> AsyncIterator[str]:
    """Run the reference server in this event loop; yield its URL, ``ws://127.0.0.1:PORT/``."""
    limits = limits or Limits()
    service = build_service(dialect=dialect, seed=seed, cm_version=cm_version, max_frame_bytes=limits.max_frame_bytes)
    async with running_service(service, host=host, port=port, token=token, limits=limits, observer=observer) as url:
        yield url


class _LoopThread(threading.Thread):
    """Runs one async server context in a thread of its own until told to stop."""

    def __init__(self, open_server: Callable[[], AbstractAsyncContextManager[str]]) -> None:
        super().__init__(name="lcm-reference-server", daemon=True)
        self.open_server = open_server
        self.ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None

    async def _main(self) -> None:
        self.loop, self.stopping = asyncio.get_running_loop(), asyncio.Event()
        async with self.open_server() as url:
            self.ready.set_result(url)
            await self.stopping.wait()

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            if not self.ready.done():
                self.ready.set_exception(exc)
            else:
                log.exception("the background server failed")

    def stop(self, timeout: float) -> None:
        if self.loop is not None and self.stopping is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.join(timeout)
        if self.is_alive():
            log.warning("the background server did not stop within %s s", timeout)


@contextmanager
def in_background(open_server: Callable[[], AbstractAsyncContextManager[str]], timeout: float = 10.0) -> Iterator[str]:
    """Run an async server context (e.g. :func:`running_service`) in a thread; yield its URL."""
    thread = _LoopThread(open_server)
    thread.start()
    try:
        url = thread.ready.result(timeout)
    except concurrent.futures.TimeoutError:
        thread.stop(timeout)
        raise TimeoutError(f"the server did not start within {timeout} s") from None
    try:
        yield url
    finally:
        thread.stop(timeout)


@contextmanager
def background_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    dialect: str = "samples",
    seed: SeedSource | None = None,
    cm_version: int | None = None,
    token: str | None = None,
    limits: Limits | None = None,
) -> Iterator[str]:
    """:func:`running_server` for synchronous callers (a pytest fixture, a CLI)."""
    with in_background(lambda: running_server(host=host, port=port, dialect=dialect, seed=seed,
                                              cm_version=cm_version, token=token, limits=limits)) as url:
        yield url
