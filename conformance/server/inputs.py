"""Read one frame into a normalised request, or say clearly what is wrong with it.

A conformant target accepts what the tables say and what the samples show, so the
reader accepts every spelling, JSON type and value the discrepancy registry lists for
input, and hands the handlers one canonical form: table names and table types. All of
it is built from spec/ when the reader is made; nothing here names a doc field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ..spec import Api, Field, Spec
from .limits import MAX_FRAME_BYTES
from .wire import DATA, SUBTOPIC

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


class BadRequest(Exception):
    """A frame the server cannot serve; ``api`` is set once the subtopic was recognised."""

    def __init__(self, text: str, *, api: str | None = None, data: Any = None) -> None:
        super().__init__(text)
        self.text, self.api, self.data = text, api, data


@dataclass(frozen=True)
class Request:
    """A request as the handlers see it."""

    api: str
    envelope: Mapping[str, Any]
    """Every envelope member as sent, the data object included."""
    data: Mapping[str, Any]
    """The data fields under their table names, converted to their table types."""


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def json_type(value: Any) -> str:
    """The JSON Schema type word for a parsed JSON value (an integer is not a "number" here)."""
    return _JSON_TYPES.get(type(value), "null")


def show(value: Any, limit: int = 60) -> str:
    """A short repr of client input for an error text."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _truth(word: str, where: str) -> bool:
    # The registry lists the strings a Boolean row also accepts; read their truth the
    # YAML 1.1 way (Yes/true are true, No/false false) so no word is spelled out here.
    value = yaml.safe_load(word)
    if not isinstance(value, bool):
        raise ValueError(f"{where}: the registry's value {word!r} is not a Boolean word")
    return value


_CONVERSIONS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("string", "integer"): str,
    ("string", "number"): str,
}
"""How a value of an also-accepted JSON type becomes the table's type."""


@dataclass(frozen=True)
class FieldRule:
    """What one data field accepts, and how it becomes canonical."""

    name: str
    spellings: tuple[str, ...]
    types: frozenset[str]
    words: Mapping[str, bool] | None
    """For a Boolean row: the strings the registry also accepts, and their truth."""
    doc_type: str
    mandatory: bool

    @classmethod
    def of(cls, spec: Spec, api: Api, field: Field) -> FieldRule:
        names = spec.effects(api.name, field.path, "name")
        type_effects = spec.effects(api.name, field.path, "type")
        types = frozenset({field.json_type, *(t for e in type_effects for t in e.also)})
        words = None
        values = [v for e in type_effects for v in e.values]
        if values:
            if field.json_type != "boolean":
                raise ValueError(f"{field.path}: string values only narrow a Boolean row")
            words = {v: _truth(v, field.path) for v in values}
        for extra in types - {field.json_type}:
            if not (
                (field.json_type, extra) in _CONVERSIONS
                or (extra == "string" and words)
                or (extra == "integer" and field.json_type == "number")
            ):
                raise ValueError(f"{field.path}: no rule turns {extra} into {field.json_type}")
        return cls(
            name=field.name,
            spellings=(field.name, *(s for e in names for s in e.also)),
            types=types,
            words=words,
            doc_type=field.json_type,
            mandatory=field.mandatory and not spec.effects(api.name, field.path, "optional"),
        )

    def expected(self) -> str:
        order = [self.doc_type, *sorted(self.types - {self.doc_type})]
        kinds = [_TYPE_WORDS[t] for t in order if not (t == "string" and self.words)]
        if self.words:
            kinds.append("one of " + ", ".join(map(repr, self.words)))
        return " or ".join(kinds)

    def read(self, data: Mapping[str, Any], where: str) -> tuple[bool, Any]:
        """(present, canonical value) of this field in a data object."""
        present = [s for s in self.spellings if s in data]
        if not present:
            if self.mandatory:
                raise BadRequest(f"{where}.{self.name} is missing")
            return False, None
        if len(present) > 1:
            raise BadRequest(f"{where} has both {' and '.join(present)}; send exactly one")
        spelling = present[0]
        value = data[spelling]
        kind = json_type(value)
        if kind == "string" and self.words is not None:
            if value in self.words:
                return True, self.words[value]
            raise BadRequest(f"{where}.{spelling} must be {self.expected()}, not {show(value)}")
        if kind in self.types or (kind == "integer" and "number" in self.types):
            convert = _CONVERSIONS.get((self.doc_type, kind))
            return True, convert(value) if convert else value
        raise BadRequest(f"{where}.{spelling} must be {self.expected()}, not {_TYPE_WORDS[kind]}")


@dataclass(frozen=True)
class MemberRule:
    """What one envelope member accepts: fixed values, any string, or (data) an object."""

    name: str
    values: frozenset[str] | None
    required: bool

    @classmethod
    def of(cls, spec: Spec, api: Api, name: str, value: str) -> MemberRule:
        path = f"request.envelope.{name}"
        placeholder = value.startswith("«") or name == DATA
        also = [v for e in spec.effects(api.name, path, "value") for v in e.also]
        return cls(
            name=name,
            values=None if placeholder else frozenset({value, *also}),
            required=not spec.effects(api.name, path, "optional"),
        )

    def check(self, message: Mapping[str, Any], api: str) -> None:
        if self.name not in message:
            if self.required:
                raise BadRequest(f"{self.name} is missing")
            return
        value = message[self.name]
        wanted = "object" if self.name == DATA else "string"
        if json_type(value) != wanted:
            raise BadRequest(f"{self.name} must be {_TYPE_WORDS[wanted]}, not {_TYPE_WORDS[json_type(value)]}")
        if self.values is not None and value not in self.values:
            accepted = " or ".join(map(repr, sorted(self.values)))
            raise BadRequest(f"{self.name} {show(value)} is not accepted for {api}; expected {accepted}")


@dataclass(frozen=True)
class ApiRules:
    api: str
    members: tuple[MemberRule, ...]
    fields: tuple[FieldRule, ...]

    @classmethod
    def of(cls, spec: Spec, api: Api) -> ApiRules:
        return cls(
            api=api.name,
            members=tuple(
                MemberRule.of(spec, api, name, value)
                for name, value in api.request_envelope.items()
                if name != SUBTOPIC
            ),
            fields=tuple(FieldRule.of(spec, api, f) for f in api.request_data),
        )

    def read(self, message: Mapping[str, Any]) -> Request:
        sent: Any = message.get(DATA)  # whatever JSON was sent as data; the members' checks refuse a non-object
        data = {}
        try:
            for member in self.members:
                member.check(message, self.api)
            for rule in self.fields:
                present, value = rule.read(sent, DATA)
                if present:
                    data[rule.name] = value
        except BadRequest as exc:
            raise BadRequest(exc.text, api=self.api, data=sent if isinstance(sent, dict) else None) from None
        return Request(self.api, message, data)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class Reader:
    """Turns frames into requests for the APIs this server offers."""

    def __init__(self, spec: Spec, *, cm_version: int | None = None, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.cm_version = cm_version
        self.rules: dict[str, ApiRules] = {}
        self.withdrawn: dict[str, int] = {}
        for api in spec.apis.values():
            if cm_version is not None and api.max_cm_version is not None and cm_version > api.max_cm_version:
                self.withdrawn[api.name] = api.max_cm_version
            else:
                self.rules[api.name] = ApiRules.of(spec, api)

    @property
    def offered(self) -> Iterable[str]:
        return self.rules.keys()

    def _parse(self, frame: str | bytes) -> Any:
        if isinstance(frame, bytes):
            raise BadRequest("binary frames are not read; send each JSON message as a text frame")
        # Cheap bound first: a str of n characters is at least n and at most 4n bytes.
        if len(frame) > self.max_frame_bytes or (
            4 * len(frame) > self.max_frame_bytes and len(frame.encode("utf-8", "surrogatepass")) > self.max_frame_bytes
        ):
            raise BadRequest(f"the frame is larger than the limit of {self.max_frame_bytes} bytes")
        try:
            return json.loads(frame, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"the frame is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except (ValueError, RecursionError) as exc:
            raise BadRequest(f"the frame is not JSON this server reads: {exc}") from None

    def read(self, frame: str | bytes) -> Request:
        message = self._parse(frame)
        if not isinstance(message, dict):
            raise BadRequest(f"the frame is {_TYPE_WORDS[json_type(message)]}, not a JSON object")
        if SUBTOPIC not in message:
            raise BadRequest(f"{SUBTOPIC} is missing")
        subtopic = message[SUBTOPIC]
        if not isinstance(subtopic, str):
            raise BadRequest(f"{SUBTOPIC} must be a string, not {_TYPE_WORDS[json_type(subtopic)]}")
        rules = self.rules.get(subtopic)
        if rules is None:
            if subtopic in self.withdrawn:
                raise BadRequest(
                    f"{SUBTOPIC} {subtopic!r} is not offered: the docs give it up to Campaign Manager "
                    f"{self.withdrawn[subtopic]}, this server acts as {self.cm_version}"
                )
            raise BadRequest(f"unknown {SUBTOPIC} {show(subtopic)}; this server offers {', '.join(self.offered)}")
        return rules.read(message)
