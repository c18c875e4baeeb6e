"""Hypothesis strategies for the messages the generated JSON Schemas describe.

hypothesis-jsonschema does not support draft 2020-12, trips health checks on
pattern-heavy schemas and is no longer released, so this module translates the subset of
JSON Schema that :mod:`conformance.schemagen` emits (``$ref``, ``allOf``, ``type``,
``const``, ``enum``, ``pattern``, ``properties``, ``required``, ``items``, ``oneOf`` of
spelling groups, ``if``/``then`` on a type or on a member's presence) into strategies.
Anything else raises :class:`Unsupported` when the strategy is built, never a value that
would not validate: every value drawn validates against its schema (the tests check it
for every schema file).

So that generated requests look real, the value formats of ``spec/formats.yaml`` get
domain strategies (LCM keys, phone numbers in both documented forms, doc-format times)
and table rows that carry an agent id or a fixture take their values from the target
profile (:func:`fixture_pools`). Pools are keyed by ``x-requirement``, so every spelling
the lenient profile registers for a row draws from the same pool.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urldefrag, urljoin

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from referencing import Registry

from . import schemagen
from .paths import data_dir
from .profile import _AGENT_SAMPLES, _FIXTURE_SAMPLES, Profile
from .spec import Spec
from .validation import schema_for

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples", "default"})
_KEYWORDS = frozenset(
    {"$ref", "allOf", "type", "const", "enum", "pattern", "properties", "required", "items", "oneOf", "if", "then"}
)
MAX_ITEMS = 3
"""Arrays drawn have at most this many items: enough to tell an array from one object."""

_DIGITS = string.digits
_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)
"""Free text for rows without a format: printable, as a client would send."""


class Unsupported(ValueError):
    """The schema uses a keyword (or a combination) outside the translated subset."""


Pools = Mapping[str, Sequence[str]]
"""Requirement id of a table row -> the values it takes, as text (each converted to the
JSON types the schema allows there; a value the schema forbids is left out)."""


def _phone() -> SearchStrategy[str]:
    bare = st.text(_DIGITS, min_size=10, max_size=10)
    country = st.sampled_from(("1", "44", "49", "91"))
    return st.one_of(bare, st.builds("+{}{}".format, country, st.text(_DIGITS, min_size=9, max_size=10)))


def _lcm_key() -> SearchStrategy[str]:
    return st.lists(st.integers(0, 9999), min_size=7, max_size=7).map(lambda parts: "|".join(map(str, parts)))


def _doc_time() -> SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59))
    return moments.map(lambda moment: moment.strftime("%m/%d/%Y %H:%M:%S"))


FORMATS: Mapping[str, SearchStrategy[str]] = {"lcm_key": _lcm_key(), "doc_time": _doc_time(), "phone": _phone()}
"""Domain strategies for the value formats of ``spec/formats.yaml``, by format name. A
format without one falls back to its pattern (``st.from_regex``)."""


COUNTS = ("1", "2", "3", "0")
"""NumberOfContactsRequired values: small, so a run reserves few contacts."""


def fixture_pools(spec: Spec, profile: Profile) -> dict[str, tuple[str, ...]]:
    """Pools for the rows whose values the target must know, so that a valid request meets
    the pages' prerequisites (an agent logged in, a call it knows): the agent ids, the call
    id and its account, outcome ids and the phone number, from the target profile; and the
    contact count (small numbers). The rows are those the profile's defaults come from."""
    fixtures = vars(profile.fixtures)
    pools: dict[str, tuple[str, ...]] = {
        spec.api(api).field(f"request.data.{row}").id: (str(fixtures[name]),)
        for name, (api, row) in _FIXTURE_SAMPLES.items()
    }
    for api, row in _AGENT_SAMPLES:
        pools[spec.api(api).field(f"request.data.{row}").id] = profile.agents
    count = spec.api("GetReservedManualDialContact").field("request.data.NumberOfContactsRequired")
    pools[count.id] = COUNTS
    return pools


# ------------------------------------------------------------------------- translation


@cache
def _registry() -> Registry:
    return schemagen.registry(schemagen.read(data_dir("schemas")).values())


def message_strategy(
    api: str, direction: str, profile: str, pools: Pools | None = None
) -> SearchStrategy[dict[str, Any]]:
    """Messages valid against one committed schema (``profile`` "strict" or "lenient")."""
    return from_schema(schema_for(api, direction, profile), registry=_registry(), pools=pools)


def from_schema(
    schema: Mapping[str, Any],
    *,
    registry: Registry | None = None,
    pools: Pools | None = None,
    formats: Mapping[str, SearchStrategy[str]] = FORMATS,
) -> SearchStrategy[Any]:
    """A strategy of values valid against ``schema``; ``$ref`` resolves through ``registry``
    (by default the committed schemas), relative to the schema's ``$id``."""
    translator = _Translator(registry or _registry(), pools or {}, formats)
    return translator.strategy([(schema, schema.get("$id", ""))])


Node = tuple[Mapping[str, Any], str]
"""A subschema and the base URI its ``$ref`` resolves against."""


@dataclass
class _Conjunction:
    """Everything the subschemas that apply to one value ask of it, gathered."""

    types: tuple[str, ...] | None = None
    """The JSON types allowed, in the order the first schema lists them (the table's first)."""
    enum: list[Any] | None = None
    patterns: list[str] = field(default_factory=list)
    format: str | None = None
    requirement: str | None = None
    properties: dict[str, list[Node]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    one_of: list[list[Node]] = field(default_factory=list)
    conditions: list[tuple[Mapping[str, Any], Node]] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)


def _intersect(a: tuple[str, ...] | None, b: Sequence[str]) -> tuple[str, ...]:
    """The types both allow, in a's order; an integer is a number."""
    if a is None:
        return tuple(b)
    both = [t for t in a if t in b or (t == "integer" and "number" in b)]
    both += [t for t in b if t == "integer" and "number" in a and t not in both]
    return tuple(both)


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    kinds: dict[type[Any], str] = {str: "string", list: "array", dict: "object"}
    return kinds[type(value)]


def _is(value: Any, json_type: str) -> bool:
    kind = _type_of(value)
    return kind == json_type or (json_type == "number" and kind == "integer")


def _same(a: Any, b: Any) -> bool:
    return _type_of(a) == _type_of(b) and a == b


def _coerce(text: str, json_type: str) -> tuple[bool, Any]:
    """A pool value (text) as a value of one JSON type, if it reads as one."""
    if json_type == "string":
        return True, text
    if json_type in ("integer", "number") and re.fullmatch(r"-?[0-9]+", text):
        return True, int(text)
    return False, None


class _Translator:
    def __init__(self, registry: Registry, pools: Pools, formats: Mapping[str, SearchStrategy[str]]) -> None:
        self.resolver = registry.resolver()
        self.pools = pools
        self.formats = formats
        self.format_prefix = schemagen.BASE_URI + schemagen.FORMATS_FILE + "#/$defs/"

    # ---- gathering

    def gather(self, nodes: Iterable[Node], into: _Conjunction | None = None) -> _Conjunction:
        conj = into or _Conjunction()
        for node, base in nodes:
            self._add(node, base, conj)
        return conj

    def _add(self, node: Mapping[str, Any], base: str, conj: _Conjunction) -> None:
        unknown = _keywords(node) - _KEYWORDS
        if unknown:
            raise Unsupported(f"keyword(s) {sorted(unknown)} are outside the translated subset")
        if "then" in node and "if" not in node:
            raise Unsupported("then without if")
        if conj.requirement is None and isinstance(node.get("x-requirement"), str):
            conj.requirement = node["x-requirement"]
        if "$ref" in node:
            target = urljoin(base, node["$ref"])
            if target.startswith(self.format_prefix):
                conj.format = target.removeprefix(self.format_prefix)
            self._add(self.resolver.lookup(target).contents, urldefrag(target)[0], conj)
        for branch in node.get("allOf", ()):
            self._add(branch, base, conj)
        if "type" in node:
            wanted = node["type"]
            conj.types = _intersect(conj.types, [wanted] if isinstance(wanted, str) else wanted)
        for values in ([node["const"]] if "const" in node else None, node.get("enum")):
            if values is not None:
                conj.enum = [v for v in values if conj.enum is None or any(_same(v, w) for w in conj.enum)]
        if "pattern" in node:
            conj.patterns.append(node["pattern"])
        for name, sub in node.get("properties", {}).items():
            conj.properties.setdefault(name, []).append((sub, base))
        conj.required.update(node.get("required", ()))
        if "items" in node:
            conj.items.append((node["items"], base))
        if "oneOf" in node:
            conj.one_of.append([(b, base) for b in node["oneOf"]])
        if "if" in node:
            conj.conditions.append((node["if"], (node.get("then", {}), base)))

    # ---- building

    def strategy(self, nodes: Iterable[Node]) -> SearchStrategy[Any]:
        conj = self.gather(nodes)
        types = conj.types
        if types is None:
            types = tuple(dict.fromkeys(map(_type_of, conj.enum))) if conj.enum is not None else JSON_TYPES
        branches = [s for t in types if (s := self.typed(conj, t)) is not None]
        if not branches:
            raise Unsupported(f"no value satisfies the schema at requirement {conj.requirement}")
        return st.one_of(branches)

    def typed(self, conj: _Conjunction, json_type: str) -> SearchStrategy[Any] | None:
        """Values of one JSON type."""
        conj = self.for_type(conj, json_type)
        if conj.enum is not None:
            values = [v for v in conj.enum if _is(v, json_type) and _matches(v, conj.patterns)]
            return st.sampled_from(values) if values else None
        pooled = self.pooled(conj, json_type)
        if pooled is not None:
            return pooled
        if json_type == "null":
            return st.none()
        if json_type == "boolean":
            return st.booleans()
        if json_type == "integer":
            return st.integers(0, 10**6)
        if json_type == "number":
            return st.one_of(st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False, allow_infinity=False))
        if json_type == "string":
            return self.string(conj)
        if json_type == "array":
            return st.lists(self.strategy(conj.items), max_size=MAX_ITEMS)
        return self.object(conj)

    def for_type(self, conj: _Conjunction, json_type: str) -> _Conjunction:
        """The conjunction with the ``then`` of every ``if`` on this JSON type applied (a
        ``then`` may bring more); tests of member presence are left to objects."""
        out = _copy(conj)
        pending, out.conditions = out.conditions, []
        while pending:
            test, then = pending.pop(0)
            if set(test) != {"type"}:
                if _presence_test(test) is None:
                    raise Unsupported(f"if {test} is outside the translated subset")
                out.conditions.append((test, then))
            elif _is_type_test_true(test["type"], json_type):
                known = len(out.conditions)
                self.gather([then], out)
                pending += out.conditions[known:]
                del out.conditions[known:]
        return out

    def pooled(self, conj: _Conjunction, json_type: str) -> SearchStrategy[Any] | None:
        pool = self.pools.get(conj.requirement or "", ())
        known = [v for ok, v in (_coerce(t, json_type) for t in pool) if ok and _matches(v, conj.patterns)]
        return st.sampled_from(known) if known else None

    def string(self, conj: _Conjunction) -> SearchStrategy[str]:
        if conj.format is not None and conj.format in self.formats:
            base = self.formats[conj.format]
        elif conj.patterns:
            base = st.from_regex(conj.patterns[0], fullmatch=True)
        else:
            return _TEXT
        return base.filter(lambda s: _matches(s, conj.patterns)) if conj.patterns else base

    def object(self, conj: _Conjunction) -> SearchStrategy[dict[str, Any]]:
        plans = _presence_plans(conj)
        if missing := conj.required - conj.properties.keys():
            raise Unsupported(f"required member(s) {sorted(missing)} have no schema")
        for test, (then, _) in conj.conditions:
            if _presence_test(test) is not None and _keywords(then) - {"properties"}:
                raise Unsupported(f"then {sorted(then)} is outside the translated subset")
        members: dict[tuple[str, tuple[int, ...]], SearchStrategy[Any]] = {}

        def member(name: str, applied: tuple[int, ...]) -> SearchStrategy[Any]:
            key = (name, applied)
            if key not in members:
                extra = [(conj.conditions[i][1][0].get("properties", {}).get(name), conj.conditions[i][1][1])
                         for i in applied]
                members[key] = self.strategy([*conj.properties[name], *((n, b) for n, b in extra if n is not None)])
            return members[key]

        @st.composite
        def draw_object(draw: st.DrawFn) -> dict[str, Any]:
            must: set[str] = set(conj.required)
            forbid: set[str] = set()
            for options in plans:
                chosen_must, chosen_forbid = draw(st.sampled_from(options))
                must |= chosen_must
                forbid |= chosen_forbid
            names = [n for n in conj.properties if n not in forbid and (n in must or draw(st.booleans()))]
            applied = tuple(
                i for i, (test, _) in enumerate(conj.conditions)
                if (p := _presence_test(test)) is not None and p(set(names))
            )
            return {name: draw(member(name, applied)) for name in names}

        return draw_object()


def _copy(conj: _Conjunction) -> _Conjunction:
    return _Conjunction(
        conj.types, None if conj.enum is None else list(conj.enum), list(conj.patterns), conj.format,
        conj.requirement, {k: list(v) for k, v in conj.properties.items()}, set(conj.required),
        list(conj.one_of), list(conj.conditions), list(conj.items),
    )


def _is_type_test_true(tested: str | list[str], json_type: str) -> bool:
    names = [tested] if isinstance(tested, str) else tested
    return json_type in names or (json_type == "integer" and "number" in names)


def _matches(value: Any, patterns: Sequence[str]) -> bool:
    return not isinstance(value, str) or all(re.search(p, value) for p in patterns)


def _keywords(node: Mapping[str, Any]) -> set[str]:
    """The keys of a subschema that constrain, annotations and ``x-`` extensions aside."""
    return {k for k in node if k not in _ANNOTATIONS and not k.startswith("x-")}


def _required_names(node: Mapping[str, Any]) -> frozenset[str] | None:
    """The names of a branch that is only ``{"required": [...]}`` (annotations aside)."""
    if _keywords(node) == {"required"}:
        return frozenset(node["required"])
    return None


def _presence_test(test: Mapping[str, Any]) -> Callable[[set[str]], bool] | None:
    """An ``if`` on which members are present, as a predicate on the member names; else None."""
    names = _required_names(test)
    if names is not None:
        return lambda present: names <= present
    inner = test.get("not") if _keywords(test) == {"not"} else None
    negated = _required_names(inner) if isinstance(inner, Mapping) else None
    if negated is not None:
        return lambda present: not negated <= present
    return None


def _none_of(node: Mapping[str, Any]) -> frozenset[str] | None:
    """The names of a branch ``{"not": {"anyOf": [{"required": [a]}, ...]}}`` (none present)."""
    inner = node.get("not") if _keywords(node) == {"not"} else None
    branches = inner.get("anyOf") if isinstance(inner, Mapping) and _keywords(inner) == {"anyOf"} else None
    names = [_required_names(b) for b in branches or ()]
    if not names or any(n is None or len(n) != 1 for n in names):
        return None
    return frozenset().union(*names)  # type: ignore[arg-type]


def _presence_plans(conj: _Conjunction) -> list[list[tuple[frozenset[str], frozenset[str]]]]:
    """For each ``oneOf`` spelling group, the (must, must-not) member sets that make exactly
    one branch hold, one per branch in branch order (so the table's spelling shrinks first)."""
    plans = []
    for group in conj.one_of:
        kinds = []
        for node, _ in group:
            if (names := _required_names(node)) is not None and len(names) == 1:
                kinds.append(("all", names))
            elif (names := _none_of(node)) is not None:
                kinds.append(("none", names))
            else:
                raise Unsupported("a oneOf branch other than a spelling (required) or none of them")
        spelled = frozenset().union(*(n for k, n in kinds if k == "all"))
        options = []
        for kind, names in kinds:
            if kind == "all":
                options.append((names, spelled - names))
            else:
                if not spelled <= names:
                    raise Unsupported("a none-of branch that leaves a spelling out")
                options.append((frozenset(), names))
        plans.append(options)
    return plans
