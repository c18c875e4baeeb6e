"""The schema-to-strategy translation: every value drawn validates against its schema,
the domain formats look like the samples, every registered spelling is drawn in lenient
mode, fixtures come from the profile, and anything outside the subset is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from conformance import schemagen
from conformance.paths import data_dir
from conformance.profile import load_profile
from conformance.spec import load_spec
from conformance.strategies import FORMATS, Unsupported, fixture_pools, from_schema, message_strategy

SPEC = load_spec()
SCHEMAS = schemagen.read(data_dir("schemas"))
REGISTRY = schemagen.registry(SCHEMAS.values())
API_FILES = sorted(p for p in SCHEMAS if not p.startswith("common/"))
PROFILE = load_profile(None, {"url": "ws://127.0.0.1:1/", "agents": ["agent-a", "agent-b"],
                              "fixtures": {"call_id": "call-7", "telephony_outcome_id": 42}}, env={})
POOLS = fixture_pools(SPEC, PROFILE)
FAST = settings(max_examples=40, deadline=None, database=None)


def shown(strategy: Any, *predicates: Any, examples: int = 200) -> list[bool]:
    """Whether each predicate held for some value drawn (derandomized: no flakes; unlike
    ``find``, nothing is shrunk)."""
    seen = [False] * len(predicates)

    @settings(FAST, max_examples=examples, derandomize=True)
    @given(strategy)
    def draw(value: Any) -> None:
        for i, predicate in enumerate(predicates):
            seen[i] = seen[i] or bool(predicate(value))

    draw()
    return seen


def _api_direction_profile(path: str) -> tuple[str, str, str]:
    profile, name = path.split("/")
    api, direction, _ = name.split(".")
    return api, direction, profile


@pytest.mark.parametrize("path", API_FILES)
def test_every_value_drawn_validates_against_its_schema(path: str) -> None:
    validator = Draft202012Validator(SCHEMAS[path], registry=REGISTRY)

    @FAST
    @given(from_schema(SCHEMAS[path], pools=POOLS))
    def check(value: Any) -> None:
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, (value, errors)

    check()


def test_every_format_of_the_spec_has_a_domain_strategy_matching_its_pattern() -> None:
    assert set(FORMATS) == set(SPEC.formats)

    for name, fmt in SPEC.formats.items():
        @FAST
        @given(FORMATS[name])
        def check(value: str) -> None:
            assert re.search(fmt.pattern, value), (name, value)

        check()


def test_phone_numbers_come_in_both_documented_forms() -> None:
    assert shown(FORMATS["phone"], lambda p: p.startswith("+"), str.isdigit) == [True, True]


def _variants(api: str) -> list[tuple[str, Any]]:
    """(where, what) for every spelling, envelope value, type and word the registry lists
    for a request: a predicate on a drawn message must hold for some message."""
    out: list[tuple[str, Any]] = []
    for effect in SPEC.effects(api):
        where = effect.path.removeprefix("request.")
        if effect.kind == "name" and where.startswith("data."):
            out += [("name", n) for n in effect.also]
        elif effect.kind == "value" and where.startswith("envelope."):
            out += [(where.removeprefix("envelope."), v) for v in effect.also]
        elif effect.kind == "type" and where.startswith("data."):
            row = SPEC.api(api).field(effect.path)
            out += [("type", (row, t)) for t in effect.also] + [("word", (row, w)) for w in effect.values]
    return out


def _row_values(message: dict[str, Any], row: Any) -> list[Any]:
    return [v for k, v in message["data"].items() if k.casefold() == row.name.casefold()]


JSON_TYPES = {"integer": int, "string": str, "boolean": bool, "number": (int, float)}


def _shows(message: dict[str, Any], where: str, what: Any) -> bool:
    if where == "name":
        return what in message["data"]
    if where == "type":
        row, kind = what
        return any((isinstance(v, JSON_TYPES[kind]) and not isinstance(v, bool)) or (kind == "boolean"
                   and isinstance(v, bool)) for v in _row_values(message, row))
    if where == "word":
        row, word = what
        return word in _row_values(message, row)
    return message.get(where) == what


@pytest.mark.parametrize("api", list(SPEC.apis))
def test_lenient_requests_draw_every_registered_variant(api: str) -> None:
    variants = _variants(api)
    seen = shown(message_strategy(api, "request", "lenient", POOLS),
                 *(lambda m, w=where, x=what: _shows(m, w, x) for where, what in variants))
    assert [v for v, ok in zip(variants, seen, strict=True) if not ok] == []


def test_strict_requests_keep_to_the_tables() -> None:
    for api in SPEC.apis.values():
        @FAST
        @given(message_strategy(api.name, "request", "strict", POOLS))
        def check(message: dict[str, Any]) -> None:
            assert set(message["data"]) == {row.name for row in api.request_data}

        check()


def test_fixture_rows_draw_the_profiles_values_in_the_schemas_type() -> None:
    """Valid requests meet the prerequisites: agents the target knows, the call it knows."""
    grmdc = message_strategy("GetReservedManualDialContact", "request", "lenient", POOLS)
    assert shown(grmdc, lambda m: m["data"]["AgentID"] == "agent-a", lambda m: m["data"]["AgentID"] == "agent-b",
                 lambda m: m["data"]["AgentID"] not in PROFILE.agents) == [True, True, False]

    def outcome(m: dict[str, Any]) -> Any:
        return m["data"].get("OutcomeId", m["data"].get("OutcomeID"))

    scoc = message_strategy("SetCallOutcomeWithComments", "request", "lenient", POOLS)
    assert shown(scoc, lambda m: outcome(m) == 42, lambda m: outcome(m) == "42") == [True, True]

    @FAST
    @given(scoc)
    def check(message: dict[str, Any]) -> None:
        assert message["data"]["callid"] == "call-7" and outcome(message) in (42, "42")

    check()


def test_a_pool_value_the_schema_forbids_is_not_drawn() -> None:
    schema = {"type": "string", "pattern": "^[0-9]+$", "x-requirement": "R"}
    drawn = from_schema(schema, pools={"R": ("abc", "123")})

    @FAST
    @given(drawn)
    def check(value: str) -> None:
        assert value == "123"

    check()


def test_conditions_on_type_and_presence_and_a_none_of_spelling_group() -> None:
    """What the generator emits for an optional row with another spelling, written out."""
    spelled = [{"required": ["Name"]}, {"required": ["name"]}]
    schema = {
        "type": "object",
        "properties": {
            "flag": {"type": ["boolean", "string"], "allOf": [{"if": {"type": "string"}, "then": {"enum": ["Yes"]}}]},
            "Name": {"type": "integer"},
        },
        "allOf": [
            {"oneOf": [*spelled, {"not": {"anyOf": spelled}}], "properties": {"name": {"type": "string"}}},
            {"if": {"not": {"required": ["Name"]}}, "then": {"properties": {"name": {"const": "lower"}}}},
        ],
    }
    validator = Draft202012Validator(schema)
    drawn = from_schema(schema, registry=REGISTRY)

    @settings(FAST, max_examples=200)
    @given(drawn)
    def check(value: dict[str, Any]) -> None:
        assert not list(validator.iter_errors(value)), value

    check()
    spellings = [lambda v, p=present: {"Name", "name"} & set(v) == p for present in ({"Name"}, {"name"}, set())]
    assert shown(drawn, *spellings, lambda v: v.get("flag") == "Yes") == [True] * 4


@pytest.mark.parametrize("schema", [
    {"type": "string", "minLength": 3},
    {"not": {"type": "string"}},
    {"type": "object", "oneOf": [{"type": "object"}, {"required": ["a"]}], "properties": {"a": {}}},
    {"type": "object", "required": ["a"]},
    {"if": {"const": 1}, "then": {"type": "integer"}, "type": "object"},
])
def test_what_the_subset_lacks_is_refused_not_drawn_wrong(schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        from_schema(schema, registry=REGISTRY).example()


