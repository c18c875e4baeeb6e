"""The schema generator and the ``schemas`` command, driven by spec/."""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance import asyncapi, schemagen
from conformance.commands import schemas as command
from conformance.paths import data_dir
from conformance.spec import Api, Discrepancy, Effect, load_spec

SPEC = load_spec()
GENERATED = schemagen.generate(SPEC)
API_SCHEMAS = [
    pytest.param(api, direction, profile, id=schemagen.schema_path(api.name, direction, profile))
    for api in SPEC.apis.values()
    for direction in schemagen.DIRECTIONS
    for profile in schemagen.PROFILES
]


def nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every object in a schema document, depth first."""
    if isinstance(schema, dict):
        yield schema
        schema = list(schema.values())
    if isinstance(schema, list):
        for item in schema:
            yield from nodes(item)


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.run(parser.parse_args(argv))


def api_schema(api: Api, direction: str, profile: str) -> dict[str, Any]:
    return GENERATED[schemagen.schema_path(api.name, direction, profile)]


# --- the files ----------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(GENERATED))
def test_every_schema_passes_the_2020_12_metaschema(path: str) -> None:
    Draft202012Validator.check_schema(GENERATED[path])


@pytest.mark.parametrize("path", sorted(GENERATED))
def test_every_schema_has_its_id_and_dialect(path: str) -> None:
    assert GENERATED[path]["$id"] == schemagen.BASE_URI + path
    assert GENERATED[path]["$schema"] == schemagen.DIALECT


def test_every_ref_resolves_through_the_registry() -> None:
    registry = schemagen.registry(GENERATED.values())
    refs = [(s["$id"], n["$ref"]) for s in GENERATED.values() for n in nodes(s) if "$ref" in n]
    assert refs
    for base, ref in refs:
        registry.resolver(base_uri=base).lookup(ref)


def test_one_file_per_api_direction_and_profile_plus_the_shared_pieces() -> None:
    per_api = {p.id for p in API_SCHEMAS}
    assert GENERATED.keys() == per_api | {schemagen.FORMATS_FILE, schemagen.ENVELOPE_FILE}


def test_undocumented_members_are_never_forbidden() -> None:
    closed = [n for s in GENERATED.values() for n in nodes(s) if "additionalProperties" in n]
    assert not closed


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    shutil.copytree(SPEC.root, tmp_path / "spec")
    fresh = schemagen.generate(load_spec(tmp_path / "spec"))  # parsed anew, not from the cache
    assert run("--out", str(tmp_path / "a")) == 0
    assert len(list((tmp_path / "a").rglob("*.json"))) == len(fresh) == len(GENERATED)
    for path, schema in fresh.items():
        text = (tmp_path / "a" / path).read_text(encoding="utf-8")
        assert text == schemagen.render(schema) and text.endswith("}\n")


# --- what the tables and the registry put in them ------------------------------------


@pytest.mark.parametrize(("api", "direction", "profile"), API_SCHEMAS)
def test_every_row_carries_its_requirement_id(api: Api, direction: str, profile: str) -> None:
    schema = api_schema(api, direction, profile)
    found = {n["x-requirement"] for n in nodes(schema) if "x-requirement" in n}
    assert found == set(api.requirement_ids(direction))


@pytest.mark.parametrize(("api", "direction", "profile"), API_SCHEMAS)
def test_every_description_cites_the_page(api: Api, direction: str, profile: str) -> None:
    schema = api_schema(api, direction, profile)
    for node in nodes(schema):
        if "x-requirement" in node:
            assert api.ref in node["description"] and node["x-requirement"] in node["description"]


@pytest.mark.parametrize(("api", "direction", "profile"), API_SCHEMAS)
def test_every_effect_is_annotated_in_both_profiles(api: Api, direction: str, profile: str) -> None:
    annotated: set[str] = set()
    for node in nodes(api_schema(api, direction, profile)):
        annotated.update(node.get("x-discrepancies", ()))
        for key in ("by-property", "by-type", "by-value"):
            by = node.get(f"x-discrepancies-{key}", {})
            annotated.update(d for ids in by.values() for d in ids)
    expected = {e.discrepancy for e in SPEC.effects(api.name) if e.path.startswith(direction + ".")}
    assert annotated == expected


@pytest.mark.parametrize(("api", "direction", "profile"), API_SCHEMAS)
def test_fields_with_a_format_use_its_pattern(api: Api, direction: str, profile: str) -> None:
    schema = api_schema(api, direction, profile)
    described = {n["x-requirement"]: n for n in nodes(schema) if "$ref" in n and "x-requirement" in n}
    for top in api.rows(direction):
        for f in top.walk():
            if f.format:
                assert described[f.id]["$ref"].endswith(f"common/formats.json#/$defs/{f.format}")


@pytest.mark.parametrize("name", sorted(SPEC.formats))
def test_format_examples_match_their_pattern(name: str) -> None:
    fmt = GENERATED[schemagen.FORMATS_FILE]["$defs"][name]
    assert fmt["pattern"] == SPEC.formats[name].pattern
    assert all(re.search(fmt["pattern"], example) for example in fmt["examples"])


def test_an_effect_on_an_unknown_path_is_refused() -> None:
    api = next(iter(SPEC.apis))
    effect = Effect("D-99", "name", (api,), "request.data.Nowhere")
    bogus = Discrepancy("D-99", "bogus", (api,), "name", (), {}, (effect,))
    spec = dataclasses.replace(SPEC, discrepancies={**SPEC.discrepancies, "D-99": bogus})
    with pytest.raises(ValueError, match="D-99"):
        schemagen.generate(spec)


# --- the command ------------------------------------------------------------------


def test_check_passes_on_the_committed_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--check") == 0
    assert str(data_dir("schemas")) in capsys.readouterr().out


def test_check_names_every_drifted_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--out", str(tmp_path)) == 0
    changed, removed, extra = [*sorted(GENERATED)[:2], "strict/Stale.request.json"]
    (tmp_path / changed).write_text((tmp_path / changed).read_text().replace('"', "'", 1))
    (tmp_path / removed).unlink()
    (tmp_path / extra).write_text("{}\n")
    capsys.readouterr()
    assert run("--check", "--out", str(tmp_path)) == 1
    err = capsys.readouterr().err
    for path, reason in ((changed, "different"), (removed, "missing"), (extra, "extra")):
        assert f"{tmp_path / path}: {reason}" in err
    assert run("--out", str(tmp_path)) == 0 and run("--check", "--out", str(tmp_path)) == 0
    assert not (tmp_path / extra).exists()


def test_check_writes_nothing(tmp_path: Path) -> None:
    assert run("--check", "--out", str(tmp_path / "none")) == 1
    assert not (tmp_path / "none").exists()


def test_check_covers_the_asyncapi_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stale or missing schemas/asyncapi.yaml fails the check, by name; regenerating rewrites it."""
    document = tmp_path / asyncapi.FILE
    assert run("--out", str(tmp_path)) == 0
    fresh = document.read_text(encoding="utf-8")
    assert fresh == asyncapi.render(asyncapi.generate(SPEC, GENERATED))
    for stale, reason in ((fresh.replace("action: send", "action: receive", 1), "different"), (None, "missing")):
        if stale is None:
            document.unlink()
        else:
            document.write_text(stale, encoding="utf-8")
        capsys.readouterr()
        assert run("--check", "--out", str(tmp_path)) == 1
        err = capsys.readouterr().err
        assert f"{document}: {reason}" in err and "regenerate with `lcm-conformance schemas`" in err
        assert run("--out", str(tmp_path)) == 0
        assert f"{asyncapi.FILE}: was {reason}" in capsys.readouterr().out
        assert document.read_text(encoding="utf-8") == fresh
    assert run("--check", "--out", str(tmp_path)) == 0


def test_check_fails_when_spec_changes_under_the_asyncapi_document(tmp_path: Path) -> None:
    """The committed document follows spec/: an edited page makes it stale."""
    shutil.copytree(SPEC.root, tmp_path / "spec")
    page = tmp_path / "spec" / "apis" / f"{next(iter(SPEC.apis))}.yaml"
    page.write_text(page.read_text(encoding="utf-8").replace("summary: ", "summary: Edited. ", 1))
    edited = load_spec(tmp_path / "spec")
    document = data_dir("schemas") / asyncapi.FILE
    assert asyncapi.check(asyncapi.generate(SPEC), document) is None
    assert asyncapi.check(asyncapi.generate(edited), document) == "different"
