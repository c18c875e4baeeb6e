"""Serve a mutant or a variant: the reference service with the target's fault around it,
or the foreign target with its choices and faults.

Service faults only change the :class:`~conformance.server.Service` handed to the
reference transport. A transport fault needs a say in how replies go out, so those
targets are served by a small loop of their own, behind the reference's handshake gate.
The foreign target serves itself (its faults are its own switches), with its own token check.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ..foreign.target import ForeignTarget
from ..server import Limits, Service, build_service, running_service
from ..server.inputs import BadRequest, Request
from ..server.seed import SeedSource
from ..server.transport import Gate, server_url
from .faults import Deliver, Delivery
from .targets import Target


def _request(service: Service, frame: str | bytes) -> Request | None:
    try:
        return service.reader.read(frame)
    except BadRequest:
        return None


async def _session(service: Service, deliver: Deliver, gate: Gate, servers: list[Server],
                   connection: ServerConnection) -> None:
    try:
        async for frame in connection:
            exchange = service.handle(frame)
            await deliver(Delivery(connection, servers[0], frame, _request(service, frame), exchange))
    except ConnectionClosed:
        pass
    finally:
        gate.release(connection)


@asynccontextmanager
async def _serving_with(service: Service, deliver: Deliver, *, host: str, port: int, token: str | None,
                        limits: Limits) -> AsyncIterator[str]:
    """Serve with a transport fault; the gate checks the token and the connection limit."""
    gate = Gate(token, limits.max_connections)
    servers: list[Server] = []
    handler = functools.partial(_session, service, deliver, gate, servers)
    async with serve(handler, host, port, process_request=gate, max_size=limits.transport_max_bytes) as server:
        servers.append(server)
        yield server_url(server)


def running_target(
    target: Target,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    dialect: str = "samples",
    seed: SeedSource | None = None,
    cm_version: int | None = None,
    token: str | None = None,
    limits: Limits | None = None,
    agents: Iterable[str] | None = None,
) -> AbstractAsyncContextManager[str]:
    """Serve a target on a loopback port (by default); yields its URL.

    The target's own dialect and version, when it has them, win over the arguments. A
    foreign target takes only the address, the token and ``agents`` (the agents it knows:
    those a run's profile names); it keeps its own contacts, calls and versions.
    """
    if target.foreign is not None:
        return ForeignTarget(target.foreign.choices, faults=target.foreign.faults, agents=agents, token=token,
                             host=host, port=port)
    limits = limits or Limits()
    service = target.fault.apply(build_service(
        dialect=target.dialect or dialect,
        seed=seed,
        cm_version=cm_version if target.cm_version is None else target.cm_version,
        max_frame_bytes=limits.max_frame_bytes,
    ))
    token = token if target.fault.checks_token else None
    if target.fault.deliver is None:
        return running_service(service, host=host, port=port, token=token, limits=limits)
    return _serving_with(service, target.fault.deliver, host=host, port=port, token=token, limits=limits)
