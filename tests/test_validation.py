"""Validation and judging, driven by spec/: the tables, the samples and the registry's effects."""

from __future__ import annotations

import copy
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator

from conformance.schemagen import BODY, DIRECTIONS, envelope_of, is_placeholder, rows_of, sample_fields
from conformance.spec import Api, Effect, Field, load_spec
from conformance.validation import Judgement, Violation, judge, schema_for, validate

SPEC = load_spec()
TYPE_EXAMPLES: dict[str, Any] = {"boolean": True, "integer": 7, "number": 2.5, "string": "text", "array": [], "object": {}}
"""One value of each JSON type, for fields whose exact value does not matter."""


def types_of(value: object) -> set[str]:
    return {t for t in TYPE_EXAMPLES if Draft202012Validator.TYPE_CHECKER.is_type(value, t)}


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
    for key, value in envelope_of(api, direction).items():
        message[key] = "lcm-conformance" if is_placeholder(value) else value
    message[BODY[direction]] = {f.name: example(f) for f in rows_of(api, direction)}
    return message


def spellings(api: Api, path: str) -> list[str]:
    """A field's table name first, then every spelling the registry lists for it."""
    return [path.rsplit(".", 1)[1], *(a for e in SPEC.effects(api.name, path, "name") for a in e.also)]


def containers(api: Api, message: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The objects of a message that hold the member a spec path names (any spelling on the way)."""
    _, part, *names = path.split(".")
    found = [message] if part == "envelope" else [message.get(part)]
    for depth in range(len(names) - 1):
        step = f"{path.split('.', 2)[0]}.{part}.{'.'.join(names[: depth + 1])}"
        values = [c.get(n) for c in found if isinstance(c, dict) for n in spellings(api, step) if n in c]
        found = [i for v in values for i in (v if isinstance(v, list) else [v])]
    return [c for c in found if isinstance(c, dict)]


def present(api: Api, container: dict[str, Any], path: str) -> list[str]:
    return [n for n in spellings(api, path) if n in container]


# --- what a sample shows ------------------------------------------------------------


def table_value(api: Api, path: str) -> str:
    direction, _, key = path.split(".")
    return envelope_of(api, direction)[key]


def table_type(api: Api, path: str) -> str:
    return api.field(path).json_type


def shows(api: Api, effect: Effect, message: dict[str, Any]) -> bool:
    """Whether a message takes the form a discrepancy effect describes (not the table's)."""
    name = effect.path.rsplit(".", 1)[1]
    for c in containers(api, message, effect.path):
        names = present(api, c, effect.path)
        if effect.kind == "value" and c.get(name) in effect.also and c.get(name) != table_value(api, effect.path):
            return True
        if effect.kind == "optional" and name not in c:
            return True
        if effect.kind == "name" and names and name not in names:
            return True
        if effect.kind == "type" and any(types_of(c[n]) & set(effect.also) - {table_type(api, effect.path)} for n in names):
            return True
        if effect.kind == "shape" and any(isinstance(c[n], dict) for n in names):
            return True
    return False


def shown_ids(api: Api, direction: str, message: dict[str, Any]) -> set[str]:
    return {e.discrepancy for e in SPEC.effects(api.name) if e.path.startswith(direction + ".") and shows(api, e, message)}


SAMPLES = [
    pytest.param(api, direction, s.message, id=s.id)
    for api in SPEC.apis.values()
    for direction, samples in (("request", api.sample_requests), ("response", api.sample_responses))
    for s in samples
]
API_DIRECTIONS = [pytest.param(api, d, id=f"{api.name}.{d}") for api in SPEC.apis.values() for d in DIRECTIONS]


def ids_of(violations: list[Violation] | tuple[Violation, ...]) -> set[str]:
    return {d for v in violations for d in v.discrepancies}


@pytest.mark.parametrize(("api", "direction", "message"), SAMPLES)
def test_every_sample_is_lenient_valid(api: Api, direction: str, message: dict[str, Any]) -> None:
    assert validate(message, api.name, direction, "lenient") == []


@pytest.mark.parametrize(("api", "direction", "message"), SAMPLES)
def test_sample_fails_strict_naming_each_discrepancy_it_shows(api: Api, direction: str, message: dict[str, Any]) -> None:
    expected = shown_ids(api, direction, message)
    strict = validate(message, api.name, direction, "strict")
    assert ids_of(strict) == expected
    assert all(v.discrepancies for v in strict), strict
    verdict = judge(message, api.name, direction)
    assert verdict == Judgement("non_strict" if expected else "pass", tuple(strict), (), tuple(sorted(expected)))


def test_the_registry_is_exercised_by_the_samples() -> None:
    """Guard the test above: most samples contradict a table somewhere."""
    shown = {d for p in SAMPLES for d in shown_ids(*p.values)}
    assert shown >= {e.discrepancy for d in SPEC.discrepancies.values() for e in d.effects if e.kind != "sample_fields"}


@pytest.mark.parametrize(("api", "direction"), API_DIRECTIONS)
def test_table_message_passes_both_profiles(api: Api, direction: str) -> None:
    message = table_message(api, direction)
    assert validate(message, api.name, direction, "strict") == []
    assert validate(message, api.name, direction, "lenient") == []
    assert judge(message, api.name, direction).verdict == "pass"


# --- every mandatory field: dropped, or of the wrong type ----------------------------


def mandatory(api: Api, direction: str) -> Iterator[tuple[str, str, tuple[Any, ...]]]:
    """(requirement id, spec path, location in a table message) of every mandatory row."""
    for key in envelope_of(api, direction):
        yield f"{api.abbr}.{direction}.envelope.{key}", f"{direction}.envelope.{key}", (key,)

    def rows(fields: tuple[Field, ...], where: tuple[Any, ...]) -> Iterator[tuple[str, str, tuple[Any, ...]]]:
        for f in fields:
            if f.mandatory:
                yield f.id, f.path, (*where, f.name)
            yield from rows(f.children, (*where, f.name, *((0,) if f.json_type == "array" else ())))

    yield from rows(rows_of(api, direction), (BODY[direction],))


MANDATORY = [
    pytest.param(api, direction, rid, path, where, id=rid)
    for api in SPEC.apis.values()
    for direction in DIRECTIONS
    for rid, path, where in mandatory(api, direction)
]


def json_path(where: tuple[Any, ...]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)


def accepted_types(api: Api, path: str) -> set[str]:
    """Every JSON type the lenient profile accepts at a path."""
    if ".envelope." in path:
        base = {"object" if path.endswith(tuple(f".{b}" for b in BODY.values())) else "string"}
    else:
        base = {table_type(api, path)}
    effects = SPEC.effects(api.name, path)
    return base | {t for e in effects if e.kind == "type" for t in e.also} | {"object" for e in effects if e.kind == "shape"}


def wrong_value(api: Api, path: str) -> Any:
    accepted = accepted_types(api, path) | ({"integer"} if "number" in accepted_types(api, path) else set())
    return next(v for v in TYPE_EXAMPLES.values() if not types_of(v) & accepted)


def edit(message: dict[str, Any], where: tuple[Any, ...], value: Any = None, drop: bool = False) -> dict[str, Any]:
    out = copy.deepcopy(message)
    parent = out
    for part in where[:-1]:
        parent = parent[part]
    if drop:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    return out


def names(violations: list[Violation], where: tuple[Any, ...], requirement: str) -> bool:
    return any(v.path == json_path(where) and v.requirement == requirement for v in violations)


@pytest.mark.parametrize(("api", "direction", "requirement", "path", "where"), MANDATORY)
def test_dropping_a_mandatory_field_fails_both_profiles(api, direction, requirement, path, where) -> None:
    message = edit(table_message(api, direction), where, drop=True)
    optional = {e.discrepancy for e in SPEC.effects(api.name, path, "optional")}
    strict = validate(message, api.name, direction, "strict")
    lenient = validate(message, api.name, direction, "lenient")
    assert names(strict, where, requirement)
    if optional:  # a registered discrepancy lets this one go missing
        assert lenient == [] and ids_of(strict) == optional
        assert judge(message, api.name, direction).verdict == "non_strict"
    else:
        assert any(v.requirement == requirement for v in lenient)
        assert judge(message, api.name, direction).verdict == "fail"


@pytest.mark.parametrize(("api", "direction", "requirement", "path", "where"), MANDATORY)
def test_a_mandatory_field_of_the_wrong_type_fails_both_profiles(api, direction, requirement, path, where) -> None:
    message = edit(table_message(api, direction), where, wrong_value(api, path))
    for profile in ("strict", "lenient"):
        found = validate(message, api.name, direction, profile)
        assert names(found, where, requirement), found
        assert all(v.message.startswith("expected") for v in found)
        assert ids_of(found) == set(), "no discrepancy explains a type no sample shows"
    assert judge(message, api.name, direction).verdict == "fail"


# --- every registered effect, applied to a table message ----------------------------


def forms(api: Api, effect: Effect, message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Copies of a table message, each taking one form the effect lets lenient accept."""
    name = effect.path.rsplit(".", 1)[1]

    def each(change) -> dict[str, Any]:
        out = copy.deepcopy(message)
        for c in containers(api, out, effect.path):
            change(c)
        return out

    if effect.kind == "value":
        for v in effect.also:
            if v != table_value(api, effect.path):
                yield each(lambda c, v=v: c.__setitem__(name, v))
    elif effect.kind == "optional":
        yield each(lambda c: c.pop(name))
    elif effect.kind == "name":
        for alias in effect.also:
            yield each(lambda c, alias=alias: c.__setitem__(alias, c.pop(name)))
    elif effect.kind == "type":
        for t in effect.also:
            for v in (effect.values if t == "string" and effect.values else [TYPE_EXAMPLES[t]]):
                yield each(lambda c, v=v: c.__setitem__(name, v))
    elif effect.kind == "shape":
        yield each(lambda c: c.__setitem__(name, c[name][0]))


EFFECTS = [
    pytest.param(api, e, id=f"{e.discrepancy}-{api.name}-{e.path}")
    for d in SPEC.discrepancies.values()
    for e in d.effects
    for api in (SPEC.api(a) for a in e.apis)
    if e.kind != "sample_fields"
]


@pytest.mark.parametrize(("api", "effect"), EFFECTS)
def test_each_effect_form_is_non_strict_naming_its_discrepancy(api: Api, effect: Effect) -> None:
    direction = effect.path.split(".")[0]
    messages = list(forms(api, effect, table_message(api, direction)))
    assert messages, "the effect changes nothing a table message holds"
    for message in messages:
        verdict = judge(message, api.name, direction)
        assert verdict.verdict == "non_strict", verdict
        assert verdict.discrepancies == (effect.discrepancy,)


@pytest.mark.parametrize(("api", "effect"), [p for p in EFFECTS if p.values[1].kind == "name"])
def test_every_spelling_at_once_fails_lenient(api: Api, effect: Effect) -> None:
    direction = effect.path.split(".")[0]
    message = table_message(api, direction)
    name = effect.path.rsplit(".", 1)[1]
    for c in containers(api, message, effect.path):
        c.update({alias: c[name] for alias in effect.also})
    lenient = validate(message, api.name, direction, "lenient")
    assert [v.discrepancies for v in lenient] == [(effect.discrepancy,)] * len(lenient) != []
    assert judge(message, api.name, direction).verdict == "pass"  # strict ignores undocumented members


SAMPLE_FIELDS = [
    pytest.param(api, e, field, id=f"{e.discrepancy}-{api.name}-{field.path}")
    for d in SPEC.discrepancies.values()
    for e in d.effects
    if e.kind == "sample_fields"
    for api in (SPEC.api(a) for a in e.apis)
    for top in sample_fields(e)
    for field in top.walk()
]


@pytest.mark.parametrize(("api", "effect", "field"), SAMPLE_FIELDS)
def test_sample_fields_are_typed_if_present_in_both_profiles(api: Api, effect: Effect, field: Field) -> None:
    direction = effect.path.split(".")[0]
    message = table_message(api, direction)
    where = (BODY[direction], *field.path.removeprefix(effect.path + ".").split("."))
    for top in sample_fields(effect):
        message[BODY[direction]][top.name] = example(top)
    assert judge(message, api.name, direction).verdict == "pass"
    wrong = next(v for v in TYPE_EXAMPLES.values() if field.json_type not in types_of(v))
    for profile in ("strict", "lenient"):
        found = validate(edit(message, where, wrong), api.name, direction, profile)
        assert [(v.path, v.discrepancies) for v in found] == [(json_path(where), (effect.discrepancy,))]


# --- the module's contract ----------------------------------------------------------


def test_a_non_object_message_fails_at_the_root() -> None:
    api = next(iter(SPEC.apis.values()))
    verdict = judge(["not", "an", "object"], api.name, "request")
    assert verdict.verdict == "fail" and verdict.discrepancies == ()
    assert [(v.path, v.discrepancies) for v in verdict.strict] == [("$", ())]
    assert verdict.strict[0].message.startswith("expected object; got array")


@pytest.mark.parametrize(("api", "direction", "message"), SAMPLES[:2])
def test_validate_is_sorted_and_repeatable(api: Api, direction: str, message: dict[str, Any]) -> None:
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
