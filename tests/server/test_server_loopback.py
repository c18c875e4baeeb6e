"""The reference server over real WebSocket connections on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as connect_sync

from conformance.server import Limits, SeedError, background_server, running_server
from server_helpers import (
    APIS,
    ERROR_TYPE,
    TIMEOUT,
    api_by_op,
    ask,
    bad_frames,
    doc_order_replay,
    error_text,
    run,
    sample_request,
)

MDC = api_by_op("dial")


def loose(value: Any) -> Any:
    """A message with key case and one-item array wrapping set aside."""
    if isinstance(value, list) and len(value) == 1:
        return loose(value[0])
    if isinstance(value, dict):
        return {k.lower(): loose(v) for k, v in value.items()}
    return value


def test_the_url_is_a_loopback_ws_url_with_a_real_port():
    async def main():
        async with running_server() as url:
            host_port = url.removeprefix("ws://127.0.0.1:").removesuffix("/")
            assert host_port.isdigit() and int(host_port) > 0

    run(main())


def test_doc_samples_in_doc_order_get_the_doc_responses_over_websocket():
    async def main():
        async with running_server(dialect="samples") as url, connect(url, open_timeout=TIMEOUT) as ws:
            for request, response in doc_order_replay():
                assert await ask(ws, request) == response

    run(main())


def test_the_tables_dialect_replays_the_samples_with_the_tables_envelope_names_and_shapes():
    async def main():
        async with running_server(dialect="tables") as url, connect(url, open_timeout=TIMEOUT) as ws:
            for request, response in doc_order_replay():
                api = next(a for a in APIS if a.name == request["subtopic"])
                reply = await ask(ws, request)
                assert {k: v for k, v in reply.items() if k != "message"} == {
                    k: v for k, v in api.response_envelope.items() if k != "message"
                }
                assert loose(reply["message"]) == loose(response["message"])

    run(main())


@pytest.mark.parametrize("dialect", ["samples", "tables"])
def test_every_bad_input_class_is_answered_and_the_connection_keeps_serving(dialect):
    async def main():
        async with running_server(dialect=dialect) as url, connect(url, open_timeout=TIMEOUT) as ws:
            for case, (frame, api) in bad_frames().items():
                reply = await ask(ws, frame)
                assert reply["subtopic"] == (api.response_subtopic if api else ERROR_TYPE), case
                assert error_text(reply), case
                mdc = await ask(ws, sample_request(MDC))
                assert error_text(mdc) is None and loose(mdc["message"]["data"]) == loose(sample_request(MDC)["data"])

    run(main())


def test_a_frame_beyond_the_transport_limit_closes_only_that_connection():
    limits = Limits(max_frame_bytes=1024)

    async def main():
        async with running_server(limits=limits) as url:
            async with connect(url, open_timeout=TIMEOUT) as ws:
                await ws.send("x" * (limits.transport_max_bytes + 1))
                with pytest.raises(ConnectionClosed) as closed:
                    async with asyncio.timeout(TIMEOUT):
                        await ws.recv()
                assert closed.value.rcvd.code == 1009
            async with connect(url, open_timeout=TIMEOUT) as ws:
                assert error_text(await ask(ws, sample_request(MDC))) is None

    run(main())


@pytest.mark.parametrize(
    "how, accepted",
    [
        ({}, False),
        ({"additional_headers": {"Authorization": "Bearer s3cret"}}, True),
        ({"additional_headers": {"Authorization": "bearer s3cret"}}, True),
        ({"query": "?token=s3cret"}, True),
        ({"additional_headers": {"Authorization": "Bearer wrong"}}, False),
        ({"query": "?token=wrong"}, False),
        ({"additional_headers": {"Authorization": "Basic s3cret"}}, False),
    ],
)
def test_a_token_is_required_in_the_handshake_when_set(how, accepted):
    async def main():
        async with running_server(token="s3cret") as url:
            target = url + how.get("query", "")
            headers = how.get("additional_headers")
            if accepted:
                async with connect(target, additional_headers=headers, open_timeout=TIMEOUT) as ws:
                    assert error_text(await ask(ws, sample_request(MDC))) is None
            else:
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(target, additional_headers=headers, open_timeout=TIMEOUT):
                        pass
                assert refused.value.response.status_code == 401

    run(main())


def test_connections_over_the_limit_are_refused_with_503():
    async def main():
        async with (
            running_server(limits=Limits(max_connections=2)) as url,
            connect(url, open_timeout=TIMEOUT) as one,
            connect(url, open_timeout=TIMEOUT) as two,
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, open_timeout=TIMEOUT):
                    pass
            assert refused.value.response.status_code == 503
            for ws in (one, two):
                assert error_text(await ask(ws, sample_request(MDC))) is None

    run(main())


def test_a_later_campaign_manager_version_drops_the_api_documented_only_up_to_an_earlier_one():
    [dropped] = [api for api in APIS if api.max_cm_version]

    async def main():
        async with (
            running_server(cm_version=dropped.max_cm_version + 1) as url,
            connect(url, open_timeout=TIMEOUT) as ws,
        ):
            reply = await ask(ws, sample_request(dropped))
            assert reply["subtopic"] == ERROR_TYPE and "not offered" in error_text(reply)

    run(main())


def test_frames_over_the_message_rate_wait_but_all_are_answered():
    limits = Limits(messages_per_second=100, burst=5)
    frames = 25

    async def main():
        async with running_server(limits=limits) as url, connect(url, open_timeout=TIMEOUT) as ws:
            started = time.perf_counter()
            for _ in range(frames):
                await ws.send(json.dumps(sample_request(MDC)))
            async with asyncio.timeout(TIMEOUT):
                replies = [json.loads(await ws.recv()) for _ in range(frames)]
            return replies, time.perf_counter() - started

    replies, elapsed = run(main())
    assert all(error_text(r) is None for r in replies)
    assert elapsed >= 0.9 * (frames - limits.burst) / limits.messages_per_second


def test_each_request_is_logged_once_with_its_latency(caplog):
    async def main():
        async with running_server() as url, connect(url, open_timeout=TIMEOUT) as ws:
            await ask(ws, sample_request(MDC))
            await ask(ws, "{nope")
            await ask(ws, sample_request(MDC))

    with caplog.at_level(logging.INFO, logger="conformance.server"):
        run(main())  # leaving running_server waits for every session, so every line is written
    lines = [r.getMessage() for r in caplog.records if r.name == "conformance.server"]
    assert len(lines) == 3
    assert f" {MDC.name} ok " in lines[0] and lines[0].endswith(" ms")
    assert " - error: the frame is not JSON" in lines[1]


def test_the_background_variant_serves_synchronous_callers():
    with background_server(dialect="samples") as url, connect_sync(url, open_timeout=TIMEOUT) as ws:
        ws.send(json.dumps(sample_request(MDC)))
        assert json.loads(ws.recv(timeout=TIMEOUT)) == MDC.sample_responses[0].message


def test_the_background_variant_raises_what_stops_the_server_from_starting():
    with pytest.raises(SeedError, match="unknown top-level key"), background_server(seed={"nonsense": 1}):
        pass
