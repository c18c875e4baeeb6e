"""A small fault-injecting WebSocket target for the suite's own tests (loopback only).

``async with FaultyTarget(replies, fault=...) as url`` serves on 127.0.0.1 at a free
port. It answers each request from ``replies`` (request subtopic -> reply message, or a
function of the request giving one) unless a fault applies: the first ``times``
requests (all when None) get the fault, later ones a correct answer, so one target can
break a connection and then serve the reconnect. It records what it saw, for asserts.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed

FAULTS = ("none", "hang", "close", "non_json", "flood", "wrong_subtopic", "late")
"""none: answer; hang: never answer; close: close the connection (1011) instead;
non_json: answer with text that is not JSON; flood: send ``flood`` noise frames, then the
answer; wrong_subtopic: answer under another subtopic; late: answer after ``delay``."""

Reply = Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]]


@dataclass
class FaultyTarget:
    replies: Mapping[str, Reply] = field(default_factory=dict)
    fault: str = "none"
    times: int | None = None
    flood: int = 100
    delay: float = 0.0
    reject: int | None = None
    """An HTTP status to refuse every opening handshake with."""
    tls: ssl.SSLContext | None = None
    broadcast: bool = False
    """Send every answer to every open connection, not only the one that asked (a fault)."""
    received: list[str | bytes] = field(default_factory=list)
    handshake_headers: list[Headers] = field(default_factory=list)
    connections: int = 0
    _faults: int = 0
    _server: Server | None = None
    _open: set[ServerConnection] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; one of {FAULTS}")

    async def __aenter__(self) -> str:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, ssl=self.tls, process_request=self._gate, close_timeout=1
        )
        port = self._server.sockets[0].getsockname()[1]
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{port}/"

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        await asyncio.wait_for(self._server.wait_closed(), 5)

    def _gate(self, connection: ServerConnection, request: Any) -> Any:
        self.handshake_headers.append(request.headers)
        if self.reject is not None:
            return connection.respond(HTTPStatus(self.reject), "rejected by the test target\n")
        return None

    def _answer(self, frame: str | bytes) -> dict[str, Any] | None:
        try:
            request = json.loads(frame)
            reply = self.replies[request["subtopic"]]
        except (ValueError, TypeError, KeyError):
            return None
        return dict(reply(request) if callable(reply) else reply)

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        self._open.add(ws)
        try:
            async for frame in ws:
                self.received.append(frame)
                await self._respond(ws, frame)
        except ConnectionClosed:
            pass
        finally:
            self._open.discard(ws)

    async def _respond(self, ws: ServerConnection, frame: str | bytes) -> None:
        fault = self.fault if self.times is None or self._faults < self.times else "none"
        self._faults += fault != "none"
        answer = self._answer(frame)
        if fault == "hang":
            return
        if fault == "close":
            await ws.close(1011, "fault injected")
            return
        if fault == "non_json":
            await ws.send("this is not JSON {")
            return
        if fault == "flood":
            for i in range(self.flood):
                noise = {"channel": "LCM", "topic": "X", "subtopic": "Noise", "message": {"n": i}}
                await ws.send(json.dumps(noise))
        if fault == "late":
            try:  # the delay is the fault; it ends early if the client goes away
                await asyncio.wait_for(ws.wait_closed(), self.delay)
                return
            except TimeoutError:
                pass
        if answer is not None:
            if fault == "wrong_subtopic":
                answer["subtopic"] = f"{answer.get('subtopic')}Wrong"
            for peer in (list(self._open) if self.broadcast else [ws]):
                try:
                    await peer.send(json.dumps(answer))
                except ConnectionClosed:
                    pass
