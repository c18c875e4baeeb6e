"""Misbehaving WebSocket targets for the suite's own tests and benches (loopback only).

``async with Late(6.0) as url:`` serves on ``ws://127.0.0.1:PORT/`` (a free port). Most
targets are a :class:`Relay`: each client connection gets its own connection to the
reference server (samples dialect), and three hooks alter the traffic in between:
:meth:`Relay.on_connect`, :meth:`Relay.on_request` (a frame from the client) and
:meth:`Relay.on_reply` (a frame from the reference server). A :class:`Session` gives
the hooks bounded ways to act (send, forward, close, send later, run in the background).
:data:`TARGETS` names one factory per target; :func:`background` serves one from a
thread for synchronous callers; :func:`run_cli` runs ``lcm-conformance run`` against a
URL in a subprocess killed at a cap. Every wait is bounded and the relay stops cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import selectors
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from conformance.server import in_background, running_server
from conformance.server.bindings import load_bindings
from conformance.server.default_seed import default_seed
from conformance.server.seed import SeedSource
from conformance.spec import load_spec

Data = str | bytes
JsonEdit = Callable[[dict[str, Any]], None]

TIMEOUT = 5.0
"""The bound of every wait of the relay's own: connect, shut down."""
CLOSE_TIMEOUT = 1.0
"""The bound of a closing handshake (a flooded client may not read the close frame)."""
OWN_SUBTOPIC = "HostileReply"
NOISE_SUBTOPIC = "HostileNoise"
GREETING_CALLID = "hostile-greeting"
DEEP = 600
"""How deeply :class:`DeepError` nests the array it puts into error replies."""


def subtopic_of(frame: Data) -> str | None:
    """The ``subtopic`` of a JSON-object frame, else None."""
    try:
        obj = json.loads(frame)
    except ValueError:
        return None
    value = obj.get("subtopic") if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def edited(frame: Data, edit: JsonEdit) -> Data:
    """The frame with ``edit`` applied to its JSON object; any other frame unchanged."""
    try:
        obj = json.loads(frame)
    except ValueError:
        return frame
    if not isinstance(obj, dict):
        return frame
    edit(obj)
    return json.dumps(obj)


class Session:
    """One client connection and, for a relay, its own connection to the reference server."""

    def __init__(self, client: ServerConnection, upstream: ClientConnection | None) -> None:
        self.client = client
        self.upstream = upstream
        self.tasks: set[asyncio.Task[None]] = set()

    async def send(self, frame: Data) -> None:
        """Send a frame to the client; a closed client is not an error."""
        with contextlib.suppress(ConnectionClosed):
            await self.client.send(frame)

    async def forward(self, frame: Data) -> None:
        """Pass a client frame on to the reference server."""
        if self.upstream is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.upstream.send(frame)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the client connection (the closing handshake waits at most ``CLOSE_TIMEOUT``)."""
        await self.client.close(code, reason)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background until it ends or the session does."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def later(self, delay: float, frame: Data) -> None:
        """Send ``frame`` to the client after ``delay`` seconds, unless the session ends first."""
        self.spawn(self._later(delay, frame))

    async def _later(self, delay: float, frame: Data) -> None:
        await asyncio.sleep(delay)
        await self.send(frame)

    async def stop(self) -> None:
        """Cancel the background work."""
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=TIMEOUT)


class Relay:
    """A correct target: relays every frame to the reference server and every reply back.

    Subclasses misbehave by overriding the hooks, :attr:`upstream` (False: no reference
    server behind) or :meth:`seed` (the reference server's state).
    """

    upstream: ClassVar[bool] = True

    def __init__(self) -> None:
        self.connections = 0
        """How many client connections were accepted."""
        self._server: Server | None = None
        self._stack = contextlib.AsyncExitStack()
        self._upstream_url: str | None = None
        self._sessions: set[Session] = set()

    def seed(self) -> SeedSource | None:
        """The reference server's seed; None is its default seed."""
        return None

    async def on_connect(self, session: Session) -> None:
        """A client connected (before any of its frames is read)."""

    async def on_request(self, session: Session, frame: Data) -> None:
        """A frame from the client."""
        await session.forward(frame)

    async def on_reply(self, session: Session, frame: Data) -> None:
        """A frame from the reference server."""
        await session.send(frame)

    async def __aenter__(self) -> str:
        try:
            if self.upstream:
                self._upstream_url = await self._stack.enter_async_context(
                    running_server(dialect="samples", seed=self.seed()))
            self._server = await serve(self._handle, "127.0.0.1", 0, max_size=None, close_timeout=CLOSE_TIMEOUT)
        except BaseException:
            await self._stack.aclose()
            raise
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/"

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            for session in list(self._sessions):
                await session.stop()
            if self._server is not None:
                self._server.close()
                await asyncio.wait_for(self._server.wait_closed(), 2 * TIMEOUT)
        finally:
            await self._stack.aclose()

    async def _handle(self, client: ServerConnection) -> None:
        self.connections += 1
        upstream = None
        if self._upstream_url is not None:
            try:
                upstream = await connect(self._upstream_url, open_timeout=TIMEOUT, close_timeout=CLOSE_TIMEOUT,
                                         max_size=None)
            except (OSError, TimeoutError) as exc:
                await client.close(1011, f"reference server unreachable: {exc}"[:100])
                return
        session = Session(client, upstream)
        self._sessions.add(session)
        pumps = [asyncio.create_task(self._requests(session))]
        if upstream is not None:
            pumps.append(asyncio.create_task(self._replies(session, upstream)))
        try:
            await self.on_connect(session)
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.wait(pumps, timeout=TIMEOUT)
            await session.stop()
            self._sessions.discard(session)
            code, reason = 1000, ""
            if upstream is not None:
                await upstream.close()
                # Had the reference server closed first (a frame too large, say), tell the client.
                if upstream.close_code not in (None, 1005, 1006):
                    code, reason = upstream.close_code, upstream.close_reason or ""
            await client.close(code, reason)

    async def _requests(self, session: Session) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in session.client:
                await self.on_request(session, frame)

    async def _replies(self, session: Session, upstream: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in upstream:
                await self.on_reply(session, frame)


class Greeting(Relay):
    """Greets each connection with two frames before any request, then relays faithfully:
    one on an unknown subtopic, one on SetCallOutcomeWithComments' documented response
    subtopic echoing a call id no request uses."""

    async def on_connect(self, session: Session) -> None:
        await session.send(json.dumps({"channel": "LCM", "topic": "WebService", "subtopic": "Welcome",
                                       "message": {"text": "hello"}}))
        await session.send(json.dumps({"channel": "LCM", "topic": "WebService",
                                       "subtopic": "SetCallOutcomeWithCommentsResult",
                                       "message": {"callid": GREETING_CALLID, "response": {"success": True}}}))


class Late(Relay):
    """Relays each reply ``delay`` seconds late."""

    def __init__(self, delay: float = 6.0) -> None:
        super().__init__()
        self.delay = delay

    async def on_reply(self, session: Session, frame: Data) -> None:
        session.later(self.delay, frame)


class OwnSubtopic(Relay):
    """Answers everything on a subtopic of its own."""

    async def on_reply(self, session: Session, frame: Data) -> None:
        await session.send(edited(frame, lambda obj: obj.update(subtopic=OWN_SUBTOPIC)))


class BinaryOnly(Relay):
    """Sends every reply as a binary frame."""

    async def on_reply(self, session: Session, frame: Data) -> None:
        await session.send(frame.encode() if isinstance(frame, str) else frame)


class CloseAfterReply(Relay):
    """Relays a reply, then closes the connection."""

    async def on_reply(self, session: Session, frame: Data) -> None:
        await session.send(frame)
        await session.close(1000, "closing after every reply")


class Flood(Relay):
    """Relays, and pushes ``rate`` unsolicited frames a second on a subtopic of its own."""

    def __init__(self, rate: int = 500) -> None:
        super().__init__()
        self.rate = rate

    async def on_connect(self, session: Session) -> None:
        session.spawn(self._noise(session))

    async def _noise(self, session: Session) -> None:
        batch, n = max(1, self.rate // 20), 0
        while True:
            for _ in range(batch):
                n += 1
                await session.send(json.dumps({"channel": "LCM", "topic": "WebService", "subtopic": NOISE_SUBTOPIC,
                                               "message": {"n": n}}))
            await asyncio.sleep(0.05)


class Silent(Relay):
    """Accepts connections and reads every frame; never answers."""

    upstream = False

    async def on_request(self, session: Session, frame: Data) -> None:
        return None


def _drop_account_numbers(obj: dict[str, Any]) -> None:
    message = obj.get("message")
    response = message.get("response") if isinstance(message, dict) else None
    for contact in response if isinstance(response, list) else [response]:
        if isinstance(contact, dict):
            contact.pop("AccountNumber", None)


class NoAccountNumber(Relay):
    """Drops ``AccountNumber`` from every contact of the DownloadContactsForDialing replies."""

    async def on_reply(self, session: Session, frame: Data) -> None:
        if subtopic_of(frame) == "DownloadContactsForDialing":
            frame = edited(frame, _drop_account_numbers)
        await session.send(frame)


class Empty(Relay):
    """A reference server with no contacts at all: every GetReservedManualDialContact gets
    none, and the rest is answered consistently with that."""

    def seed(self) -> SeedSource | None:
        spec = load_spec()
        return {**default_seed(spec, load_bindings(spec)), "contacts": []}


class DeepError(Relay):
    """Puts a ``DEEP``-deep nested array into every error reply (one with ``message.error``)."""

    async def on_reply(self, session: Session, frame: Data) -> None:
        marker = "\x00deep\x00"

        def deepen(obj: dict[str, Any]) -> None:
            message = obj.get("message")
            if isinstance(message, dict) and isinstance(message.get("error"), dict):
                message["error"]["detail"] = marker

        text = edited(frame, deepen)
        if isinstance(text, str):
            text = text.replace(json.dumps(marker), "[" * DEEP + "]" * DEEP)
        await session.send(text)


class _NonPewc(Relay):
    """Relays everything but SkipNonPEWCContact requests, which go to :meth:`refuse`."""

    async def on_request(self, session: Session, frame: Data) -> None:
        if subtopic_of(frame) == "SkipNonPEWCContact":
            await self.refuse(session)
        else:
            await session.forward(frame)

    async def refuse(self, session: Session) -> None:
        raise NotImplementedError


class NonPewcSilent(_NonPewc):
    """Never answers SkipNonPEWCContact."""

    async def refuse(self, session: Session) -> None:
        return None


class NonPewcClose1011(_NonPewc):
    """Closes the connection with 1011 on every SkipNonPEWCContact request."""

    async def refuse(self, session: Session) -> None:
        await session.close(1011, "internal error")


TARGETS: dict[str, Callable[[], Relay]] = {
    "Greeting": Greeting,
    "Late": lambda: Late(6.0),
    "OwnSubtopic": OwnSubtopic,
    "BinaryOnly": BinaryOnly,
    "CloseAfterReply": CloseAfterReply,
    "Flood": Flood,
    "Silent": Silent,
    "NoAccountNumber": NoAccountNumber,
    "Empty": Empty,
    "DeepError": DeepError,
    "NonPewcSilent": NonPewcSilent,
    "NonPewcClose1011": NonPewcClose1011,
}
"""Every hostile target by name, with the settings the issue names (Late: 6 s)."""


@contextlib.contextmanager
def background(target: Relay) -> Iterator[str]:
    """Serve ``target`` from a thread of its own; yield its URL."""
    with in_background(lambda: target, timeout=3 * TIMEOUT) as url:
        yield url


REPORTS = ("results.json", "junit.xml", "report.md", "report.html")


@dataclass
class CliRun:
    """One ``lcm-conformance run`` in a subprocess."""

    returncode: int | None
    """None: still running at the cap, and killed."""
    seconds: float
    stdout: str
    stderr: str
    results: dict[str, Any] | None
    """results.json, if the run wrote it."""

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def tail(self, lines: int = 15) -> str:
        """Exit code, time, verdict counts and the end of stderr (a traceback, say)."""
        exit_text = "killed at the cap" if self.timed_out else f"exit {self.returncode}"
        summary = (self.results or {}).get("summary", "no results.json")
        stderr = "\n".join(self.stderr.splitlines()[-lines:])
        return f"{exit_text} after {self.seconds:.1f} s; summary {summary}" + (f"\nstderr:\n{stderr}" if stderr else "")


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def run_cli(url: str, report_dir: Path, *, cap: float, args: Sequence[str] = ()) -> CliRun:
    """``lcm-conformance run --target URL --report-dir DIR [args]`` (default settings), killed after ``cap`` s."""
    command = [sys.executable, "-m", "conformance", "run", "--target", url, "--report-dir", str(report_dir), *args]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=cap, check=False)
        returncode: int | None = done.returncode
        stdout, stderr = done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, stdout, stderr = None, _text(exc.stdout), _text(exc.stderr)
    seconds = time.perf_counter() - started
    try:
        results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        results = None
    return CliRun(returncode, seconds, stdout, stderr, results)

__all__ = [
    "REPORTS",
    "TARGETS",
    "BinaryOnly",
    "CliRun",
    "CloseAfterReply",
    "DeepError",
    "Empty",
    "Flood",
    "Greeting",
    "Late",
    "NoAccountNumber",
    "NonPewcClose1011",
    "NonPewcSilent",
    "OwnSubtopic",
    "Relay",
    "Session",
    "Silent",
    "background",
    "edited",
    "run_cli",
    "subtopic_of",
]


def readline_within(process: subprocess.Popen[str], timeout: float) -> str:
    """The child's next line of output, failing the test if none comes within ``timeout``."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout), "no output in time"
    return process.stdout.readline()
