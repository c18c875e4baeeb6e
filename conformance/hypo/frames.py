"""What a generated frame is, the checks it gets, and strategies for bad frames.

A frame is a message (a dict, sent as a ``frame`` step) or raw text (a ``raw`` step).
Judged against the API's lenient request schema it is

* **valid**: it must get the documented response (``answered``, ``schema``);
* **invalid**, when a table row is missing or of a type no form allows: documented by the
  Mandatory and Data Type columns, it must get a reply that is not a success;
* **odd**, for anything else (not JSON, larger than :data:`LARGE`, an envelope the tables
  do not give, a value off the samples' format): the docs are silent, so its checks are
  inferred, never FAIL.

The same words as the example cases (``cases/04-bad-input.yaml``), so a generated frame
is judged exactly as a hand-written one would be.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ..cases import Step
from ..messages import build_request
from ..profile import Profile
from ..protocol import encode
from ..spec import Api, Spec
from ..validation import schema_for, validate

Frame = dict[str, Any] | str
"""A message (sent as JSON) or raw text (sent as it is)."""

Kind = Literal["valid", "invalid", "odd"]
WRONG_VALUES: tuple[Any, ...] = (12345, True, None, [], {"unexpected": "object"}, "not-a-valid-value")
"""Replacement values for a member; those the schema still allows there are not used."""
VALID_CHECKS = ("answered", "schema")
DOCUMENTED_ANSWER = {"answered": {"basis": "documented"}}
LARGE = 16 * 1024
"""Bytes (UTF-8) beyond which a frame is odd: the docs give no size limit; every target has one."""
MAX_HUGE = 100_000
"""Characters of the longest string sent: past common frame limits (64 KiB), well short
of the 1 MiB a target may close the connection over."""
MAX_DEPTH = 400
"""Deepest nesting sent: within what any JSON library on the path should parse."""
_UNICODE = st.characters(exclude_categories=["Cs"])  # what UTF-8 encodes; cheaper to build than codec="utf-8"
"""Every Unicode scalar value that can travel in a text frame (no lone surrogates)."""


@dataclass(frozen=True)
class Expectation:
    """How a frame must be answered, on what basis, citing which requirements."""

    kind: Kind
    basis: str
    requirements: tuple[str, ...]
    doc: str


def parsed(frame: Frame) -> Any:
    """The frame as a JSON value (None when raw text is not JSON)."""
    if isinstance(frame, dict):
        return frame
    try:
        return json.loads(frame)
    except (ValueError, RecursionError):
        return None


def expectation(api: Api, frame: Frame) -> Expectation:
    """Judge a frame against the API's lenient request schema (see the module docstring)."""
    message = parsed(frame)
    silent = f"inferred: {api.title}: the docs say nothing of frames that are not requests, nor of their size"
    text = frame if isinstance(frame, str) else encode(frame)
    if not isinstance(message, dict) or len(text.encode()) > LARGE:
        return Expectation("odd", "inferred", (api.envelope_id("response", "subtopic"),), silent)
    violations = validate(message, api.name, "request", "lenient")
    if not violations:
        return Expectation("valid", "documented", tuple(api.requirement_ids("response")),
                           f"{api.title}: Response Parameters and Message Parameters tables")
    rows = {f.id: f for f in api.fields()}
    envelope = [v for v in violations if not v.path.startswith("$.data.")]
    # Only a missing mandatory row is documented as making a request invalid; whether a
    # value of another type is refused or coerced the pages do not say.
    documented = [
        v for v in violations
        if v.path.startswith("$.data.") and v.requirement in rows and v.keyword == "required"
    ]
    if documented and not envelope:
        names = sorted({rows[v.requirement].name for v in documented if v.requirement is not None})
        return Expectation("invalid", "documented", _ids(v.requirement for v in documented),
                           f"{api.title}: Data Parameters table, row {', '.join(names)}")
    where = envelope or violations
    return Expectation("odd", "inferred", _ids(v.requirement for v in where),
                       f"inferred: {api.title}: Request Parameters and Data Parameters tables "
                       "(a frame outside them; how it is refused is not documented)")


def _ids(requirements: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r for r in requirements if r))


def _member(message: dict[str, Any], path: str) -> Any:
    data = message.get("data")
    return data.get(path.removeprefix("$.data.")) if isinstance(data, dict) else None


def replayable(text: str) -> bool:
    """Whether text that is not JSON can be a case file's ``raw`` step: ``${`` would be read
    as a template (in JSON text, :mod:`.reproduce` escapes it)."""
    return "${" not in text


def step(frame: Frame, *, agent: int = 1, expect: str = "response", checks: tuple[Any, ...] = ()) -> Step:
    """The case step that sends a frame: a ``frame`` step for a message, else ``raw``."""
    if isinstance(frame, dict):
        return Step(frame=frame, agent=agent, expect=expect, checks=checks)
    return Step(raw=frame, agent=agent, expect=expect, checks=checks)


def judged_step(api: Api, frame: Frame, agent: int = 1, *, robust: bool = False) -> tuple[Step, Expectation]:
    """The step for any frame, with the checks its expectation calls for. ``robust``: a
    valid request carrying exotic values (huge or any Unicode) only has to get a reply,
    since such values meet no prerequisite and the docs leave a refusal's shape open."""
    expected = expectation(api, frame)
    if expected.kind == "valid" and not robust:
        return step(parsed(frame), agent=agent, checks=VALID_CHECKS), expected
    refused = {"not_success": {"requirements": list(expected.requirements), "doc": expected.doc}}
    checks: tuple[Any, ...] = ("answered",)
    if expected.kind == "valid":
        expected = Expectation("odd", "inferred", (api.envelope_id("response", "subtopic"),),
                               f"inferred: {api.title}: the docs say nothing of values like these")
    elif expected.kind == "invalid":
        checks = (refused,)
    elif isinstance(parsed(frame), dict):
        checks = ("answered", refused)
    return step(frame, agent=agent, expect="reply", checks=checks), expected


def follow_up(spec: Spec, profile: Profile, api: Api) -> Step:
    """A plain valid request on the same connection: the target must still answer (as the
    example cases do after bad input). A manual dial, unless that is the API under test,
    then a read-only re-fetch of reserved contacts; so its reply subtopic differs from the
    API's and any extra reply to the frames before it is seen, not taken for its answer.
    Its reply may be a refusal of any shape (no contact to give is the target's choice);
    a reply must come."""
    dial = spec.api("ManualDialCall")
    if api.response_subtopic != dial.response_subtopic:
        message = build_request(spec, dial.name, "tables", {"PhoneNumber": profile.fixtures.phone_number})
    else:
        values = {"AgentID": profile.agent, "NumberOfContactsRequired": 1, "Consent": True, "ReservedContacts": True}
        message = build_request(spec, "GetReservedManualDialContact", "tables", values)
    return step(message, expect="reply", checks=(DOCUMENTED_ANSWER, "schema"))


# ---------------------------------------------------------------------- bad frames


def _data_keys(message: dict[str, Any]) -> list[str]:
    data = message.get("data")
    return sorted(data) if isinstance(data, dict) else []


def _with_data(message: dict[str, Any], key: str, value: Any = None, *, drop: bool = False) -> dict[str, Any]:
    data = dict(message.get("data") or {})
    if drop:
        data.pop(key, None)
    else:
        data[key] = value
    return {**message, "data": data}


def invalid_frames(api: Api, valid: SearchStrategy[dict[str, Any]]) -> SearchStrategy[Frame]:
    """Frames the tables forbid: a data member dropped or of a wrong type, an envelope
    member dropped, an undocumented subtopic, a frame cut short (so not JSON)."""
    required = tuple(schema_for(api.name, "request", "lenient").get("required", ()))

    def dropped(m: dict[str, Any]) -> SearchStrategy[Frame]:
        return st.sampled_from(_data_keys(m)).map(lambda k: _with_data(m, k, drop=True))

    def retyped(m: dict[str, Any]) -> SearchStrategy[Frame]:
        pairs = st.tuples(st.sampled_from(_data_keys(m)), st.sampled_from(WRONG_VALUES))
        return pairs.map(lambda kv: _with_data(m, *kv))

    def unenveloped(m: dict[str, Any]) -> SearchStrategy[Frame]:
        return st.sampled_from(required).map(lambda k: {n: v for n, v in m.items() if n != k})

    def cut(m: dict[str, Any]) -> SearchStrategy[Frame]:
        text = encode(m)
        return st.integers(1, len(text) - 1).map(lambda n: text[:n]).filter(replayable)

    with_data = valid.filter(_data_keys)
    frames = st.one_of(
        with_data.flatmap(dropped),
        with_data.flatmap(retyped),
        valid.flatmap(unenveloped),
        valid.map(lambda m: {**m, "subtopic": f"{m['subtopic']}Undocumented"}),
        valid.flatmap(cut),
    )
    return frames.filter(lambda f: expectation(api, f).kind != "valid")


def odd_frames(valid: SearchStrategy[dict[str, Any]]) -> SearchStrategy[Frame]:
    """Frames to shake a parser: random bytes (as text), huge strings, deep nesting, and
    arbitrary Unicode in every string member of a valid request."""
    random_bytes = st.binary(max_size=256).map(lambda b: b.decode("latin-1"))
    random_text = st.text(_UNICODE, max_size=256)
    loose = st.one_of(random_bytes, random_text).filter(replayable)

    def huge(m: dict[str, Any]) -> SearchStrategy[Frame]:
        text = st.builds(lambda chunk, n: (chunk * (n // len(chunk) + 1))[:n],
                         st.text(_UNICODE, min_size=1, max_size=8), st.integers(1_000, MAX_HUGE))
        return st.tuples(st.sampled_from(_data_keys(m)), text).map(lambda kv: _with_data(m, *kv))

    def deep(m: dict[str, Any]) -> SearchStrategy[Frame]:
        def nested(key: str, depth: int, opener: str) -> str:
            value = "[" * depth + "]" * depth if opener == "[" else '{"a":' * depth + "{}" + "}" * depth
            return encode(_with_data(m, key, _HOLE)).replace(encode(_HOLE), value)

        return st.builds(nested, st.sampled_from(_data_keys(m)), st.integers(16, MAX_DEPTH), st.sampled_from("[{"))

    def unicode(m: dict[str, Any]) -> SearchStrategy[Frame]:
        strings = [k for k in _data_keys(m) if isinstance(m["data"][k], str)]
        new = st.fixed_dictionaries({k: st.text(_UNICODE, min_size=1, max_size=32) for k in strings})
        return new.map(lambda values: {**m, "data": {**m["data"], **values}})

    with_data = valid.filter(_data_keys)
    return st.one_of(loose, with_data.flatmap(huge), with_data.flatmap(deep), with_data.flatmap(unicode))


_HOLE = "\x00lcm-conformance-hole\x00"
"""A string no generated request holds, replaced in the encoded text by deep nesting."""
