"""The reference server: a stateful, in-process implementation of the documented API.

It is the suite's default target and the executable form of the docs. Layers, each
usable on its own: :mod:`.state` (the world, pure), :mod:`.service` (frame text in,
reply frames out, no I/O), :mod:`.transport` (WebSocket), and the ``serve`` command.
"""

from .limits import Limits
from .seed import SeedError
from .service import Exchange, Service, build_service
from .transport import background_server, in_background, running_server, running_service

__all__ = [
    "Exchange",
    "Limits",
    "SeedError",
    "Service",
    "background_server",
    "build_service",
    "in_background",
    "running_server",
    "running_service",
]
