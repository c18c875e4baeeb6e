"""The AsyncAPI document: generated from spec/, accepted by the AsyncAPI initiative's own
parser, and its embedded schemas judge messages exactly as the files in schemas/ do."""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from conformance import asyncapi, schemagen
from conformance.commands import asyncapi as command
from conformance.paths import data_dir
from conformance.spec import load_spec
from conformance.strategies import message_strategy

TESTS = Path(__file__).resolve().parent
SCRIPT = TESTS / "asyncapi_validate.mjs"
PARSER = TESTS / "node_modules" / "@asyncapi" / "parser"
COMMITTED = data_dir("schemas") / asyncapi.FILE
SPEC = load_spec()
SCHEMAS = schemagen.generate(SPEC)
DOC = asyncapi.generate(SPEC, SCHEMAS)
PAIRS = [(api, d) for api in SPEC.apis for d in schemagen.DIRECTIONS]
ALLOWED_NOTES = {
    "asyncapi-latest-version": "the document is AsyncAPI 3.0.0 on purpose; the parser suggests the newest, 3.1.0",
}
"""Information or hint diagnostics the document may get, and why (errors and warnings: none)."""


def nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON document, depth first."""
    if isinstance(value, dict):
        yield value
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from nodes(item)


def pointer(doc: Any, ref: str) -> Any:
    """The value a local ``#/…`` reference names (KeyError when it names nothing)."""
    assert ref.startswith("#/"), f"{ref} is not a reference inside the document"
    for part in ref[2:].split("/"):
        doc = doc[part.replace("~1", "/").replace("~0", "~")]
    return doc


# --- the AsyncAPI initiative's parser ---------------------------------------------------


def parse(path: Path) -> dict[str, Any]:
    """What tests/asyncapi_validate.mjs prints for ``path``: diagnostics and the file as read."""
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed: the AsyncAPI parser runs on Node.js"
    elif not PARSER.is_dir():
        missing = "tests/node_modules is missing: run `npm ci --prefix tests` (.ci/run does)"
    if missing:
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(f"{missing}; CI must run this test")  # a skip there would hide a broken install
        pytest.skip(missing)
    done = subprocess.run(
        ["node", str(SCRIPT), str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"the parser script failed ({done.returncode}):\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def parsed() -> dict[str, Any]:
    return parse(COMMITTED)


def by_severity(result: dict[str, Any], *severities: str) -> list[dict[str, Any]]:
    return [d for d in result["diagnostics"] if d["severity"] in severities]


def test_the_parser_finds_no_error_and_no_warning(parsed: dict[str, Any]) -> None:
    shown = json.dumps(parsed["diagnostics"], indent=2)
    assert parsed["parsed"], f"@asyncapi/parser {parsed['parser']} produced no document:\n{shown}"
    assert not by_severity(parsed, "Error", "Warning"), f"@asyncapi/parser {parsed['parser']}:\n{shown}"
    notes = {d["code"] for d in by_severity(parsed, "Information", "Hint")}
    assert notes <= ALLOWED_NOTES.keys(), f"new notes from @asyncapi/parser {parsed['parser']}:\n{shown}"


def test_the_parser_reads_every_value_as_generated(parsed: dict[str, Any]) -> None:
    """YAML 1.2 (js-yaml, the parser's loader) reads back exactly the generated document."""
    assert parsed["data"] == json.loads(json.dumps(DOC))


def test_the_parser_reports_a_faulty_document(tmp_path: Path) -> None:
    """The parser run can fail: a broken reply, payload schema and server each give an error."""
    faulty = copy.deepcopy(DOC)
    first, second = list(SPEC.apis)[:2]
    faulty["operations"][first]["reply"]["messages"] = [{"$ref": "#/components/messages/Nowhere.response"}]
    faulty["components"]["schemas"][f"strict.{second}.request"]["type"] = 5
    del faulty["servers"][asyncapi.SERVER]["protocol"]
    (tmp_path / "faulty.yaml").write_text(asyncapi.render(faulty), encoding="utf-8")
    errors = by_severity(parse(tmp_path / "faulty.yaml"), "Error")
    paths = ["/".join(map(str, e["path"])) for e in errors]
    assert any(p.startswith(f"operations/{first}/reply/messages") for p in paths), paths
    assert any(p.startswith(f"components/schemas/strict.{second}.request") for p in paths), paths
    assert any(p.startswith(f"servers/{asyncapi.SERVER}") for p in paths), paths


# --- what the document holds --------------------------------------------------------------


def test_the_committed_file_is_the_generated_document() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == asyncapi.render(DOC), (
        f"{COMMITTED} is stale: regenerate with `lcm-conformance schemas`"
    )


def test_the_document_reads_back_as_generated() -> None:
    text = asyncapi.render(DOC)
    assert text.startswith("#") and text.endswith("\n")
    assert yaml.safe_load(text) == DOC


def test_every_reference_is_inside_the_document() -> None:
    refs = [n["$ref"] for n in nodes(DOC) if "$ref" in n]
    assert refs
    for ref in refs:
        pointer(DOC, ref)


def test_one_server_and_one_channel() -> None:
    (server,) = DOC["servers"].values()
    assert server["protocol"] == "ws"
    variables = {v.strip("{}") for v in (server["host"], server["pathname"])}
    assert variables == server["variables"].keys()
    (channel,) = DOC["channels"].values()
    assert channel["messages"].keys() == {asyncapi.message_id(SPEC.api(a), d) for a, d in PAIRS}


@pytest.mark.parametrize("name", list(SPEC.apis))
def test_one_send_operation_per_api_and_its_reply(name: str) -> None:
    api, op = SPEC.api(name), DOC["operations"][name]
    channel = f"#/channels/{asyncapi.CHANNEL}"
    assert op["action"] == "send" and op["channel"] == op["reply"]["channel"] == {"$ref": channel}
    request, response = (pointer(DOC, ref["$ref"]) for ref in (*op["messages"], *op["reply"]["messages"]))
    assert request == {"$ref": f"#/components/messages/{name}.request"}  # the channel's message
    assert response == {"$ref": f"#/components/messages/{name}.response"}
    assert api.ref in op["description"] and api.response_subtopic in op["description"]
    assert [e["id"] for e in op.get("x-error-cases", [])] == [e.id for e in api.errors]
    assert op.get("x-max-cm-version") == api.max_cm_version


@pytest.mark.parametrize(("name", "direction"), PAIRS)
def test_payloads_are_the_strict_schema_and_the_lenient_one_rides_along(name: str, direction: str) -> None:
    message = DOC["components"]["messages"][f"{name}.{direction}"]
    for key, profile in (("payload", "strict"), ("x-lenient-payload", "lenient")):
        schema = pointer(DOC, message[key]["$ref"])
        assert schema["x-schema-file"] == schemagen.schema_path(name, direction, profile)
    assert SPEC.api(name).ref in message["description"]


@pytest.mark.parametrize(("name", "direction"), PAIRS)
def test_every_discrepancy_the_schemas_name_is_on_the_message(name: str, direction: str) -> None:
    message = DOC["components"]["messages"][f"{name}.{direction}"]
    annotated: set[str] = set()
    for profile in schemagen.PROFILES:
        for node in nodes(SCHEMAS[schemagen.schema_path(name, direction, profile)]):
            annotated.update(node.get("x-discrepancies", ()))
            for key in ("by-property", "by-type", "by-value"):
                annotated.update(d for ids in node.get(f"x-discrepancies-{key}", {}).values() for d in ids)
    assert annotated <= set(message["x-discrepancies"]) <= set(DOC["x-discrepancy-registry"])
    assert set(message["x-discrepancies"]) <= set(DOC["operations"][name]["x-discrepancies"])


def test_the_registry_extension_lists_every_discrepancy() -> None:
    assert DOC["x-discrepancy-registry"].keys() == SPEC.discrepancies.keys()


@pytest.mark.parametrize("name", sorted(DOC["components"]["schemas"]))
def test_embedded_schemas_mean_the_same_under_draft_07(name: str) -> None:
    """AsyncAPI reads schemas as draft-07: no keyword that only 2020-12 gives meaning to
    (``$defs``, ``$id`` bases), and no ``$ref`` with siblings (which draft-07 ignores)."""
    schema = DOC["components"]["schemas"][name]
    Draft7Validator.check_schema(schema)
    for node in nodes(schema):
        assert not {"$schema", "$id", "$defs"} & node.keys()
        assert "$ref" not in node or node.keys() == {"$ref"}, node


# --- the embedded schemas judge as the files do -------------------------------------------

URI = "urn:lcm-conformance:asyncapi"
FILES = schemagen.registry(SCHEMAS.values())


def embedded_validator(doc: dict[str, Any], name: str) -> Draft7Validator:
    """A draft-07 validator (AsyncAPI's schema dialect) for one of ``doc``'s components."""
    registry: Registry = Registry().with_resource(URI, Resource(contents=doc, specification=DRAFT7))
    return Draft7Validator({"$ref": f"{URI}#/components/schemas/{name}"}, registry=registry)


def file_validator(path: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMAS[path], registry=FILES)


def variants(message: Any) -> Iterator[Any]:
    """The message, and copies each missing one member or holding another type there."""
    yield message
    for body in (message, *(v for v in message.values() if isinstance(v, dict))):
        for key in list(body):
            original = body[key]
            del body[key]
            yield copy.deepcopy(message)
            for other in ("1", 1, True, None, [], {}):
                body[key] = other
                yield copy.deepcopy(message)
            body[key] = original


def disagreements(doc: dict[str, Any], name: str, direction: str, instances: list[Any]) -> list[str]:
    """The instances the embedded schemas and the files judge differently (both profiles)."""
    out = []
    for profile in schemagen.PROFILES:
        path = schemagen.schema_path(name, direction, profile)
        embedded, original = embedded_validator(doc, asyncapi.component_name(path)), file_validator(path)
        for message in instances:
            for variant in variants(copy.deepcopy(message)):
                if embedded.is_valid(variant) != original.is_valid(variant):
                    out.append(f"{path}: {json.dumps(variant)}")
    return out


def samples(direction: str) -> list[Any]:
    """Every page's sample messages of one direction (each API's schema judges them all)."""
    return [
        s.message
        for api in SPEC.apis.values()
        for s in (api.sample_requests if direction == "request" else api.sample_responses)
    ]


@pytest.mark.parametrize(("name", "direction"), PAIRS)
def test_the_samples_are_judged_alike(name: str, direction: str) -> None:
    assert not disagreements(DOC, name, direction, samples(direction))


@pytest.mark.parametrize(("name", "direction"), PAIRS)
def test_the_samples_in_the_document_pass_the_lenient_payload(name: str, direction: str) -> None:
    message = DOC["components"]["messages"][f"{name}.{direction}"]
    lenient = embedded_validator(DOC, message["x-lenient-payload"]["$ref"].rsplit("/", 1)[1])
    assert message["x-samples"]
    for sample in message["x-samples"]:
        assert lenient.is_valid(sample["payload"]), sample["id"]


@pytest.mark.parametrize(("name", "direction"), PAIRS)
def test_generated_messages_are_judged_alike(name: str, direction: str) -> None:
    @settings(max_examples=8, deadline=None, database=None, derandomize=True)
    @given(st.sampled_from(schemagen.PROFILES).flatmap(lambda p: message_strategy(name, direction, p)))
    def check(message: dict[str, Any]) -> None:
        assert not disagreements(DOC, name, direction, [message])

    check()


def test_the_comparison_catches_a_ref_whose_siblings_draft_07_ignores() -> None:
    """Had the embedding kept the files' ``$ref`` beside other keywords, draft-07 tools would
    read only the shared envelope, and the comparison above says so."""
    naive = copy.deepcopy(DOC)
    name, direction = PAIRS[0]
    component = asyncapi.component_name(schemagen.schema_path(name, direction, "strict"))
    schema = naive["components"]["schemas"][component]
    schema["$ref"] = schema.pop("allOf")[0]["$ref"]
    assert disagreements(naive, name, direction, samples(direction))


# --- the command ---------------------------------------------------------------------------


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.run(parser.parse_args(argv))


def test_the_command_prints_the_committed_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert run() == 0
    assert capsys.readouterr().out == COMMITTED.read_text(encoding="utf-8")


def test_the_command_writes_the_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "api.yaml"
    assert run("--out", str(out)) == 0
    assert out.read_text(encoding="utf-8") == asyncapi.render(DOC)
    assert str(out) in capsys.readouterr().out


def test_two_runs_are_byte_identical_and_the_version_follows_the_content(tmp_path: Path) -> None:
    shutil.copytree(SPEC.root, tmp_path / "spec")
    fresh = asyncapi.generate(load_spec(tmp_path / "spec"))  # parsed anew, not from the cache
    assert asyncapi.render(fresh) == asyncapi.render(DOC)
    shutil.copytree(SPEC.root, tmp_path / "edited")
    page = tmp_path / "edited" / "apis" / f"{next(iter(SPEC.apis))}.yaml"
    page.write_text(page.read_text(encoding="utf-8").replace("description: ", "description: Now ", 1))
    changed = asyncapi.generate(load_spec(tmp_path / "edited"))
    assert changed["info"]["version"] != DOC["info"]["version"]
    assert asyncapi.render(changed) != COMMITTED.read_text(encoding="utf-8")


def test_a_ref_the_embedding_cannot_translate_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot embed"):
        asyncapi.embed({"strict/X.request.json": {"$ref": "../common/envelope.json#/properties/x"}})
