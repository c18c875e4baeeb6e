"""The service core: one frame of text in, the reply frames out, and no I/O.

Like h11 or the websockets protocol objects, the core knows nothing of sockets, so it
is tested without them and wrapped by any transport. Its three steps are separate
fields, so faults can be injected around the clean server without editing it: replace
an entry of ``handlers`` (a handler override), wrap ``render`` (a response rewrite), or
wrap the transport that calls :meth:`Service.handle`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..spec import Spec, load_spec
from .bindings import load_bindings
from .default_seed import default_seed
from .dialects import build_dialect
from .handlers import Handler, build_handlers
from .inputs import BadRequest, Reader, Request, json_type
from .limits import MAX_FRAME_BYTES
from .outcomes import Failure, Outcome
from .seed import SeedSource, build_state, read_seed
from .state import State
from .wire import DATA

Render = Callable[[Outcome], list[dict[str, Any]]]
Echo = tuple[str, tuple[str, ...], str]
"""(response field, request spellings it repeats, JSON type)."""


@dataclass(frozen=True)
class Exchange:
    """What one frame produced: the replies, and what the log line needs."""

    frames: list[str]
    api: str | None
    error: str | None


class FrameReader(Protocol):
    """What the service needs of its reader: a :class:`Reader`, or a fault's wrapper of one."""

    def read(self, frame: str | bytes) -> Request: ...


@dataclass
class Service:
    """Reads, dispatches and renders; holds the state between frames."""

    reader: FrameReader
    state: State
    handlers: Mapping[str, Handler]
    render: Render
    echoes: Mapping[str, tuple[Echo, ...]]

    def handle(self, frame: str | bytes) -> Exchange:
        """Answer one frame. Never raises for any input; bad input gets one error reply."""
        api, sent = None, None
        try:
            request = self.reader.read(frame)
            api, sent = request.api, request.envelope.get(DATA)
            outcome = self.handlers[api](self.state, request)
        except BadRequest as exc:
            api, sent = exc.api, exc.data
            outcome = Failure(exc.api, exc.text)
        except Exception as exc:  # noqa: BLE001 -- a faulty handler must cost one reply, not the connection
            outcome = Failure(api, f"internal error: {type(exc).__name__}: {exc}")
        if isinstance(outcome, Failure):
            outcome = replace(outcome, echo={**self._echo(outcome.api, sent), **outcome.echo})
        frames = [json.dumps(reply, separators=(",", ":")) for reply in self.render(outcome)]
        return Exchange(frames, api, outcome.text if isinstance(outcome, Failure) else None)

    def _echo(self, api: str | None, sent: Any) -> dict[str, Any]:
        """Response fields that repeat a request field (a call id), taken as sent."""
        if not isinstance(sent, dict):
            return {}
        echo = {}
        for target, spellings, kind in self.echoes.get(api or "", ()):
            for spelling in spellings:
                if json_type(sent.get(spelling)) == kind:
                    echo[target] = sent[spelling]
        return echo


def echo_fields(spec: Spec, reader: Reader) -> dict[str, tuple[Echo, ...]]:
    """Per API: the top-level response fields named like a request data field."""
    out = {}
    for name, rules in reader.rules.items():
        api = spec.api(name)
        out[name] = tuple(
            (field.name, rule.spellings, field.json_type)
            for field in api.response_message
            for rule in rules.fields
            if field.name in rule.spellings
        )
    return out


def build_service(
    *,
    dialect: str = "samples",
    seed: SeedSource | None = None,
    cm_version: int | None = None,
    max_frame_bytes: int = MAX_FRAME_BYTES,
    spec: Spec | None = None,
) -> Service:
    """The clean reference service. ``seed``: a seed file, a parsed seed, or None for the default."""
    spec = spec or load_spec()
    bindings = load_bindings(spec)
    reader = Reader(spec, cm_version=cm_version, max_frame_bytes=max_frame_bytes)
    document = default_seed(spec, bindings) if seed is None else read_seed(seed)
    return Service(
        reader=reader,
        state=build_state(document, spec, bindings),
        handlers=build_handlers(bindings),
        render=build_dialect(dialect, spec, bindings).render,
        echoes=echo_fields(spec, reader),
    )
