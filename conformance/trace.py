"""The trace format: what ``record`` writes and ``audit`` reads, one JSON object per line.

Pure: events to lines and lines to events, no I/O, so any tool can write a trace and the
audit reads it without a socket. The format (and its JSON Schema,
``conformance/trace.schema.json``, written by hand) is described in docs/trace-format.md.
Times are seconds since the trace began, on a monotonic clock; the header line gives the
wall-clock start.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

FORMAT: Final = "lcm-conformance-trace"
VERSION: Final = 1
CLIENT: Final[Literal["client"]] = "client"
SERVER: Final[Literal["server"]] = "server"
PROXY: Final[Literal["proxy"]] = "proxy"
Side = Literal["client", "server"]
Closer = Literal["client", "server", "proxy"]
MASK: Final = "***"
"""What a redacted value becomes (the same mask as the reports' redaction)."""
ALWAYS_REDACTED: Final = ("authorization", "proxy-authorization", "cookie")
"""Header names whose values never reach a trace: credentials by definition."""
REDACTED_PARAMETERS: Final = ("token", "access_token")
"""Query parameters whose values never reach a trace (the reference server takes ``?token=``)."""
CONNECTION_LOST: Final = 1006
"""The close code of a connection that ended without a closing handshake (RFC 6455)."""


class TraceError(ValueError):
    """A line that is not a trace event; ``line`` is its 1-based number."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True, slots=True)
class Header:
    """The first line: which format, when the trace began, what was recorded."""

    line: int
    started: str | None
    upstream: str | None


@dataclass(frozen=True, slots=True)
class Open:
    """A connection whose opening handshake the server accepted."""

    line: int
    t: float
    conn: str
    path: str
    headers: tuple[tuple[str, str], ...]
    subprotocol: str | None


@dataclass(frozen=True, slots=True)
class Refused:
    """A connection whose opening handshake was refused (by the server, or by the proxy)."""

    line: int
    t: float
    conn: str
    by: Closer
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class Frame:
    """One message: text as sent, or the bytes of a binary one."""

    line: int
    t: float
    conn: str
    sender: Side
    data: str | bytes


@dataclass(frozen=True, slots=True)
class Close:
    """The end of a connection: who ended it and with which code (1006: no closing handshake)."""

    line: int
    t: float
    conn: str
    by: Closer
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class End:
    """The last line of a trace closed cleanly."""

    line: int
    t: float


Event = Header | Open | Refused | Frame | Close | End


# ------------------------------------------------------------------------------ writing

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode(event: dict[str, Any]) -> bytes:
    """One trace line (UTF-8, newline-terminated) for an event given as data."""
    return (_ENCODER.encode(event) + "\n").encode("utf-8")


def header_event(started: str, upstream: str, listen: str) -> dict[str, Any]:
    return {"type": "trace", "format": FORMAT, "version": VERSION, "started": started, "upstream": upstream,
            "listen": listen}


def open_event(t: float, conn: int, path: str, headers: Iterable[tuple[str, str]], subprotocol: str | None,
               redact: Iterable[str] = ()) -> dict[str, Any]:
    """The open line: the handshake's path and headers as the client offered them, redacted."""
    hidden = redacted_names(redact)
    return {"type": "open", "t": _time(t), "conn": conn, "path": redact_path(path, hidden),
            "headers": [[name, MASK if name.lower() in hidden else value] for name, value in headers],
            "subprotocol": subprotocol}


def refused_event(t: float, conn: int, by: Closer, status: int, reason: str) -> dict[str, Any]:
    return {"type": "refused", "t": _time(t), "conn": conn, "by": by, "status": status, "reason": reason}


def frame_event(t: float, conn: int, sender: Side, data: str | bytes) -> dict[str, Any]:
    if isinstance(data, str):
        return {"type": "frame", "t": _time(t), "conn": conn, "from": sender, "text": data}
    return {"type": "frame", "t": _time(t), "conn": conn, "from": sender,
            "binary": base64.b64encode(data).decode("ascii")}


def close_event(t: float, conn: int, by: Closer, code: int, reason: str) -> dict[str, Any]:
    return {"type": "close", "t": _time(t), "conn": conn, "by": by, "code": code, "reason": reason}


def end_event(t: float, connections: int, frames: int) -> dict[str, Any]:
    return {"type": "end", "t": _time(t), "connections": connections, "frames": frames}


def _time(t: float) -> float:
    return round(t, 6)


def redacted_names(extra: Iterable[str] = ()) -> frozenset[str]:
    """Lower-case header and query-parameter names whose values a trace hides."""
    return frozenset((*ALWAYS_REDACTED, *REDACTED_PARAMETERS, *(n.lower() for n in extra)))


def redact_path(path: str, hidden: frozenset[str]) -> str:
    """A request path whose hidden query parameters read ``***``."""
    parts = urlsplit(path)
    if not parts.query:
        return path
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k.lower() in hidden for k, _ in pairs):
        return path
    query = urlencode([(k, MASK if k.lower() in hidden else v) for k, v in pairs], safe="*")
    return urlunsplit(parts._replace(query=query))


# ------------------------------------------------------------------------------ reading


def read(lines: Iterable[str | bytes]) -> Iterator[Event]:
    """Every event of a trace, in order; blank lines are skipped. Raises :class:`TraceError`."""
    for number, raw in enumerate(lines, 1):
        text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
        if text.strip():
            yield parse_line(text, number)


def parse_line(text: str, line: int) -> Event:
    """One line as an event; a line that is not one raises :class:`TraceError` saying why."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise TraceError(line, f"not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise TraceError(line, "not a JSON object")
    kind = obj.get("type")
    reader = _READERS.get(kind) if isinstance(kind, str) else None
    if reader is None:
        raise TraceError(line, f"unknown type {kind!r}; expected one of {', '.join(_READERS)}")
    try:
        return reader(obj, line)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise TraceError(line, f"a {kind} line {_why(exc)}") from None


def _why(exc: Exception) -> str:
    return f"lacks {exc.args[0]!r}" if isinstance(exc, KeyError) else f"is malformed ({exc})"


def _t(obj: dict[str, Any]) -> float:
    t = obj["t"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0:
        raise ValueError(f"t must be a number of seconds, not {t!r}")
    return float(t)


def _conn(obj: dict[str, Any]) -> str:
    conn = obj["conn"]
    if isinstance(conn, bool) or not isinstance(conn, (int, str)):
        raise ValueError(f"conn must be an integer or a string, not {conn!r}")
    return str(conn)


def _str(obj: dict[str, Any], key: str, default: str | None = None) -> str:
    value = obj.get(key, default) if default is not None else obj[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string, not {value!r}")
    return value


def _choice(obj: dict[str, Any], key: str, allowed: tuple[str, ...]) -> Any:
    value = obj[key]
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _code(obj: dict[str, Any], key: str) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer, not {value!r}")
    return value


def _header(obj: dict[str, Any], line: int) -> Header:
    if obj.get("format", FORMAT) != FORMAT or obj.get("version", VERSION) != VERSION:
        raise ValueError(f"this reader knows {FORMAT} version {VERSION}, not {obj.get('format')} "
                         f"version {obj.get('version')}")
    started, upstream = obj.get("started"), obj.get("upstream")
    return Header(line, started if isinstance(started, str) else None,
                  upstream if isinstance(upstream, str) else None)


def _open(obj: dict[str, Any], line: int) -> Open:
    headers = obj.get("headers", [])
    if not isinstance(headers, list) or not all(
            isinstance(h, list) and len(h) == 2 and all(isinstance(p, str) for p in h) for h in headers):
        raise ValueError("headers must be a list of [name, value] pairs of strings")
    subprotocol = obj.get("subprotocol")
    if subprotocol is not None and not isinstance(subprotocol, str):
        raise ValueError(f"subprotocol must be a string or null, not {subprotocol!r}")
    return Open(line, _t(obj), _conn(obj), _str(obj, "path", "/"), tuple((h[0], h[1]) for h in headers),
                subprotocol)


def _refused(obj: dict[str, Any], line: int) -> Refused:
    return Refused(line, _t(obj), _conn(obj), _choice(obj, "by", (SERVER, PROXY)), _code(obj, "status"),
                   _str(obj, "reason", ""))


def _frame(obj: dict[str, Any], line: int) -> Frame:
    sender = _choice(obj, "from", (CLIENT, SERVER))
    if "text" in obj:
        data: str | bytes = _str(obj, "text")
    elif "binary" in obj:
        data = base64.b64decode(_str(obj, "binary"), validate=True)
    else:
        raise KeyError("text")
    return Frame(line, _t(obj), _conn(obj), sender, data)


def _close(obj: dict[str, Any], line: int) -> Close:
    return Close(line, _t(obj), _conn(obj), _choice(obj, "by", (CLIENT, SERVER, PROXY)), _code(obj, "code"),
                 _str(obj, "reason", ""))


def _end(obj: dict[str, Any], line: int) -> End:
    return End(line, _t(obj))


_READERS: dict[str, Callable[[dict[str, Any], int], Event]] = {
    "trace": _header, "open": _open, "refused": _refused, "frame": _frame, "close": _close, "end": _end,
}
