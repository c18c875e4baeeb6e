"""Validate messages against the committed schemas and judge them.

A message is judged against the strict profile first (the tables), then, only if
that fails, against the lenient one (the tables and the samples). Each violation
names the requirement it breaks and, from the schemas' ``x-discrepancies*``
annotations, the registered discrepancies that explain it, so a NON-STRICT verdict
can say which discrepancy the message relies on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, cast

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry

from . import schemagen
from .paths import data_dir

Profile = Literal["strict", "lenient"]
Direction = Literal["request", "response"]
Verdict = Literal["pass", "non_strict", "fail"]
INFERRED_KEYWORDS = frozenset({"pattern"})
"""Schema keywords that only the project's inference sets (the value formats)."""

_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")  # sorted
_TYPE_CHECKER = Draft202012Validator.TYPE_CHECKER
_SHOWN = 60
"""How many characters of an arrived value a message quotes."""


@dataclass(frozen=True)
class Violation:
    """One way a message departs from a schema."""

    path: str
    message: str
    requirement: str | None
    discrepancies: tuple[str, ...]
    inferred: bool = False
    """A value format generalised from sample values (spec/formats.yaml): the tables say
    only String, so breaking it is recorded, never judged."""
    keyword: str = ""
    """The JSON Schema keyword that failed (``required`` for a missing mandatory row)."""


@dataclass(frozen=True)
class Judgement:
    """The verdict on one message, with the violations it rests on.

    ``discrepancies`` is filled for ``non_strict`` only: the registered
    discrepancies the message relies on. A ``fail`` keeps its reasons in the
    violations, each with its own ids.
    """

    verdict: Verdict
    strict: tuple[Violation, ...]
    lenient: tuple[Violation, ...]
    discrepancies: tuple[str, ...]
    inferred: tuple[Violation, ...] = ()
    """Departures from an inferred value format: shown, never part of the verdict."""


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    return schemagen.read(data_dir("schemas"))


@cache
def _registry() -> Registry:
    return schemagen.registry(_schemas().values())


@cache
def schema_for(api: str, direction: Direction, profile: Profile) -> dict[str, Any]:
    """The committed schema of one API, direction and profile (shared: do not mutate)."""
    path = schemagen.schema_path(api, direction, profile)
    try:
        return _schemas()[path]
    except KeyError:
        raise KeyError(f"no schema {path} in {data_dir('schemas')}") from None


@cache
def _validator_class() -> type[Draft202012Validator]:
    """Draft 2020-12 whose ``$ref`` is resolved once per process for each base URI and
    reference: jsonschema resolves it anew on every use (a URI join and a pointer walk),
    a third of a message's validation. Sound because every validator of this class
    shares the one :func:`_registry`, and the schemas use no ``$dynamicRef``."""
    resolved: dict[tuple[str, str], Any] = {}  # referencing's Resolved

    def ref(validator: Any, ref: str, instance: object, schema: object) -> Iterator[ValidationError]:
        resolver = validator._resolver  # jsonschema's own resolver of the current scope
        key = (resolver._base_uri, ref)
        found = resolved.get(key)
        if found is None:
            found = resolved[key] = resolver.lookup(ref)
        yield from validator.descend(instance, found.contents, resolver=found.resolver)

    extended = validators.extend(Draft202012Validator, {"$ref": ref})  # type: ignore[no-untyped-call]
    return cast("type[Draft202012Validator]", extended)


@cache
def _validator(api: str, direction: Direction, profile: Profile) -> Draft202012Validator:
    return _validator_class()(schema_for(api, direction, profile), registry=_registry())


def validate(message: object, api: str, direction: Direction, profile: Profile) -> list[Violation]:
    """Every violation of one profile's schema, sorted; empty when the message is valid."""
    validator = _validator(api, direction, profile)
    found = [v for error in validator.iter_errors(message) for v in _violations(error, validator)]
    return sorted(set(_without_shadowed(found)), key=_order)


def _order(v: Violation) -> tuple[str, str, str]:
    return v.path, v.message, v.requirement or ""


def judge(message: object, api: str, direction: Direction) -> Judgement:
    """pass if strict holds; else non_strict if lenient holds; else fail.

    Violations of an inferred value format count for neither: they come back apart.
    """
    found = validate(message, api, direction, "strict")
    inferred = tuple(v for v in found if v.inferred)
    strict = tuple(v for v in found if not v.inferred)
    if not strict:
        return Judgement("pass", (), (), (), inferred)
    lenient = tuple(v for v in validate(message, api, direction, "lenient") if not v.inferred)
    if lenient:
        return Judgement("fail", strict, lenient, (), inferred)
    ids = sorted({d for v in strict for d in v.discrepancies})
    return Judgement("non_strict", strict, (), tuple(ids), inferred)


def _without_shadowed(found: list[Violation]) -> Iterator[Violation]:
    """A value of the wrong type is reported once, as a type error."""
    mistyped = {v.path for v in found if v.keyword == "type"}
    return (v for v in found if v.keyword == "type" or v.path not in mistyped)


def _violations(
    error: ValidationError, validator: Draft202012Validator
) -> Iterator[Violation]:
    """The violations one schema error stands for (each names the keyword it is shown as)."""
    keyword = str(error.validator)
    nodes = _schema_chain(error, validator)
    requirement = _nearest(nodes, "x-requirement")
    path = list(error.absolute_path)
    node = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "required":
        for name in _missing(error):
            member = node.get("properties", {}).get(name, {})
            yield Violation(
                _json_path([*path, name]),
                f"expected the mandatory field {_shown(name)}; got {_members(error.instance)}",
                member.get("x-requirement", requirement),
                tuple(node.get("x-discrepancies-by-property", {}).get(name, ())),
                keyword="required",
            )
    elif keyword == "oneOf" and _spellings(node):
        if not isinstance(error.instance, dict):
            return  # the spellings of a member mean nothing on a non-object: its type error says it
        names = _spellings(node)
        yield Violation(
            _json_path([*path, names[0]]),
            f"expected exactly one of {_quoted(names)}; got {_present(error.instance, names)}",
            requirement,
            tuple(node.get("x-discrepancies", ())),
            keyword="oneOf" if any(n in error.instance for n in names) else "required",
        )
    else:
        yield Violation(
            _json_path(path),
            _MESSAGES.get(keyword, _default)(error, node),
            requirement,
            _explaining(keyword, node, error.instance),
            keyword in INFERRED_KEYWORDS,
            keyword,
        )


def _schema_chain(error: ValidationError, validator: Draft202012Validator) -> list[dict[str, Any]]:
    """The API's own subschemas from its root down along the failed keyword's schema path,
    then the subschema holding that keyword.

    A ``$ref`` is transparent in the path, so a path into a shared piece (the envelope,
    a format) goes on with the same member names: the walk stays on the API's own node for
    that member, which is where the annotations are; it stops where the API's file ends.
    """
    node: Any = validator.schema
    chain = [node]
    for key in list(error.absolute_schema_path)[:-1]:
        if isinstance(node, dict) and key in node:  # noqa: SIM114 -- apart, so mypy knows a list's key is an int
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            break
        if isinstance(node, dict):
            chain.append(node)
    if isinstance(error.schema, dict) and error.schema is not chain[-1]:
        chain.append(error.schema)
    return chain


def _nearest(nodes: list[dict[str, Any]], key: str) -> str | None:
    for node in reversed(nodes):
        value = node.get(key)
        if isinstance(value, str):
            return value
    return None


def _explaining(keyword: str, node: dict[str, Any], instance: object) -> tuple[str, ...]:
    """The discrepancies that explain what arrived: the node's map by JSON type or by value
    where it has one for the failed keyword, else every discrepancy on the node."""
    if keyword == "type" and "x-discrepancies-by-type" in node:
        by_type = node["x-discrepancies-by-type"]
        return tuple(sorted({d for t in _types_of(instance) for d in by_type.get(t, ())}))
    if keyword in ("const", "enum") and "x-discrepancies-by-value" in node:
        by_value = node["x-discrepancies-by-value"]
        return tuple(by_value.get(instance, ())) if isinstance(instance, str) else ()
    return tuple(node.get("x-discrepancies", ()))


def _missing(error: ValidationError) -> list[str]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    required = cast("list[str]", error.validator_value)  # set on every error iter_errors yields
    return [name for name in required if name not in instance]


def _spellings(node: dict[str, Any]) -> list[str]:
    """The spellings of a name group: a oneOf whose branches each require one name."""
    names = [b["required"][0] for b in node.get("oneOf", ()) if len(b.get("required", ())) == 1]
    return names if len(names) > 1 else []


def _present(instance: dict[str, Any], names: list[str]) -> str:
    present = [n for n in names if n in instance]
    return _quoted(present) if present else "none of them"


def _types_of(instance: object) -> list[str]:
    return [t for t in _JSON_TYPES if _TYPE_CHECKER.is_type(instance, t)]


def _json_path(parts: Iterable[object]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(map(_shown, names))


def _members(instance: object) -> str:
    if isinstance(instance, dict) and instance:
        return f"an object with members {_quoted(sorted(instance))}"
    return "an object with no members"


def _type(error: ValidationError, node: dict[str, Any]) -> str:
    wanted = error.validator_value
    wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
    # the narrowest JSON type (integer sorts before number), or the Python type of a non-JSON value
    kind = next(iter(_types_of(error.instance)), type(error.instance).__name__)
    return f"expected {wanted}; got {kind} {_shown(error.instance)}"


def _const(error: ValidationError, node: dict[str, Any]) -> str:
    return f"expected {_shown(error.validator_value)}; got {_shown(error.instance)}"


def _enum(error: ValidationError, node: dict[str, Any]) -> str:
    wanted = ", ".join(map(_shown, cast("list[Any]", error.validator_value)))  # set by iter_errors
    return f"expected one of {wanted}; got {_shown(error.instance)}"


def _pattern(error: ValidationError, node: dict[str, Any]) -> str:
    title = node.get("title", "a string")
    return f"expected {title} matching {error.validator_value}; got {_shown(error.instance)}"


def _default(error: ValidationError, node: dict[str, Any]) -> str:
    return error.message


_MESSAGES = {"type": _type, "const": _const, "enum": _enum, "pattern": _pattern}
