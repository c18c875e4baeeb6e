"""Generate the AsyncAPI 3.0 document of the API from ``spec/`` and the generated schemas.

The document lets people load the API into the tools they already use (AsyncAPI Studio,
code and docs generators, mock servers). It describes a client (an agent application):
one WebSocket server whose address the pages leave open, one channel (the connection),
and per documented API a ``send`` operation whose ``reply`` is the documented answer.

Payloads are the generated JSON Schemas of :mod:`conformance.schemagen`, embedded under
``components/schemas`` so the document resolves with no network and no other file:
a message's ``payload`` is the **strict** schema, ``x-lenient-payload`` the **lenient**
one. AsyncAPI's default schema format is a superset of JSON Schema draft-07, so embedding
makes the files' 2020-12 schemas read the same there: ``$schema`` and ``$id`` go (the
file is named in ``x-schema-file``), cross-file ``$ref``\\ s point into
``components/schemas``, and a ``$ref`` with sibling keywords (applied together in
2020-12, ignored by draft-07) becomes an ``allOf`` entry.

:func:`generate` is pure; :func:`render` gives the committed text, :func:`check` and
:func:`write` handle the file.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from . import schemagen
from .schemagen import Drift, Schema
from .spec import Api, Spec

FILE = "asyncapi.yaml"
"""The document's file, relative to the schemas directory."""
VERSION = "3.0.0"
SERVER = "target"
CHANNEL = "webservice"
CONTENT_TYPE = "application/json"
COMPONENT = "#/components/schemas/"
HEADER = "# Generated from spec/ by `lcm-conformance schemas` (or `lcm-conformance asyncapi`): do not edit.\n"

Document = dict[str, Any]


def generate(spec: Spec, schemas: Mapping[str, Schema] | None = None) -> Document:
    """The AsyncAPI document of ``spec`` (``schemas`` defaults to :func:`schemagen.generate`)."""
    schemas = schemas if schemas is not None else schemagen.generate(spec)
    messages = {
        message_id(api, direction): _message(spec, api, direction)
        for api in spec.apis.values()
        for direction in schemagen.DIRECTIONS
    }
    doc: Document = {
        "asyncapi": VERSION,
        "info": _info(spec),
        "defaultContentType": CONTENT_TYPE,
        "servers": {SERVER: _server()},
        "channels": {CHANNEL: _channel(messages)},
        "operations": {api.name: _operation(spec, api) for api in spec.apis.values()},
        "components": {"messages": messages, "schemas": embed(schemas)},
        "x-discrepancy-registry": {
            d.id: {"title": d.title, "apis": list(d.apis), "policy": dict(d.policy)}
            for d in spec.discrepancies.values()
        },
    }
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]
    doc["info"]["version"] = f"0.0.0+{digest}"
    return doc


def message_id(api: Api, direction: str) -> str:
    """The key of one API's request or response message (in the channel and in components)."""
    return f"{api.name}.{direction}"


def component_name(path: str, pointer: str = "") -> str:
    """The ``components/schemas`` key of a schema file (``strict/X.request.json`` ->
    ``strict.X.request``) or of one of its ``$defs`` (``#/$defs/lcm_key`` -> ``….lcm_key``)."""
    name = path.removesuffix(".json").replace("/", ".")
    if not pointer:
        return name
    prefix = "/$defs/"
    if not pointer.startswith(prefix) or "/" in pointer[len(prefix) :]:
        raise ValueError(f"{path}: cannot embed a $ref to #{pointer} (only whole files and $defs entries)")
    return f"{name}.{pointer[len(prefix) :]}"


def embed(schemas: Mapping[str, Schema]) -> dict[str, Schema]:
    """Every schema file as ``components/schemas`` entries: a file with ``$defs`` gives one
    entry per definition, any other file one entry (see the module docstring)."""
    out: dict[str, Schema] = {}
    for path, schema in schemas.items():
        if "$defs" in schema:
            entries = {component_name(path, f"/$defs/{name}"): d for name, d in schema["$defs"].items()}
        else:
            entries = {component_name(path): {k: v for k, v in schema.items() if k not in ("$schema", "$id")}}
        out.update((name, {**_rewrite(body, path), "x-schema-file": path}) for name, body in entries.items())
    return dict(sorted(out.items()))


def _rewrite(node: Any, path: str) -> Any:
    """A copy of ``node`` with every ``$ref`` pointing into components (see :func:`embed`)."""
    if isinstance(node, list):
        return [_rewrite(item, path) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _rewrite(v, path) for k, v in node.items() if k != "$ref"}
    if "$ref" not in node:
        return out
    target, _, pointer = node["$ref"].partition("#")
    file = posixpath.normpath(posixpath.join(posixpath.dirname(path), target)) if target else path
    ref = {"$ref": COMPONENT + component_name(file, pointer)}
    if not out:
        return ref
    out["allOf"] = [ref, *out.get("allOf", ())]
    return out


def _info(spec: Spec) -> Document:
    titles = ", ".join(f"'{api.title}'" for api in spec.apis.values())
    return {
        "title": "LCM WebService message API",
        "version": "",
        "description": (
            "The JSON messages an agent application exchanges with the campaign manager over one "
            "WebSocket connection: fetch manual-dial contacts, dial them, skip them and record call "
            f"outcomes. Generated by lcm-conformance from its `spec/`, a transcription of the vendor's "
            f"pages {titles} (LCM WebService API docs); those pages are the authority.\n\n"
            "This document takes the client's side: each operation sends a request and receives its "
            "reply. One text frame carries one JSON message, and a reply is recognised by its "
            "documented response subtopic.\n\n"
            "Each message's `payload` is the **strict** schema (exactly what the tables say); "
            "`x-lenient-payload` is the **lenient** one (also what the samples show, for every "
            "registered discrepancy). `x-discrepancies` lists the ids of the registered contradictions "
            "in the pages that bear on a message or operation, `x-discrepancy-registry` explains each, "
            "and `x-samples` holds the page's sample messages, which the lenient schema accepts and "
            "the strict one may not. Schemas carry the requirement id of each table row "
            "(`x-requirement`) and name their file under `schemas/` (`x-schema-file`).\n\n"
            "The pages give no version: the version is 0.0.0 with a digest of this document as "
            "build metadata, so it changes exactly when the document does."
        ),
    }


def _server() -> Document:
    return {
        "host": "{host}",
        "pathname": "{path}",
        "protocol": "ws",
        "title": "The endpoint under test",
        "description": (
            "The pages name no host, port or path: give your endpoint's as the variables (the "
            "suite's reference server, `lcm-conformance serve`, listens on 127.0.0.1 and prints its "
            "port). An endpoint behind TLS (`wss`) carries the same messages."
        ),
        "variables": {
            "host": {"default": "127.0.0.1:8080", "description": "Host and port of the WebSocket endpoint."},
            "path": {"default": "/", "description": "Path of the WebSocket endpoint."},
        },
    }


def _channel(messages: Mapping[str, Document]) -> Document:
    return {
        "address": None,
        "title": "The WebSocket connection",
        "description": (
            "Every message of every API travels over the one connection, in both directions; the "
            "pages give it no address of its own. (Each message's envelope has a member named "
            "`channel` too: that is part of the payload, not this channel.)"
        ),
        "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in messages},
        "bindings": {"ws": {"method": "GET", "bindingVersion": "0.1.0"}},
    }


def _operation(spec: Spec, api: Api) -> Document:
    def refs(direction: str) -> list[Document]:
        return [{"$ref": f"#/channels/{CHANNEL}/messages/{message_id(api, direction)}"}]

    lines = [f"Source: {api.ref}."]
    if api.prerequisites:
        lines.append("Prerequisites: " + " ".join(api.prerequisites))
    if api.version_note:
        lines.append(api.version_note)
    lines.append(f"The reply is the message with subtopic `{api.response_subtopic}`.")
    op: Document = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{CHANNEL}"},
        "title": api.title,
        "summary": api.summary,
        "description": "\n\n".join(lines),
        "messages": refs("request"),
        "reply": {"channel": {"$ref": f"#/channels/{CHANNEL}"}, "messages": refs("response")},
        "x-discrepancies": sorted(d.id for d in spec.discrepancies.values() if api.name in d.apis),
    }
    if api.errors:
        op["x-error-cases"] = [
            {"id": e.id, "type": e.type, "condition": e.condition, "message": e.message, "meaning": e.meaning}
            for e in api.errors
        ]
    if api.max_cm_version is not None:
        op["x-max-cm-version"] = api.max_cm_version
    return op


def _message(spec: Spec, api: Api, direction: str) -> Document:
    envelope_table, rows_table = schemagen.TABLES[direction]
    samples = api.sample_requests if direction == "request" else api.sample_responses
    return {
        "name": f"{api.name}{direction.capitalize()}",
        "title": f"{api.title}: {direction}",
        "summary": f"The {direction} of {api.name}, subtopic `{api.envelope(direction)['subtopic']}`.",
        "description": (
            f"Envelope as the {envelope_table} table gives it, body as the {rows_table} table gives it "
            f"({api.ref})."
        ),
        "contentType": CONTENT_TYPE,
        "payload": {"$ref": COMPONENT + component_name(schemagen.schema_path(api.name, direction, "strict"))},
        "x-lenient-payload": {
            "$ref": COMPONENT + component_name(schemagen.schema_path(api.name, direction, "lenient"))
        },
        "x-discrepancies": _discrepancies(spec, api, direction),
        "x-samples": [
            {"id": s.id, "name": s.heading, **({"condition": s.condition} if s.condition else {}), "payload": s.message}
            for s in samples
        ],
    }


def _discrepancies(spec: Spec, api: Api, direction: str) -> list[str]:
    """The ids of the registered discrepancies that change or explain this direction's payload."""
    prefix = direction + "."
    return sorted(
        d.id
        for d in spec.discrepancies.values()
        if any(e.path.startswith(prefix) for e in d.effects if api.name in e.apis)
        or any(a == api.name and p.startswith(prefix) for a, p in d.locations)
    )


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors or aliases, whatever objects the document shares."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    """Text of several lines as a literal block, so it reads as written."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _text)


def render(doc: Document) -> str:
    """The canonical text of the document: a header comment, then YAML with sorted keys."""
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=True, allow_unicode=True, width=100, default_flow_style=False)
    return HEADER + body


def check(doc: Document, path: Path) -> Drift | None:
    """How the file at ``path`` differs from ``doc``, or None when it holds exactly its text."""
    return _drift(path, render(doc))


def write(doc: Document, path: Path) -> Drift | None:
    """Make ``path`` hold ``doc``; return what had to change."""
    text = render(doc)
    drift = _drift(path, text)
    if drift:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return drift


def _drift(path: Path, text: str) -> Drift | None:
    """How the file at ``path`` differs from ``text`` (rendering is the slow part: done once)."""
    if not path.is_file():
        return "missing"
    return None if path.read_text(encoding="utf-8") == text else "different"
