"""Sans-I/O protocol core: build request frames, parse response frames, pair them up.

No sockets, no clock, no asyncio. The caller feeds in received frames and clock values
and gets frames to send and finished exchanges out, so one piece of logic serves every
transport and is tested without a network (the style of h11 and websockets' protocol
layer). Every doc fact (envelopes, subtopics, which APIs echo a call id) is read from
:mod:`conformance.spec`; the key names below are the wire binding of DESIGN.md.

Four parts, in wire order:

* building: :func:`default_envelope`, :func:`build_request` -> :class:`Request`;
* parsing: :func:`parse_frame` -> one of the :data:`Event` classes, never raising;
* pairing: :class:`Correlator`, one request in flight per connection -> :class:`Exchange`;
* recording: :class:`FrameLog` and :class:`Redactor`, for failure messages and reports.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Final, Literal

from .refusals import is_refusal_frame
from .spec import Api, Spec, load_spec

DATA: Final = "data"
SOURCE: Final = "source"
SUBTOPIC: Final = "subtopic"
MESSAGE: Final = "message"
CALLID: Final = "callid"
"""Wire-binding key names: request ``data`` and ``source``, response ``subtopic`` and
``message``, and the call id that pairs an answer with its request where it is echoed."""

DEFAULT_SOURCE: Final = "lcm-conformance"
"""What the suite puts in ``source``: the tables give only a placeholder for the app name."""

FORMS: Final = ("tables", "page")
"""How a request's envelope is written: as the Request Parameters table says, or as the
page's sample request shows (clients copy both, so a target must accept both). The same
words as :mod:`conformance.messages`, which fills ``data`` in either form."""


# ---------------------------------------------------------------------------- building


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()
"""An envelope override (or ``data``) value that drops the key from the request."""

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class Request:
    """A request ready for the wire: the message as data and as the one text frame sent."""

    api: str | None
    message: dict[str, Any]
    text: str


def _api(api: Api | str, spec: Spec | None) -> Api:
    return api if isinstance(api, Api) else (spec or load_spec()).api(api)


def default_envelope(
    api: Api | str, form: str = "tables", *, source: str = DEFAULT_SOURCE, spec: Spec | None = None
) -> dict[str, Any]:
    """The envelope (every request key but ``data``) a client copying the page would send.

    ``tables`` takes the Request Parameters table and fills the ``source`` placeholder;
    ``page`` takes the page's first sample request, which has no ``source``.
    """
    api = _api(api, spec)
    if form == "tables":
        env = {k: (source if k == SOURCE else v) for k, v in api.request_envelope.items()}
    elif form == "page":
        env = dict(api.sample_requests[0].message)
    else:
        raise ValueError(f"unknown form {form!r}; expected one of {', '.join(FORMS)}")
    env.pop(DATA, None)
    return env


def encode(message: Any) -> str:
    """Compact JSON text for one frame; NaN and infinities are refused (they are not JSON)."""
    return _ENCODER.encode(message)


def build_request(
    api: Api | str,
    data: Any,
    *,
    envelope: Mapping[str, Any] | None = None,
    form: str = "tables",
    source: str = DEFAULT_SOURCE,
    spec: Spec | None = None,
) -> Request:
    """Build one request frame: the default envelope, overridden key by key, then ``data``.

    An override value of :data:`OMIT` drops that key, and ``data=OMIT`` sends no ``data``,
    so bad-input cases are built the same way as good ones.
    """
    api = _api(api, spec)
    message = default_envelope(api, form, source=source)
    for key, value in (envelope or {}).items():
        if value is OMIT:
            message.pop(key, None)
        else:
            message[key] = value
    if data is not OMIT:
        message[DATA] = data
    return Request(api.name, message, encode(message))


def expected_reply(
    api: Api | str, request: Request | Mapping[str, Any], spec: Spec | None = None
) -> tuple[str, str | None]:
    """``(response subtopic, call id or None)`` that pairs the answer with this request.

    The call id counts only where the page has it both in the request data and in the
    response message, i.e. where the API echoes it; a request without one is answered
    by a reply that echoes none (``""``), not by one for some call.
    """
    api = _api(api, spec)
    message = request.message if isinstance(request, Request) else request
    callid = None
    if _echoes_callid(api):
        data = message.get(DATA)
        value = data.get(CALLID) if isinstance(data, Mapping) else None
        callid = "" if value is None else str(value)
    return api.response_subtopic, callid


def _echoes_callid(api: Api) -> bool:
    paths = {f.path for f in api.fields()}
    return f"request.{DATA}.{CALLID}" in paths and f"response.{MESSAGE}.{CALLID}" in paths


# ----------------------------------------------------------------------------- parsing


def _refuses(event: Event) -> bool:
    obj = getattr(event, "obj", None)
    return obj is not None and is_refusal_frame(obj)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


@dataclass(frozen=True, slots=True)
class Message:
    """A JSON object carrying every response envelope key."""

    text: str
    obj: dict[str, Any]
    kind: ClassVar[str] = "message"

    @property
    def problem(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class NotJson:
    """A text frame that does not parse as JSON."""

    text: str
    error: str
    kind: ClassVar[str] = "not_json"

    @property
    def problem(self) -> str:
        return f"not JSON ({self.error})"


@dataclass(frozen=True, slots=True)
class NotObject:
    """Valid JSON whose top level is not an object (a list, a string, a number...)."""

    text: str
    value: Any
    kind: ClassVar[str] = "not_object"

    @property
    def problem(self) -> str:
        return f"JSON {type(self.value).__name__}, not an object"


@dataclass(frozen=True, slots=True)
class MissingKeys:
    """A JSON object lacking response envelope keys; kept whole, it may still be the answer."""

    text: str
    obj: dict[str, Any]
    missing: tuple[str, ...]
    kind: ClassVar[str] = "missing_keys"

    @property
    def problem(self) -> str:
        return f"envelope lacks {', '.join(self.missing)}"


@dataclass(frozen=True, slots=True)
class NotText:
    """A binary frame, where the binding carries each message in one text frame."""

    data: bytes
    kind: ClassVar[str] = "binary"

    @property
    def text(self) -> str:
        return f"<binary frame, {len(self.data)} bytes: {self.data[:48]!r}>"

    @property
    def problem(self) -> str:
        return "binary frame, not text"


Event = Message | NotJson | NotObject | MissingKeys | NotText
"""What one received frame is. Every class has ``text``, ``kind`` and ``problem``."""


def response_keys(spec: Spec | None = None) -> tuple[str, ...]:
    """The envelope keys every documented response carries (channel, topic, subtopic, message)."""
    if spec is None:
        return _default_response_keys()
    apis = list(spec.apis.values())
    first = apis[0].response_envelope
    return tuple(k for k in first if all(k in a.response_envelope for a in apis))


@cache
def _default_response_keys() -> tuple[str, ...]:
    return response_keys(load_spec())


@cache
def _default_response_subtopics() -> frozenset[str]:
    return response_subtopics(load_spec())


def response_subtopics(spec: Spec | None = None) -> frozenset[str]:
    """Every subtopic a page documents for a response: a frame on another one answers no
    valid request, though it may refuse an invalid one."""
    if spec is None:
        return _default_response_subtopics()
    return frozenset(a.response_subtopic for a in spec.apis.values())


def parse_frame(frame: str | bytes, required: tuple[str, ...] | None = None) -> Event:
    """Classify one received frame; any input gives an event, none raises.

    ``required`` defaults to :func:`response_keys`.
    """
    if not isinstance(frame, str):
        return NotText(bytes(frame))
    try:
        value = _DECODER.decode(frame)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, NaN, huge ints, deep nesting
        return NotJson(frame, str(exc) or type(exc).__name__)
    if not isinstance(value, dict):
        return NotObject(frame, value)
    required = response_keys() if required is None else required
    missing = tuple(k for k in required if k not in value)
    return MissingKeys(frame, value, missing) if missing else Message(frame, value)


# ---------------------------------------------------------------------------- recording


class Redactor:
    """Replaces every secret by ``***`` wherever it appears, in text or in nested values.

    A secret is also matched in its JSON-escaped form, as it appears inside a frame.
    """

    MASK: Final = "***"

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        plain = {s for s in secrets if s}
        forms = plain | {json.dumps(s, ensure_ascii=False)[1:-1] for s in plain}
        self.secrets: frozenset[str] = frozenset(plain)
        self._forms = tuple(sorted(forms, key=len, reverse=True))  # longest first: no partial leaks

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __call__(self, text: str) -> str:
        for secret in self._forms:
            if secret in text:
                text = text.replace(secret, self.MASK)
        return text

    def value(self, obj: Any) -> Any:
        """A copy of a JSON-like value with every string redacted (for structured reports)."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, Mapping):
            return {self(str(k)): self.value(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(v) for v in obj]
        return obj


NO_REDACTION: Final = Redactor()

Direction = Literal["sent", "received"]
_ARROWS: Final = {"sent": "→", "received": "←"}


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame on the wire: direction, seconds since the log began, redacted text.

    In an exchange's log ``at`` counts from :attr:`Exchange.started`, so a case re-bases
    it onto its own clock by adding that offset.
    """

    direction: Direction
    at: float
    text: str


class FrameLog:
    """A bounded, redacted record of the frames of one exchange (or any span of a connection).

    It keeps the first ``limit - 1`` frames and always the latest one, so a flood costs
    constant memory yet the log still ends with the frame that ended the exchange.
    """

    def __init__(self, t0: float, *, limit: int = 100, redact: Redactor = NO_REDACTION) -> None:
        if limit < 2:
            raise ValueError("a frame log keeps at least two frames (the first and the latest)")
        self.t0 = t0
        self.limit = limit
        self.dropped = 0
        self._redact = redact
        self._frames: list[Frame] = []

    def record(self, direction: Direction, frame: str | bytes, now: float) -> None:
        text = frame if isinstance(frame, str) else NotText(bytes(frame)).text
        entry = Frame(direction, now - self.t0, self._redact(text) if self._redact else text)
        if len(self._frames) < self.limit:
            self._frames.append(entry)
        else:
            self._frames[-1] = entry
            self.dropped += 1

    @property
    def frames(self) -> tuple[Frame, ...]:
        return tuple(self._frames)

    def __len__(self) -> int:
        return len(self._frames) + self.dropped

    def render(self, *, max_chars: int = 2000) -> str:
        """One line per frame (``+0.003s → {...}``), long frames cut, dropped frames counted."""
        lines = []
        for i, f in enumerate(self._frames):
            if self.dropped and i == len(self._frames) - 1:
                lines.append(f"  … {self.dropped} more frame(s) not kept …")
            text = f.text
            if len(text) > max_chars:
                text = f"{text[:max_chars]}… ({len(text)} chars)"
            lines.append(f"+{f.at:.3f}s {_ARROWS[f.direction]} {text}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The log as data, for ``results.json`` and the HTML report."""
        return {
            "frames": [
                {"direction": f.direction, "at": round(f.at, 6), "text": f.text} for f in self._frames
            ],
            "dropped": self.dropped,
        }


# ----------------------------------------------------------------------------- pairing


class Status(enum.Enum):
    """How an exchange ended."""

    ANSWERED = "answered"
    TIMEOUT = "timeout"
    CLOSED = "closed"
    FLOODED = "flooded"


@dataclass(frozen=True)
class Exchange:
    """One request and what came back: the answer, or why none did, with the frames seen.

    ``request`` and ``response`` are the raw texts the checks judge; ``log`` and ``reason``
    are redacted and are what failure messages and reports show. ``started`` is the
    caller's clock at send time (the event loop's clock under the transport).
    """

    status: Status
    request: str
    expect_subtopic: str | None
    expect_callid: str | None
    response: Event | None
    unmatched: tuple[Event, ...]
    unmatched_count: int
    received: int
    started: float
    elapsed: float
    log: FrameLog
    reason: str
    early: int = 0
    """Frames read before the request went out (greetings, second copies): never the answer."""
    refusal: bool = False
    """The request was one the tables forbid: a refusal of any shape, or none, may answer it."""

    @property
    def answered(self) -> bool:
        return self.status is Status.ANSWERED

    @property
    def message(self) -> dict[str, Any] | None:
        """The answer as a parsed object, if it was one."""
        return getattr(self.response, "obj", None)


class ProtocolStateError(RuntimeError):
    """The caller drove the :class:`Correlator` out of order (a bug in the caller)."""


class _State(enum.Enum):
    IDLE = "idle"
    AWAITING = "awaiting"
    DESYNC = "desync"


FLOOD_HINT: Final = 100
"""Frames that answered nothing, in one exchange, past which its reason names a flood."""


class Correlator:
    """Pairs one request at a time with its answer on one connection.

    After :meth:`send`, feed every received frame to :meth:`receive` until it returns an
    :class:`Exchange`; the caller owns the clock and calls :meth:`expire` at
    :attr:`deadline` and :meth:`closed` if the connection drops. The answer is the first
    frame whose ``subtopic`` is the expected one and whose echoed ``callid`` (if any) is the
    expected one. A JSON object on a subtopic no page documents as a response (``known``)
    that bears a sign of refusal (:mod:`conformance.refusals`) answers too: the docs leave
    the shape of a refusal open. With ``expect_subtopic=None`` (a frame that is no request
    of any API) only such a frame answers. ``refusal=True`` marks a request the tables
    forbid: silence may answer it, so a timeout leaves the connection usable. Frames the caller read before sending (a
    greeting, a second copy of an earlier answer) are noted with :meth:`early`. Other frames
    are kept as unmatched, up to ``keep``, and counted; after ``max_frames`` frames without
    an answer the exchange ends as FLOODED.

    A target may send a second copy of an answer (the pages forbid none), and the copy may
    come after the next request went out. A refusal on an undocumented subtopic answers any
    request, so a frame that repeats the previous answer word for word and would answer only
    as such a refusal is held back, not taken, unless the copy was already read: the answer
    is the next matching frame, or the held one if none other comes before the deadline
    (:meth:`expire`), so a target that refuses twice alike costs a wait, never a wrong pairing.
    Once a copy was seen (a frame word for word the previous answer, before the next one),
    the target is known to send copies, and a repeat on the documented subtopic is held too;
    a target never seen to repeat an answer pays nothing for this.

    After a TIMEOUT or FLOODED exchange a late answer may still come and be taken for the
    next request's, so the correlator refuses to send until :meth:`reset` (call it after
    reconnecting). CLOSED needs a reconnect too. Frames that arrive between exchanges
    (pushed by the target unasked) are read with the next exchange and kept as unmatched.
    """

    def __init__(
        self,
        *,
        keep: int = 32,
        max_frames: int = 1000,
        redact: Redactor = NO_REDACTION,
        required: tuple[str, ...] | None = None,
        known: frozenset[str] | None = None,
    ) -> None:
        if keep < 1 or max_frames < 1:
            raise ValueError("keep and max_frames must be at least 1")
        self.keep = keep
        self.max_frames = max_frames
        self.redact = redact
        self.required = response_keys() if required is None else required
        self.known = response_subtopics() if known is None else known
        self._state = _State.IDLE
        self._owed = False
        self._previous: str | None = None
        self._copies = False
        """A second copy of an answer was seen: the target sends them (kept across reconnects)."""
        """The text of the last answer on this connection: a copy of it may still come."""
        self.deadline: float | None = None

    @property
    def in_sync(self) -> bool:
        """False once an unanswered request may still be answered on this connection."""
        return self._state is not _State.DESYNC

    @property
    def awaiting(self) -> bool:
        return self._state is _State.AWAITING

    def reset(self) -> None:
        """Forget the connection's history: call after opening a fresh connection."""
        if self._state is _State.AWAITING:
            raise ProtocolStateError("reset() during an exchange; end it with closed() first")
        self._state = _State.IDLE
        self._owed = False
        self._previous = None

    def send(
        self,
        request: Request | str,
        expect_subtopic: str | None,
        expect_callid: str | None = None,
        *,
        now: float,
        timeout: float,
        refusal: bool = False,
    ) -> str:
        """Start an exchange; returns the text frame to put on the wire.

        ``refusal``: the request is one the tables forbid, so a frame on an undocumented
        subtopic may be its refusal.
        """
        if self._state is not _State.IDLE:
            raise ProtocolStateError(
                "an exchange is in flight"
                if self.awaiting
                else "connection out of sync: reconnect and reset()"
            )
        text = request.text if isinstance(request, Request) else request
        self._state = _State.AWAITING
        self._request = text
        self._subtopic = expect_subtopic
        self._callid = expect_callid
        self._refusal = refusal or expect_subtopic is None
        self._early = 0
        self._copy: str | None = self._previous
        self._held: Event | None = None
        self._t0 = now
        self.deadline = now + timeout
        self._unmatched: list[Event] = []
        self._unmatched_count = 0
        self._received = 0
        self._log = FrameLog(now, limit=self.keep + 1, redact=self.redact)
        self._log.record("sent", text, now)
        return text

    def early(self, frame: str | bytes, now: float) -> None:
        """Note a frame that had arrived before the request was sent: never its answer."""
        self._require_awaiting()
        self._early += 1
        self._unmatched_count += 1
        self._log.record("received", frame, now)
        event = parse_frame(frame, self.required)
        if event.text == self._copy:
            self._copy, self._copies = None, True  # the copy came before the request: what follows is its own
        if self._owed and _refuses(event):
            self._owed = False  # the late refusal of an earlier forbidden request, read before this one

    def receive(self, frame: str | bytes, now: float) -> Exchange | None:
        """Consume one received frame; returns the finished exchange, or None to keep reading."""
        self._require_awaiting()
        self._received += 1
        self._log.record("received", frame, now)
        event = parse_frame(frame, self.required)
        if self._owed and _refuses(event) and not self._documented(event):
            # The refusal an earlier forbidden request was not given time for: not this one's
            # (a reply on this request's documented subtopic and call id is always its own).
            self._owed = False
            self._unmatched_count += 1
            return None
        if self._matches(event):
            if self._copy is not None and event.text == self._copy and (self._copies or not self._documented(event)):
                self._copy, self._held = None, event  # maybe the previous answer's second copy
                self._unmatched_count += 1
                if len(self._unmatched) < self.keep:
                    self._unmatched.append(event)
                return None
            self._copies |= self._held is not None  # what was held was a copy after all
            return self._finish(Status.ANSWERED, now, event, "answered")
        self._unmatched_count += 1
        if event.text == self._copy or (self._held is not None and event.text == self._held.text):
            self._copies = True
        if len(self._unmatched) < self.keep:
            self._unmatched.append(event)
        if self._received + self._early >= self.max_frames:  # frames read before the request count too
            reason = (f"{self._received + self._early} frames without {self._wanted()}; stopped reading "
                      "(a flood of unsolicited frames)")
            return self._finish(Status.FLOODED, now, None, reason)
        return None

    def answers(self, event: Event) -> bool:
        """Whether a parsed frame (:func:`parse_frame`) would answer the request in flight,
        without reading it: for a reader holding several requests at once (the trace audit),
        which must see every request a frame could answer before giving it to one."""
        self._require_awaiting()
        return self._matches(event)

    def shorten(self, deadline: float) -> None:
        """Bring the deadline forward (the target's silence is established sooner)."""
        self._require_awaiting()
        self.deadline = deadline if self.deadline is None else min(self.deadline, deadline)

    def expire(self, now: float) -> Exchange:
        """End the exchange at its deadline: nothing matching came in time."""
        self._require_awaiting()
        if self._held is not None:  # no other answer came: the repeated frame was this request's own
            self._unmatched_count -= 1
            self._unmatched = [e for e in self._unmatched if e is not self._held]
            return self._finish(Status.ANSWERED, now, self._held,
                                "answered (word for word as the previous request was; no other answer came)")
        waited = (now if self.deadline is None else self.deadline) - self._t0
        reason = f"no {self._wanted()} within {waited:.3g}s{self._others()}"
        return self._finish(Status.TIMEOUT, now, None, reason)

    def closed(self, now: float, reason: str) -> Exchange:
        """End the exchange because the connection closed before the answer."""
        self._require_awaiting()
        reason = f"connection closed before {self._wanted()}: {reason}{self._others()}"
        return self._finish(Status.CLOSED, now, None, reason)

    def _documented(self, event: Event) -> bool:
        """Whether the frame carries this request's documented response subtopic (and call id)."""
        obj = getattr(event, "obj", None)
        return obj is not None and self._subtopic is not None and obj.get(SUBTOPIC) == self._subtopic \
            and self._matches(event)

    def _matches(self, event: Event) -> bool:
        obj = getattr(event, "obj", None)
        if obj is None:
            return False
        subtopic = obj.get(SUBTOPIC)
        if not (isinstance(subtopic, str) and subtopic in self.known):
            # A refusal may come on a subtopic of its own (the docs leave its shape open);
            # a frame there without a sign of refusal (a greeting, a heartbeat) answers nothing.
            return is_refusal_frame(obj)
        if self._subtopic is None or subtopic != self._subtopic:
            return False
        if self._callid is None:
            return True
        # One request is in flight, so an answer that omits the call id is still this one's
        # (its checks judge the omission); a different call id answers some other request.
        message = obj.get(MESSAGE)
        echoed = message.get(CALLID) if isinstance(message, dict) else None
        return echoed is None or str(echoed) == self._callid

    def _wanted(self) -> str:
        if self._subtopic is None:
            return "reply on an undocumented subtopic"
        callid = f" for callid {self._callid!r}" if self._callid is not None else ""
        return f"{self._subtopic!r} reply{callid}"

    def _others(self) -> str:
        n = self._unmatched_count
        if not n:
            return ""
        early = f", {self._early} of them before the request" if self._early else ""
        flood = " (a flood of unsolicited frames)" if n >= FLOOD_HINT else ""
        return f"; {n} other frame(s) received{early}{flood}"

    def _finish(self, status: Status, now: float, response: Event | None, reason: str) -> Exchange:
        # A refused request may go unanswered (the docs give no reply to it), so silence
        # leaves the connection usable; any other missing answer may still come late.
        quiet = status is Status.TIMEOUT and self._refusal
        self._state = _State.IDLE if status is Status.ANSWERED or quiet else _State.DESYNC
        self._owed = quiet
        self._previous = response.text if status is Status.ANSWERED and response is not None else None
        self.deadline = None
        return Exchange(
            status=status,
            request=self._request,
            expect_subtopic=self._subtopic,
            expect_callid=self._callid,
            response=response,
            unmatched=tuple(self._unmatched),
            unmatched_count=self._unmatched_count,
            received=self._received,
            early=self._early,
            refusal=self._refusal,
            started=self._t0,
            elapsed=now - self._t0,
            log=self._log,
            reason=self.redact(reason) if self.redact else reason,
        )

    def _require_awaiting(self) -> None:
        if self._state is not _State.AWAITING:
            raise ProtocolStateError("no exchange in flight; call send() first")
