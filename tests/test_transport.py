"""The asyncio transport against fault-injecting loopback targets (127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
import time

import pytest

from conformance.profile import load_profile
from conformance.protocol import build_request, expected_reply
from conformance.spec import load_spec
from conformance.transport import (
    Connection,
    ConnectionClosed,
    Pace,
    ResponseTimeout,
    TargetFlooded,
    TargetUnreachable,
)
from faulty_targets import FaultyTarget

SCOC = load_spec().api("SetCallOutcomeWithComments")


def echo_callid(request):
    """SCOC's sample answer, echoing the request's call id."""
    message = {"callid": request["data"]["callid"], "response": {"success": True}}
    return {**SCOC.sample_responses[0].message, "message": message}


REPLIES = {SCOC.name: echo_callid}


def request(callid="12345"):
    req = build_request(SCOC, {"callid": callid})
    return (req, *expected_reply(SCOC, req))


def run(coro, limit=10.0):
    """Run one test coroutine with a hard bound, so a regression fails instead of hanging."""
    return asyncio.run(asyncio.wait_for(coro, limit))


def test_normal_exchanges_share_one_connection():
    async def main():
        target = FaultyTarget(REPLIES)
        async with target as url, Connection(url) as conn:
            first = await conn.exchange(*request("1"))
            second = await conn.exchange(*request("2"))
        assert first.answered and first.message["message"]["callid"] == "1"
        assert second.message["message"]["callid"] == "2"
        assert [f.direction for f in second.log.frames] == ["sent", "received"]
        assert target.received == [first.request, second.request]
        assert conn.connects == 1 == target.connections

    run(main())


def test_response_timeout_is_bounded_then_the_next_exchange_reconnects():
    async def main():
        target = FaultyTarget(REPLIES, fault="hang", times=1)
        async with target as url, Connection(url, response_timeout=0.2) as conn:
            start = time.monotonic()
            with pytest.raises(ResponseTimeout) as err:
                await conn.exchange(*request())
            assert 0.2 <= time.monotonic() - start < 1.0
            assert "within 0.2s" in str(err.value) and err.value.exchange.received == 0
            assert (await conn.exchange(*request())).answered
        assert conn.connects == 2

    run(main())


def test_late_answer_is_never_taken_for_the_next_request():
    async def main():
        target = FaultyTarget(REPLIES, fault="late", delay=0.3, times=1)
        async with target as url, Connection(url, response_timeout=0.1) as conn:
            with pytest.raises(ResponseTimeout):
                await conn.exchange(*request("old"))
            ex = await conn.exchange(*request("new"))
        assert ex.message["message"]["callid"] == "new" and ex.unmatched_count == 0

    run(main())


def test_cancelled_exchange_leaves_the_connection_usable():
    async def main():
        target = FaultyTarget(REPLIES, fault="hang", times=1)
        async with target as url, Connection(url) as conn:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(conn.exchange(*request()), 0.1)
            assert (await conn.exchange(*request())).answered
        assert conn.connects == 2

    run(main())


def test_close_mid_exchange_raises_then_reconnects():
    async def main():
        target = FaultyTarget(REPLIES, fault="close", times=1)
        async with target as url, Connection(url) as conn:
            with pytest.raises(ConnectionClosed, match="1011"):
                await conn.exchange(*request())
            assert (await conn.exchange(*request())).answered
        assert conn.connects == 2 == target.connections

    run(main())


def test_non_json_reply_is_recorded_never_taken_as_the_reply():
    async def main():
        target = FaultyTarget(REPLIES, fault="non_json")
        async with target as url, Connection(url, response_timeout=0.2) as conn:
            with pytest.raises(ResponseTimeout) as err:
                await conn.exchange(*request())
            assert [e.kind for e in err.value.exchange.unmatched] == ["not_json"]
            with pytest.raises(ResponseTimeout) as err:
                await conn.exchange(request()[0], None)
        assert err.value.exchange.unmatched[0].kind == "not_json"

    run(main())


def test_wrong_subtopic_is_unmatched():
    async def main():
        target = FaultyTarget(REPLIES, fault="wrong_subtopic")
        async with target as url, Connection(url, response_timeout=0.2) as conn:
            with pytest.raises(ResponseTimeout) as err:
                await conn.exchange(*request())
        (event,) = err.value.exchange.unmatched
        assert event.obj["subtopic"] == SCOC.response_subtopic + "Wrong"

    run(main())


def test_flood_is_cut_at_max_frames():
    async def main():
        target = FaultyTarget(REPLIES, fault="flood", flood=5000)
        async with target as url, Connection(url, max_frames=50, keep=8) as conn:
            with pytest.raises(TargetFlooded) as err:
                await conn.exchange(*request())
        ex = err.value.exchange
        assert ex.received == 50 and ex.unmatched_count == 50
        assert len(ex.unmatched) == 8 and len(ex.log.frames) == 9

    run(main())


def test_oversized_frame_closes_with_1009():
    async def main():
        big = {SCOC.name: lambda r: {**echo_callid(r), "pad": "x" * 4096}}
        async with FaultyTarget(big) as url, Connection(url, max_frame_bytes=1024) as conn:
            with pytest.raises(ConnectionClosed, match="1009"):
                await conn.exchange(*request())

    run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_is_unreachable_fast():
    async def main():
        start = time.monotonic()
        with pytest.raises(TargetUnreachable, match="connection refused") as err:
            await Connection(f"ws://127.0.0.1:{free_port()}/", connect_timeout=2).connect()
        assert time.monotonic() - start < 1.0
        assert err.value.reason == "connection refused"

    run(main())


def test_rejected_handshake_is_unreachable_with_the_status():
    async def main():
        async with FaultyTarget(reject=403) as url:
            with pytest.raises(TargetUnreachable, match="HTTP 403"):
                await Connection(url).exchange(*request())

    run(main())


def test_silent_server_is_unreachable_after_the_connect_timeout():
    async def main():
        async def silent(reader, writer):
            await reader.read()  # never answers the handshake; returns when the client gives up
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            start = time.monotonic()
            with pytest.raises(TargetUnreachable, match=r"no WebSocket handshake within 0\.2s"):
                await Connection(f"ws://127.0.0.1:{port}/", connect_timeout=0.2).connect()
            assert time.monotonic() - start < 1.0

    run(main())


def test_handshake_headers_are_sent_and_env_secrets_redacted(tmp_path):
    async def main():
        target = FaultyTarget(REPLIES)
        async with target as url:
            doc = {"url": url, "headers": {"X-Token": "Bearer ${TOK}"}}
            profile = load_profile(None, doc, env={"TOK": "12345"})
            async with Connection.from_profile(profile) as conn:
                ex = await conn.exchange(*request("12345"))
        assert target.handshake_headers[0]["X-Token"] == "Bearer 12345"
        assert "12345" not in ex.log.render() and "***" in ex.log.render()
        assert ex.message["message"]["callid"] == "12345"  # the data itself is not redacted

    run(main())


def test_url_must_be_websocket():
    with pytest.raises(ValueError, match="ws:// or wss://"):
        Connection("http://127.0.0.1/")


# ------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def name(cn):
        return x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, cn)])

    def cert(subject, key, issuer, issuer_key, ca):
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject)).issuer_name(name(issuer))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("test CA", ca_key, "test CA", ca_key, True)
    leaf = cert("127.0.0.1", leaf_key, "test CA", ca_key, False)
    d = tmp_path_factory.mktemp("tls")
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "server.pem").write_bytes(leaf.public_bytes(pem))
    (d / "server.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return d


def server_context(d) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "server.pem", d / "server.key")
    return ctx


def test_wss_with_a_custom_ca(tls_files):
    async def main():
        async with FaultyTarget(REPLIES, tls=server_context(tls_files)) as url:
            assert url.startswith("wss://127.0.0.1:")
            async with Connection(url, ca_file=tls_files / "ca.pem") as conn:
                assert (await conn.exchange(*request())).answered
            with pytest.raises(TargetUnreachable, match="TLS certificate not trusted"):
                await Connection(url).connect()

    run(main())


def test_a_target_that_never_answers_pings_costs_one_bounded_wait_per_run():
    """RFC 6455 asks for a pong; a target without one still gets judged, and only the
    first connection waits for the pong that never comes."""
    from websockets.asyncio.server import serve
    from websockets.frames import Opcode

    def no_pongs(connection, request, response):
        send = connection.protocol.send_frame
        connection.protocol.send_frame = lambda frame: None if frame.opcode is Opcode.PONG else send(frame)

    async def handler(ws):
        async for frame in ws:
            await ws.send(json.dumps(echo_callid(json.loads(frame))))

    async def main():
        async with serve(handler, "127.0.0.1", 0, process_response=no_pongs) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
            timings = []
            for callid in ("1", "2"):
                started = time.perf_counter()
                async with Connection(url, connect_timeout=2, response_timeout=2) as conn:
                    assert (await conn.exchange(*request(callid))).answered
                timings.append(time.perf_counter() - started)
            return timings

    first, second = asyncio.run(asyncio.wait_for(main(), 20))
    assert 0.9 < first < 3 and second < 0.5, (first, second)


def test_a_wait_that_runs_out_while_the_process_is_held_up_reads_the_answer_after_all():
    """Many connections on a busy machine: the process stalls past a settle window; the
    answer then still counts, and a silent target still ends in one more window."""

    async def main():
        loop = asyncio.get_running_loop()
        async with FaultyTarget(REPLIES, fault="late", delay=0.05) as url, Connection(url) as conn:
            loop.call_later(0.02, time.sleep, 0.3)  # the whole process held up (a stall, not a wait)
            answered = await conn.exchange(*request(), timeout=1.0, refusal=True, settle=0.05)
            assert answered.answered
        async with FaultyTarget(REPLIES, fault="hang") as url, Connection(url) as conn:
            loop.call_later(0.02, time.sleep, 0.3)
            start = time.monotonic()
            with pytest.raises(ResponseTimeout):
                await conn.exchange(*request(), timeout=2.0, refusal=True, settle=0.05)
            assert time.monotonic() - start < 1.0  # one more window, not the whole timeout

    run(main())


def test_connections_sharing_a_pace_keep_its_rate_together():
    async def main():
        pace = Pace(rate=20.0, burst=1)
        async with FaultyTarget(REPLIES) as url, Connection(url, pace=pace) as a, Connection(url, pace=pace) as b:
            start = time.monotonic()
            await asyncio.gather(*(conn.exchange(*request(str(i))) for i, conn in enumerate([a, b, a, b, a])))
            spent = time.monotonic() - start
        assert spent >= 4 / 20 - 0.02, f"5 requests at 20/s after a burst of 1 took {spent:.3f}s"

    run(main())
