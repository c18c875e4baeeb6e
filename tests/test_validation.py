"""Validation and judging, driven by spec/: the tables, the samples and the registry's effects."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance.schemagen import (
    BODY,
    DIRECTIONS,
    is_placeholder,
    sample_fields,
)
from conformance.spec import Api, Effect, Field, load_spec
from conformance.validation import Judgement, Violation, judge, schema_for, validate

SPEC = load_spec()
TYPE_EXAMPLES: dict[str, Any] = {
    "boolean": True,
    "integer": 7,
    "number": 2.5,
    "string": "text",
    "array": [],
    "object": {},
}
"""One value of each JSON type, for rows whose exact value does not matter."""

Change = Callable[[dict[str, Any], str], None]
"""An edit of the member ``name`` of one object of a message."""


def types_of(value: object) -> set[str]:
    return {t for t in TYPE_EXAMPLES if Draft202012Validator.TYPE_CHECKER.is_type(value, t)}


def ids_of(violations: list[Violation] | tuple[Violation, ...]) -> set[str]:
    return {d for v in violations for d in v.discrepancies}


def direction_of(effect: Effect) -> str:
    return effect.path.split(".")[0]


def member_of(path: str) -> str:
    return path.rsplit(".", 1)[1]


# --- messages built from the tables -------------------------------------------------


def example(field: Field) -> Any:
    """A valid value for one row, honouring its format."""
    item = {c.name: example(c) for c in field.children}
    if field.json_type == "object":
        return item
    if field.json_type == "array":
        return [item]
    if field.format:
        return SPEC.formats[field.format].examples[0]
    return TYPE_EXAMPLES[field.json_type]


def table_message(api: Api, direction: str) -> dict[str, Any]:
    """A message written exactly as the tables say: every envelope row and every table row."""
    message: dict[str, Any] = {}
    for key, value in api.envelope(direction).items():
        message[key] = "lcm-conformance" if is_placeholder(value) else value
    message[BODY[direction]] = {f.name: example(f) for f in api.rows(direction)}
    return message


def table_value(api: Api, path: str) -> str:
    direction, _, key = path.split(".")
    return api.envelope(direction)[key]


def spellings(api: Api, path: str) -> list[str]:
    """A row's table name first, then every other spelling the registry lists for it."""
    others = [a for e in SPEC.effects(api.name, path, "name") for a in e.also]
    return [member_of(path), *others]


def containers(api: Api, message: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The objects of a message that hold the member a spec path names, following every
    spelling on the way and every item of an array."""
    direction, part, *names = path.split(".")
    found = [message] if part == "envelope" else [message.get(part)]
    prefix = f"{direction}.{part}"
    for name in names[:-1]:
        prefix = f"{prefix}.{name}"
        names_here = spellings(api, prefix)
        values = [c[n] for c in found if isinstance(c, dict) for n in names_here if n in c]
        found = [item for v in values for item in (v if isinstance(v, list) else [v])]
    return [c for c in found if isinstance(c, dict)]


# --- what a sample shows ------------------------------------------------------------


def shows(api: Api, effect: Effect, message: dict[str, Any]) -> bool:
    """Whether a message takes a form the effect describes, rather than the table's."""
    name = member_of(effect.path)
    for c in containers(api, message, effect.path):
        values = [c[n] for n in spellings(api, effect.path) if n in c]
        if effect.kind == "value":
            hit = c.get(name) in effect.also and c.get(name) != table_value(api, effect.path)
        elif effect.kind == "optional":
            hit = name not in c
        elif effect.kind == "name":
            hit = bool(values) and name not in c
        elif effect.kind == "type":
            extra = set(effect.also) - {api.field(effect.path).json_type}
            hit = any(types_of(v) & extra for v in values)
        else:
            hit = effect.kind == "shape" and any(isinstance(v, dict) for v in values)
        if hit:
            return True
    return False


def shown_ids(api: Api, direction: str, message: dict[str, Any]) -> set[str]:
    effects = [e for e in SPEC.effects(api.name) if direction_of(e) == direction]
    return {e.discrepancy for e in effects if shows(api, e, message)}


SAMPLES = [
    pytest.param(api, direction, s.message, id=s.id)
    for api in SPEC.apis.values()
    for direction, samples in (("request", api.sample_requests), ("response", api.sample_responses))
    for s in samples
]
API_DIRECTIONS = [
    pytest.param(api, d, id=f"{api.name}.{d}") for api in SPEC.apis.values() for d in DIRECTIONS
]


@pytest.mark.parametrize(("api", "direction", "message"), SAMPLES)
def test_every_sample_is_lenient_valid(api: Api, direction: str, message: dict[str, Any]) -> None:
    assert validate(message, api.name, direction, "lenient") == []


@pytest.mark.parametrize(("api", "direction", "message"), SAMPLES)
def test_a_sample_fails_strict_naming_each_discrepancy_it_shows(
    api: Api, direction: str, message: dict[str, Any]
) -> None:
    expected = shown_ids(api, direction, message)
    strict = validate(message, api.name, direction, "strict")
    assert ids_of(strict) == expected
    assert all(v.discrepancies for v in strict), strict
    verdict = "non_strict" if expected else "pass"
    assert judge(message, api.name, direction) == Judgement(
        verdict, tuple(strict), (), tuple(sorted(expected))
    )


def test_the_samples_show_every_kind_of_effect() -> None:
    """Guard the test above against a blind ``shows``."""
    shown = {d for p in SAMPLES for d in shown_ids(*p.values)}
    effects = [e for d in SPEC.discrepancies.values() for e in d.effects]
    kinds = {e.kind for e in effects if e.discrepancy in shown}
    assert kinds == {e.kind for e in effects} - {"sample_fields"}


@pytest.mark.parametrize(("api", "direction"), API_DIRECTIONS)
def test_a_table_message_passes_both_profiles(api: Api, direction: str) -> None:
    message = table_message(api, direction)
    assert validate(message, api.name, direction, "strict") == []
    assert validate(message, api.name, direction, "lenient") == []
    assert judge(message, api.name, direction).verdict == "pass"


# --- every mandatory field: dropped, or of the wrong type ----------------------------

Where = tuple[Any, ...]
"""A location in a table message: member names, and 0 for an array's item."""


def mandatory(api: Api, direction: str) -> Iterator[tuple[str, str, Where]]:
    """(requirement id, spec path, location) of every mandatory row, envelope rows included."""
    for key in api.envelope(direction):
        yield f"{api.abbr}.{direction}.envelope.{key}", f"{direction}.envelope.{key}", (key,)

    def rows(fields: tuple[Field, ...], where: Where) -> Iterator[tuple[str, str, Where]]:
        for f in fields:
            if f.mandatory:
                yield f.id, f.path, (*where, f.name)
            inner = (*where, f.name, *((0,) if f.json_type == "array" else ()))
            yield from rows(f.children, inner)

    yield from rows(api.rows(direction), (BODY[direction],))


MANDATORY = [
    pytest.param(api, direction, rid, path, where, id=rid)
    for api in SPEC.apis.values()
    for direction in DIRECTIONS
    for rid, path, where in mandatory(api, direction)
]


def json_path(where: Where) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)


def accepted_types(api: Api, path: str) -> set[str]:
    """Every JSON type the lenient profile accepts at a path."""
    if ".envelope." in path:
        base = "object" if member_of(path) in BODY.values() else "string"
    else:
        base = api.field(path).json_type
    effects = SPEC.effects(api.name, path)
    extra = {t for e in effects if e.kind == "type" for t in e.also}
    extra |= {"object" for e in effects if e.kind == "shape"}
    return {base, *extra, *(["integer"] if base == "number" else [])}


def wrong_value(api: Api, path: str) -> Any:
    accepted = accepted_types(api, path)
    return next(v for v in TYPE_EXAMPLES.values() if not types_of(v) & accepted)


def edit(message: dict[str, Any], where: Where, change: Change) -> dict[str, Any]:
    out = copy.deepcopy(message)
    parent = out
    for part in where[:-1]:
        parent = parent[part]
    change(parent, where[-1])
    return out


def set_to(value: Any) -> Change:
    def change(container: dict[str, Any], name: str) -> None:
        container[name] = value

    return change


def drop(container: dict[str, Any], name: str) -> None:
    del container[name]


def reports(violations: list[Violation], where: Where, requirement: str) -> bool:
    return any(v.path == json_path(where) and v.requirement == requirement for v in violations)


@pytest.mark.parametrize(("api", "direction", "requirement", "path", "where"), MANDATORY)
def test_dropping_a_mandatory_field_fails_both_profiles(
    api: Api, direction: str, requirement: str, path: str, where: Where
) -> None:
    message = edit(table_message(api, direction), where, drop)
    optional = {e.discrepancy for e in SPEC.effects(api.name, path, "optional")}
    strict = validate(message, api.name, direction, "strict")
    lenient = validate(message, api.name, direction, "lenient")
    assert reports(strict, where, requirement)
    if optional:  # a registered discrepancy lets this row go missing
        assert lenient == [] and ids_of(strict) == optional
        assert judge(message, api.name, direction).verdict == "non_strict"
    else:
        assert any(v.requirement == requirement for v in lenient)
        assert judge(message, api.name, direction).verdict == "fail"


@pytest.mark.parametrize(("api", "direction", "requirement", "path", "where"), MANDATORY)
def test_a_mandatory_field_of_the_wrong_type_fails_both_profiles(
    api: Api, direction: str, requirement: str, path: str, where: Where
) -> None:
    message = edit(table_message(api, direction), where, set_to(wrong_value(api, path)))
    for profile in ("strict", "lenient"):
        found = validate(message, api.name, direction, profile)
        assert reports(found, where, requirement), found
        assert all(v.message.startswith("expected") for v in found)
        assert ids_of(found) == set(), "no discrepancy explains a type no sample shows"
    assert judge(message, api.name, direction).verdict == "fail"


# --- every registered effect, applied to a table message ----------------------------


def rename_to(alias: str) -> Change:
    def change(container: dict[str, Any], name: str) -> None:
        container[alias] = container.pop(name)

    return change


def unwrap(container: dict[str, Any], name: str) -> None:
    container[name] = container[name][0]


def forms(api: Api, effect: Effect) -> list[Change]:
    """One change per form the effect lets lenient accept in place of the table's."""
    if effect.kind == "value":
        return [set_to(v) for v in effect.also if v != table_value(api, effect.path)]
    if effect.kind == "optional":
        return [drop]
    if effect.kind == "name":
        return [rename_to(alias) for alias in effect.also]
    if effect.kind == "type":
        values = [effect.values if t == "string" and effect.values else [TYPE_EXAMPLES[t]]
                  for t in effect.also]
        return [set_to(v) for vs in values for v in vs]
    assert effect.kind == "shape", effect.kind
    return [unwrap]


def applied(api: Api, effect: Effect, change: Change) -> dict[str, Any]:
    message = table_message(api, direction_of(effect))
    for c in containers(api, message, effect.path):
        change(c, member_of(effect.path))
    return message


EFFECTS = [
    pytest.param(api, e, id=f"{e.discrepancy}-{api.name}-{e.path}")
    for d in SPEC.discrepancies.values()
    for e in d.effects
    for api in map(SPEC.api, e.apis)
    if e.kind != "sample_fields"
]


@pytest.mark.parametrize(("api", "effect"), EFFECTS)
def test_each_form_an_effect_allows_is_non_strict_naming_it(api: Api, effect: Effect) -> None:
    changes = forms(api, effect)
    assert changes
    for change in changes:
        verdict = judge(applied(api, effect, change), api.name, direction_of(effect))
        assert (verdict.verdict, verdict.discrepancies) == ("non_strict", (effect.discrepancy,))


@pytest.mark.parametrize(("api", "effect"), [p for p in EFFECTS if p.values[1].kind == "name"])
def test_every_spelling_at_once_fails_lenient(api: Api, effect: Effect) -> None:
    def duplicate(container: dict[str, Any], name: str) -> None:
        container.update({alias: container[name] for alias in effect.also})

    message = applied(api, effect, duplicate)
    lenient = validate(message, api.name, direction_of(effect), "lenient")
    assert lenient and all(v.discrepancies == (effect.discrepancy,) for v in lenient)
    # strict ignores the undocumented spelling once the table's is there
    assert judge(message, api.name, direction_of(effect)).verdict == "pass"


SAMPLE_FIELDS = [
    pytest.param(api, e, field, id=f"{e.discrepancy}-{api.name}-{field.path}")
    for d in SPEC.discrepancies.values()
    for e in d.effects
    if e.kind == "sample_fields"
    for api in map(SPEC.api, e.apis)
    for top in sample_fields(e)
    for field in top.walk()
]


@pytest.mark.parametrize(("api", "effect", "field"), SAMPLE_FIELDS)
def test_sample_fields_are_typed_if_present_in_both_profiles(
    api: Api, effect: Effect, field: Field
) -> None:
    direction = direction_of(effect)
    message = table_message(api, direction)
    for top in sample_fields(effect):
        message[BODY[direction]][top.name] = example(top)
    assert judge(message, api.name, direction).verdict == "pass"
    where = (BODY[direction], *field.path.removeprefix(effect.path + ".").split("."))
    wrong = next(v for v in TYPE_EXAMPLES.values() if field.json_type not in types_of(v))
    message = edit(message, where, set_to(wrong))
    for profile in ("strict", "lenient"):
        found = validate(message, api.name, direction, profile)
        found_at = [(v.path, v.discrepancies) for v in found]
        assert found_at == [(json_path(where), (effect.discrepancy,))]


# --- the module's contract ----------------------------------------------------------


def test_a_non_object_message_fails_at_the_root() -> None:
    api = next(iter(SPEC.apis.values()))
    verdict = judge(["not", "an", "object"], api.name, "request")
    assert verdict.verdict == "fail" and verdict.discrepancies == ()
    assert [(v.path, v.discrepancies) for v in verdict.strict] == [("$", ())]
    assert verdict.strict[0].message.startswith("expected object; got array")


@pytest.mark.parametrize(("api", "direction", "message"), SAMPLES)
def test_validate_is_sorted_and_repeatable(
    api: Api, direction: str, message: dict[str, Any]
) -> None:
    first = validate(message, api.name, direction, "strict")
    assert first == validate(copy.deepcopy(message), api.name, direction, "strict")
    assert first == sorted(first, key=lambda v: (v.path, v.message, v.requirement or ""))


@pytest.mark.parametrize(("api", "direction"), API_DIRECTIONS)
def test_schema_for_reads_the_committed_schemas(api: Api, direction: str) -> None:
    for profile in ("strict", "lenient"):
        schema = schema_for(api.name, direction, profile)
        assert schema["$id"].endswith(f"/{profile}/{api.name}.{direction}.json")


def test_an_unknown_api_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="NoSuchApi"):
        validate({}, "NoSuchApi", "request", "strict")
