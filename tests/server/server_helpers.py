"""Shared material of the reference-server tests, all of it taken from spec/."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Coroutine
from typing import Any

from conformance.spec import Api, load_spec

SPEC = load_spec()
APIS = list(SPEC.apis.values())
ERROR_TYPE = next(e.type for api in APIS for e in api.errors)
TIMEOUT = 5.0


def run(coro: Coroutine[Any, Any, Any], timeout: float = 6 * TIMEOUT) -> Any:
    """Run a test coroutine with a bound on the whole of it."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def ask(ws: Any, message: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """Send one frame over a client connection and await one reply, bounded."""
    await ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
    async with asyncio.timeout(TIMEOUT):
        return json.loads(await ws.recv())


def api_by_op(name: str) -> Api:
    """An API found by what it does, so tests hold no subtopic of their own."""
    from conformance.server.bindings import load_bindings

    return load_bindings(SPEC).operations[name].api


def sample_request(api: Api) -> dict[str, Any]:
    return copy.deepcopy(api.sample_requests[0].message)


def doc_order_replay() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(sample request, the sample response it must get), in doc order.

    A page with more sample responses than requests shows one request answered in turn
    by each (the non-PEWC skip: first a success, then "Contact not found").
    """
    pairs = []
    for api in APIS:
        for i, response in enumerate(api.sample_responses):
            request = api.sample_requests[min(i, len(api.sample_requests) - 1)]
            pairs.append((request.message, response.message))
    return pairs


def error_text(reply: dict[str, Any]) -> str | None:
    """The text of an error reply (see the README's error-reply shape), else None."""
    error = reply.get("message", {}).get("error")
    return error["message"] if isinstance(error, dict) else None


def bad_frames(max_frame_bytes: int = 64 * 1024) -> dict[str, tuple[str | bytes, Api | None]]:
    """One frame per class of bad input, with the API the server can still tell (or None)."""
    api = APIS[0]
    base = sample_request(api)
    spelling = next(iter(base["data"]))  # the sample's spelling of its first data field
    renamed = next(e for e in SPEC.effects(api.name, kind="name") if e.path.startswith("request.data."))
    table_name = renamed.path.rsplit(".", 1)[1]

    def variant(**changes: Any) -> str:
        message = sample_request(api)
        message.update(changes)
        return json.dumps(message)

    def with_data(**changes: Any) -> str:
        message = sample_request(api)
        message["data"].update(changes)
        return json.dumps({**message, "data": {k: v for k, v in message["data"].items() if v is not None}})

    value = next(v for k, v in base["data"].items() if k in (table_name, *renamed.also))
    return {
        "not JSON": ("{nope", None),
        "not an object": ("[1, 2]", None),
        "too large": (variant(padding="x" * max_frame_bytes), None),
        "binary": (json.dumps(base).encode(), None),
        "NaN": (variant(padding=float("nan")), None),
        "no subtopic": (json.dumps({k: v for k, v in base.items() if k != "subtopic"}), None),
        "unknown subtopic": (variant(subtopic="NoSuchApi"), None),
        "unknown channel": (variant(channel="NoSuchChannel"), api),
        "data not an object": (variant(data="x"), api),
        "missing field": (with_data(**{spelling: None}), api),
        "wrong type": (with_data(**{spelling: [1, 2]}), api),
        "two spellings": (with_data(**{table_name: value, renamed.also[0]: value}), api),
    }
