"""``lcm-conformance record``: a transparent proxy whose trace holds what went by.

Against a small upstream of its own (it echoes, picks a subprotocol, closes when asked,
refuses a path with 401, remembers the headers it got), so every behaviour is the
proxy's and none the reference server's. Every trace written here validates against
``conformance/trace.schema.json``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request, Response

from conformance.proxy import ProxySettings, RecordingProxy, TraceWriter, recording, upstream_url
from conformance.server.transport import server_url
from conformance.trace import Close, Frame, Open, Refused, TraceError, parse_line, read
from hostile import readline_within

BOUND = 10.0
ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "conformance" / "trace.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


class Upstream:
    """What the proxy relays to: echo, ``close CODE REASON`` closes, path /refuse gets 401."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.closes: list[tuple[int | None, str | None]] = []

    def refuse(self, connection: ServerConnection, request: Request) -> Response | None:
        self.headers.append(dict(request.headers.raw_items()))
        self.paths.append(request.path)
        if request.path.startswith("/refuse"):
            return connection.respond(HTTPStatus.UNAUTHORIZED, "no entry\n")
        return None

    async def handle(self, ws: ServerConnection) -> None:
        try:
            async for message in ws:
                if isinstance(message, str) and message.startswith("close "):
                    _, code, reason = message.split(" ", 2)
                    await ws.close(int(code), reason)
                    return
                await ws.send(message)
        except ConnectionClosed:
            pass
        finally:
            self.closes.append((ws.close_code, ws.close_reason))


@asynccontextmanager
async def proxied(tmp: Path, **settings: Any) -> AsyncIterator[tuple[str, Upstream, Path]]:
    upstream = Upstream()
    out = tmp / "trace.jsonl"
    pick = lambda conn, offered: "chat" if "chat" in offered else None  # noqa: E731 -- the upstream's choice
    async with serve(upstream.handle, "127.0.0.1", 0, process_request=upstream.refuse, subprotocols=["chat"],
                     select_subprotocol=pick) as server, \
            recording(ProxySettings(upstream=server_url(server), **settings), out) as url:
        yield url, upstream, out


def lines(path: Path) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in path.read_text().splitlines()]
    for line in found:
        VALIDATOR.validate(line)
    return found


def events(path: Path) -> list[Any]:
    with open(path, "rb") as handle:
        return list(read(handle))


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, BOUND))


def test_text_and_binary_messages_go_both_ways_unchanged_and_are_recorded(tmp_path: Path) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with proxied(tmp_path) as (url, _, _), connect(url) as ws:
            await ws.send('{"subtopic": "ManualDialCall", "é": "ü"}')
            text = await ws.recv()
            await ws.send(b"\x00\xff\x10")
            return text, await ws.recv()

    text, binary = run(scenario())
    assert text == '{"subtopic": "ManualDialCall", "é": "ü"}' and binary == b"\x00\xff\x10"
    found = lines(tmp_path / "trace.jsonl")
    assert [line["type"] for line in found] == ["trace", "open", "frame", "frame", "frame", "frame", "close", "end"]
    frames = [line for line in found if line["type"] == "frame"]
    assert [f["from"] for f in frames] == ["client", "server", "client", "server"]
    assert frames[0]["text"] == '{"subtopic": "ManualDialCall", "é": "ü"}'
    assert base64.b64decode(frames[2]["binary"]) == b"\x00\xff\x10"
    assert all(a["t"] <= b["t"] for a, b in itertools.pairwise(found[1:]))
    parsed = events(tmp_path / "trace.jsonl")
    assert [e.data for e in parsed if isinstance(e, Frame)][2] == b"\x00\xff\x10"


def test_the_subprotocol_the_upstream_picks_is_the_clients_and_is_recorded(tmp_path: Path) -> None:
    async def scenario() -> str | None:
        async with proxied(tmp_path) as (url, _, _), connect(url, subprotocols=["x-other", "chat"]) as ws:
            return ws.subprotocol

    assert run(scenario()) == "chat"
    opened = [e for e in events(tmp_path / "trace.jsonl") if isinstance(e, Open)]
    assert opened[0].subprotocol == "chat"
    assert ("Sec-WebSocket-Protocol", "x-other, chat") in opened[0].headers


def test_close_codes_cross_the_proxy_both_ways_and_say_who_closed(tmp_path: Path) -> None:
    async def scenario() -> tuple[Upstream, int | None, str | None]:
        async with proxied(tmp_path) as (url, upstream, _):
            async with connect(url) as ws:
                await ws.close(4001, "client says bye")
            async with connect(url) as ws:
                await ws.send("close 4002 server says bye")
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
                return upstream, ws.close_code, ws.close_reason

    upstream, code, reason = run(scenario())
    assert (code, reason) == (4002, "server says bye")
    assert (4001, "client says bye") in upstream.closes
    closes = [e for e in events(tmp_path / "trace.jsonl") if isinstance(e, Close)]
    assert [(c.conn, c.by, c.code, c.reason) for c in closes] == [
        ("1", "client", 4001, "client says bye"), ("2", "server", 4002, "server says bye")]


def test_a_refused_handshake_reaches_the_client_with_its_status(tmp_path: Path) -> None:
    async def scenario() -> int:
        async with proxied(tmp_path) as (url, _, _):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url + "refuse"):
                    pass
            return refused.value.response.status_code

    assert run(scenario()) == 401
    refusals = [e for e in events(tmp_path / "trace.jsonl") if isinstance(e, Refused)]
    assert [(r.by, r.status) for r in refusals] == [("server", 401)]
    lines(tmp_path / "trace.jsonl")


def test_an_unreachable_upstream_is_a_502_recorded_as_the_proxys(tmp_path: Path) -> None:
    async def scenario() -> int:
        with open(tmp_path / "trace.jsonl", "wb") as stream:
            async with RecordingProxy(ProxySettings(upstream="ws://127.0.0.1:9/", open_timeout=2.0), stream) as proxy:
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(proxy.url):
                        pass
                return refused.value.response.status_code

    assert run(scenario()) == 502
    refusals = [e for e in events(tmp_path / "trace.jsonl") if isinstance(e, Refused)]
    assert [(r.by, r.status) for r in refusals] == [("proxy", 502)]


def test_credentials_never_reach_the_trace_but_reach_the_upstream(tmp_path: Path) -> None:
    headers = {"Authorization": "Bearer s3cret-token", "Cookie": "session=c00kie", "X-Api-Key": "k3y-value",
               "X-Plain": "visible"}

    async def scenario() -> Upstream:
        async with proxied(tmp_path, redact=("X-Api-Key",)) as (url, upstream, _):
            async with connect(url + "?token=qu3ry&page=2", additional_headers=headers) as ws:
                await ws.send("hello")
                await ws.recv()
            return upstream

    upstream = run(scenario())
    assert upstream.headers[0]["Authorization"] == "Bearer s3cret-token"
    assert upstream.headers[0]["X-Api-Key"] == "k3y-value"
    assert upstream.paths == ["/?token=qu3ry&page=2"]
    text = (tmp_path / "trace.jsonl").read_text()
    for secret in ("s3cret-token", "c00kie", "k3y-value", "qu3ry"):
        assert secret not in text
    opened = next(e for e in events(tmp_path / "trace.jsonl") if isinstance(e, Open))
    assert dict(opened.headers)["Authorization"] == "***" and dict(opened.headers)["X-Plain"] == "visible"
    assert opened.path == "/?token=***&page=2"


def test_many_connections_at_once_keep_their_own_order(tmp_path: Path) -> None:
    clients, messages = 20, 10

    async def one(url: str, n: int) -> list[str]:
        async with connect(url) as ws:
            got = []
            for i in range(messages):
                await ws.send(f"{n}:{i}")
                got.append(str(await ws.recv()))
            return got

    async def scenario() -> list[list[str]]:
        async with proxied(tmp_path) as (url, _, _):
            return await asyncio.gather(*(one(url, n) for n in range(clients)))

    replies = run(scenario())
    assert replies == [[f"{n}:{i}" for i in range(messages)] for n in range(clients)]
    found = events(tmp_path / "trace.jsonl")
    assert len([e for e in found if isinstance(e, Open)]) == clients
    by_conn: dict[str, list[str]] = {}
    for e in found:
        if isinstance(e, Frame) and e.sender == "client":
            by_conn.setdefault(e.conn, []).append(str(e.data))
    assert sorted(by_conn.values()) == sorted([f"{n}:{i}" for i in range(messages)] for n in range(clients))
    lines(tmp_path / "trace.jsonl")


def test_a_message_over_the_limit_closes_both_legs_with_1009(tmp_path: Path) -> None:
    async def scenario() -> tuple[int | None, Upstream]:
        async with proxied(tmp_path, max_frame_bytes=1000) as (url, upstream, _):
            async with connect(url) as ws:
                await ws.send("x" * 2000)
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
            return ws.close_code, upstream

    code, upstream = run(scenario())
    assert code == 1009
    closes = [e for e in events(tmp_path / "trace.jsonl") if isinstance(e, Close)]
    assert [(c.by, c.code) for c in closes] == [("proxy", 1009)]
    assert upstream.closes and upstream.closes[0][0] == 1009


def test_the_upstream_path_is_the_upstreams_own_under_the_clients() -> None:
    assert upstream_url("ws://h:1/ws", "/") == "ws://h:1/ws"
    assert upstream_url("ws://h:1/ws?a=1", "/?b=2") == "ws://h:1/ws?a=1&b=2"
    assert upstream_url("wss://h/", "/agents/7") == "wss://h/agents/7"


def test_a_line_that_is_no_event_is_named() -> None:
    with pytest.raises(TraceError, match="line 3: unknown type 'frames'"):
        parse_line('{"type": "frames"}', 3)
    with pytest.raises(TraceError, match="line 4: a frame line lacks 'from'"):
        parse_line('{"type": "frame", "t": 0, "conn": 1, "text": "x"}', 4)
    with pytest.raises(TraceError, match="line 5: not JSON"):
        parse_line("{", 5)
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate({"type": "frame", "t": 0, "conn": 1, "from": "client"})


def test_sigterm_closes_every_connection_and_ends_the_trace_cleanly(tmp_path: Path) -> None:
    upstream = Upstream()
    out = tmp_path / "trace.jsonl"

    async def scenario() -> tuple[int | None, subprocess.Popen[str]]:
        async with serve(upstream.handle, "127.0.0.1", 0) as server:
            process = subprocess.Popen(
                [sys.executable, "-m", "conformance", "record", "--upstream", server_url(server), "--out", str(out)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
            try:
                line = await asyncio.to_thread(readline_within, process, BOUND)
                assert line.startswith("listening ws://127.0.0.1:")
                async with connect(line.split()[1]) as ws:
                    await ws.send("before the signal")
                    assert await ws.recv() == "before the signal"
                    process.send_signal(signal.SIGTERM)
                    with pytest.raises(ConnectionClosed):
                        await ws.recv()
                    await asyncio.to_thread(process.wait, BOUND)
                    return ws.close_code, process
            finally:
                if process.poll() is None:
                    process.kill()

    code, process = run(scenario())
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert code == 1001
    found = lines(out)
    assert found[-1]["type"] == "end" and found[-1]["frames"] == 2
    assert [(f["by"], f["code"]) for f in found if f["type"] == "close"] == [("proxy", 1001)]
    assert upstream.closes == [(1001, "")]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a file every write to fails)")
def test_a_trace_that_cannot_be_written_stops_the_proxy_with_exit_1() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "conformance", "record", "--upstream", "ws://127.0.0.1:9/", "--out", "/dev/full"],
        capture_output=True, text=True, cwd=ROOT, timeout=BOUND)
    assert process.returncode == 1, process.stderr
    assert "cannot write /dev/full" in process.stderr


def test_a_writer_that_fails_otherwise_than_with_an_oserror_still_frees_the_relays() -> None:
    class Closed(io.BytesIO):
        def writelines(self, lines: Any) -> None:
            raise ValueError("I/O operation on closed file")

    async def scenario() -> BaseException:
        writer = TraceWriter(Closed(), limit=10)
        writer.start()
        for n in range(5):  # past the limit: each write would wait for room that never comes
            await asyncio.wait_for(writer.write({"event": "message", "n": n, "text": "x" * 20}), 5)
        failed = await asyncio.wait_for(writer.failed, 5)
        with pytest.raises(ValueError, match="closed file"):  # close() passes the failure on
            await asyncio.wait_for(writer.close(), 5)
        return failed

    assert isinstance(asyncio.run(scenario()), ValueError)
