"""Generate the JSON Schemas (2020-12) of every API from ``spec/``.

Two profiles per API and direction: **strict** says exactly what the tables say;
**lenient** also accepts what the samples show, for every registered discrepancy
effect. Both carry the same annotations, so a strict failure can be traced to the
discrepancy that explains it:

- ``x-requirement``: the requirement id of the table row (or envelope row) a
  subschema checks;
- ``x-discrepancies``: on a row or envelope member, the discrepancy ids that change its
  value (type, shape, envelope value) or introduced it (another spelling, a sample-only
  field), and on a spelling group, the ids of its spellings;
- ``x-discrepancies-by-property`` (objects): for a member, the ids that bear on its
  presence (another spelling, an optional member, a member only a sample shows);
- ``x-discrepancies-by-type`` / ``x-discrepancies-by-value``: for a JSON type or an
  envelope value the samples show, the ids that explain it.

Where a message already fails strict through a registered discrepancy, strict also
checks the samples' form against the table (a lone object against the array's item
rows, another spelling against the row's type), so a report names every discrepancy
the message relies on. This never changes what strict accepts.

:func:`generate` is pure; :func:`write`, :func:`check` and :func:`read` handle the
files, :func:`registry` resolves the cross-file ``$ref``\\ s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from referencing import Registry, Resource

from .spec import Api, Effect, Field, Spec

BASE_URI = "https://lcm-conformance.invalid/schemas/"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
PROFILES = ("strict", "lenient")
DIRECTIONS = ("request", "response")
BODY = {"request": "data", "response": "message"}
"""The envelope member that carries each direction's table rows (the wire binding)."""
TABLES = {
    "request": ("Request Parameters", "Data Parameters"),
    "response": ("Response Parameters", "Message Parameters"),
}
"""The page's envelope table and rows table of each direction, as the descriptions name them."""
FORMATS_FILE = "common/formats.json"
ENVELOPE_FILE = "common/envelope.json"
EFFECT_KINDS = ("value", "optional", "name", "type", "shape", "sample_fields")
PROFILE_TEXT = {
    "strict": "exactly what the tables say",
    "lenient": "the tables, and also what the samples show for every registered discrepancy",
}

Schema = dict[str, Any]
Drift = Literal["missing", "extra", "different"]


def schema_path(api: str, direction: str, profile: str) -> str:
    """The file of one API's schema, relative to the schemas directory."""
    return f"{profile}/{api}.{direction}.json"


def generate(spec: Spec) -> dict[str, Schema]:
    """Every schema file, keyed by its path relative to the schemas directory."""
    out = {FORMATS_FILE: _formats(spec), ENVELOPE_FILE: _envelope(spec)}
    for api in spec.apis.values():
        _check_effects(spec, api)
        for direction in DIRECTIONS:
            for profile in PROFILES:
                path = schema_path(api.name, direction, profile)
                out[path] = _Builder(spec, api, direction, profile == "lenient").root(path)
    return dict(sorted(out.items()))


def render(schema: Schema) -> str:
    """The canonical text of a schema file: sorted keys, two-space indent, final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read(directory: Path) -> dict[str, Schema]:
    """The schema files under ``directory``, keyed by relative path."""
    return {
        p.relative_to(directory).as_posix(): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(directory.rglob("*.json"))
    }


def check(schemas: Mapping[str, Schema], directory: Path) -> list[tuple[str, Drift]]:
    """The files under ``directory`` that differ from ``schemas``, with how."""
    on_disk = {p.relative_to(directory).as_posix() for p in directory.rglob("*.json")}
    drift: list[tuple[str, Drift]] = [(p, "extra") for p in on_disk - schemas.keys()]
    for path, schema in schemas.items():
        if path not in on_disk:
            drift.append((path, "missing"))
        elif (directory / path).read_text(encoding="utf-8") != render(schema):
            drift.append((path, "different"))
    return sorted(drift)


def write(schemas: Mapping[str, Schema], directory: Path) -> list[tuple[str, Drift]]:
    """Make ``directory`` hold exactly ``schemas``; return what had to change."""
    drift = check(schemas, directory)
    for path, reason in drift:
        target = directory / path
        if reason == "extra":
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(schemas[path]), encoding="utf-8")
    return drift


def registry(schemas: Iterable[Schema]) -> Registry:
    """A registry of the schemas by ``$id``, so every cross-file ``$ref`` resolves."""
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas
    ).crawl()


def _file(path: str, title: str, description: str, **body: Any) -> Schema:
    head = {"$schema": DIALECT, "$id": BASE_URI + path, "title": title, "description": description}
    return {**head, **body}


def _formats(spec: Spec) -> Schema:
    defs = {
        f.name: {
            "type": "string",
            "pattern": f.pattern,
            "title": f.title,
            "description": f.description,
            "examples": list(f.examples),
        }
        for f in spec.formats.values()
    }
    return _file(
        FORMATS_FILE,
        "Value formats",
        "Patterns for String rows, generalised from the sample values (spec/formats.yaml).",
        **{"$defs": defs},
    )


def _envelope(spec: Spec) -> Schema:
    defs = {}
    for direction in DIRECTIONS:
        keys = sorted({k for api in spec.apis.values() for k in api.envelope(direction)})
        defs[direction] = {
            "type": "object",
            "description": f"Any {direction}: an object whose envelope members have these types.",
            "properties": {
                k: {"type": "object" if k == BODY[direction] else "string"} for k in keys
            },
        }
    return _file(
        ENVELOPE_FILE,
        "Message envelope",
        "The envelope every API shares, one definition per direction; each API's schema "
        "refers to it and adds the members' values and which are required.",
        **{"$defs": defs},
    )


def _known_paths(api: Api) -> set[str]:
    envelope = {f"{d}.envelope.{k}" for d in DIRECTIONS for k in api.envelope(d)}
    bodies = {f"{d}.{b}" for d, b in BODY.items()}
    return envelope | bodies | {f.path for f in api.fields()}


def _check_effects(spec: Spec, api: Api) -> None:
    """Refuse an effect the generator would silently ignore."""
    known = _known_paths(api)
    for e in spec.effects(api.name):
        if e.kind not in EFFECT_KINDS or e.path not in known:
            raise ValueError(
                f"{e.discrepancy}: {e.kind} effect on {api.name} {e.path} matches nothing"
            )


def _ids(effects: Iterable[Effect]) -> list[str]:
    return sorted({e.discrepancy for e in effects})


def _see(ids: list[str]) -> str:
    return f" See {', '.join(ids)}." if ids else ""


def _annotate(node: Schema, effects: Iterable[Effect]) -> Schema:
    """Add the ids of ``effects`` to the node's ``x-discrepancies``."""
    ids = sorted({*node.get("x-discrepancies", ()), *_ids(effects)})
    if ids:
        node["x-discrepancies"] = ids
    return node


def is_placeholder(value: str) -> bool:
    """A table value in «guillemets» describes the value rather than giving it."""
    return value.startswith("«")


@dataclass
class _Builder:
    """Builds one API's schema for one direction and profile."""

    spec: Spec
    api: Api
    direction: str
    lenient: bool

    def effects(self, path: str, *kinds: str) -> list[Effect]:
        return [e for e in self.spec.effects(self.api.name, path) if not kinds or e.kind in kinds]

    def root(self, path: str) -> Schema:
        profile = "lenient" if self.lenient else "strict"
        envelope = self.api.envelope(self.direction)
        node = _file(
            path,
            f"{self.api.name} {self.direction} ({profile})",
            f"{self.api.title}: the {self.direction} message, {PROFILE_TEXT[profile]}. "
            f"Source: {self.api.ref}.",
            properties={k: self.member(k, v) for k, v in envelope.items()},
        )
        node["$ref"] = f"../{ENVELOPE_FILE}#/$defs/{self.direction}"
        presence = {k: self.effects(f"{self.direction}.envelope.{k}", "optional") for k in envelope}
        return self.members(node, list(envelope), presence)

    def members(
        self, node: Schema, mandatory: list[str], presence: dict[str, list[Effect]]
    ) -> Schema:
        """Require the mandatory members (lenient spares those a discrepancy lets go missing)
        and record, per member, the discrepancies that bear on its presence."""
        required = [name for name in mandatory if not (self.lenient and presence[name])]
        if required:
            node["required"] = required
        by_property = {name: _ids(found) for name, found in presence.items() if found}
        if by_property:
            node["x-discrepancies-by-property"] = by_property
        return node

    def member(self, key: str, value: str) -> Schema:
        table, rows = TABLES[self.direction]
        path = f"{self.direction}.envelope.{key}"
        requirement = self.api.envelope_id(self.direction, key)
        node: Schema = {"x-requirement": requirement}
        if key == BODY[self.direction]:
            what = f"an object holding the {rows} rows"
            node.update(self.obj(self.api.rows(self.direction), f"{self.direction}.{key}"))
        elif is_placeholder(value):
            what = f"any string (the table gives {value})"
        else:
            what = f"the table gives {value!r}"
            node.update(self.value(value, self.effects(path, "value")))
        node["description"] = (
            f"Envelope member {key}: {what}. Row {key} of the {table} table, requirement "
            f"{requirement} ({self.api.ref}).{_see(_ids(self.effects(path)))}"
        )
        return _annotate(node, self.effects(path, "value"))

    def value(self, table_value: str, effects: list[Effect]) -> Schema:
        """The table's value; lenient adds the values the samples show."""
        extra = {v: _ids(e for e in effects if v in e.also) for e in effects for v in e.also}
        extra.pop(table_value, None)
        node: Schema = {"const": table_value}
        if self.lenient and extra:
            node = {"enum": [table_value, *extra]}
        if extra:
            node["x-discrepancies-by-value"] = extra
        return node

    def obj(
        self, fields: tuple[Field, ...], path: str, inherited: tuple[Effect, ...] = ()
    ) -> Schema:
        extra = [(f, (e,)) for e in self.effects(path, "sample_fields") for f in sample_fields(e)]
        properties = {f.name: self.field(f, inherited) for f in fields}
        properties.update((f.name, self.field(f, origin)) for f, origin in extra)
        node: Schema = {"type": "object", "properties": properties}
        groups = [self.spellings(f, self.effects(f.path, "name")) for f in fields]
        groups = [g for g in groups if g]
        if groups:
            node["allOf"] = groups
        presence = {f.name: self.effects(f.path, "name", "optional") for f in fields}
        presence.update((f.name, list(origin)) for f, origin in extra)
        return self.members(node, [f.name for f in fields if f.mandatory], presence)

    def field(self, f: Field, inherited: tuple[Effect, ...] = ()) -> Schema:
        """One row. Its own ``x-discrepancies`` leave out name and optional effects: the
        parent records those, since they bear on the row's presence, not its value."""
        ids = _ids([*inherited, *self.effects(f.path)])
        node: Schema = {"description": self.describe(f, ids)}
        if f.id:
            node["x-requirement"] = f.id
        if f.format:
            node["$ref"] = f"../{FORMATS_FILE}#/$defs/{f.format}"
        if f.json_type == "object":
            node.update(self.obj(f.children, f.path, inherited))
        elif f.json_type == "array":
            node["items"] = self.obj(f.children, f.path, inherited)
        typing = self.effects(f.path, "type", "shape")
        node.update(self.types(f, typing))
        conditions = [*node.pop("allOf", ()), *self.conditions(f, node.get("items"))]
        if conditions:
            node["allOf"] = conditions
        return _annotate(node, [*inherited, *typing])

    def types(self, f: Field, effects: list[Effect]) -> Schema:
        """The row's type; lenient adds the types the samples show (a shape effect adds object)."""
        by_type: dict[str, list[str]] = {}
        for e in effects:
            for t in e.also if e.kind == "type" else ("object",):
                by_type[t] = sorted({*by_type.get(t, ()), e.discrepancy})
        types = [f.json_type, *(t for t in by_type if self.lenient and t != f.json_type)]
        node: Schema = {"type": types[0] if len(types) == 1 else types}
        if by_type:
            node["x-discrepancies-by-type"] = by_type
        return node

    def conditions(self, f: Field, items: Schema | None) -> list[Schema]:
        """Checks that apply to one of the row's types only: lenient narrows an extra string
        type to the listed values; both profiles check a lone object as an array's item."""
        out = []
        values = [v for e in self.effects(f.path, "type") for v in e.values]
        if self.lenient and values:
            out.append({"if": {"type": "string"}, "then": {"enum": values}})
        if items is not None and self.effects(f.path, "shape"):
            out.append({"if": {"type": "object"}, "then": items})
        return out

    def spellings(self, f: Field, effects: list[Effect]) -> Schema:
        """A row's name effects: lenient wants exactly one spelling (or none, if the row may
        be absent); strict, when the table's spelling is missing, checks the others' type."""
        if not effects:
            return {}
        others = {name: self.field(f, (e,)) for e in effects for name in e.also}
        names = [f.name, *others]
        node: Schema = {
            "x-requirement": f.id,
            "description": f"Row {f.name}, spelled {' or '.join(names)}: requirement {f.id} "
            f"({self.api.ref}).{_see(_ids(effects))}",
        }
        if self.lenient:
            branches: list[Schema] = [{"required": [n]} for n in names]
            if not f.mandatory or self.effects(f.path, "optional"):
                branches.append({"not": {"anyOf": list(branches)}})
            node.update(oneOf=branches, properties=others)
        elif f.mandatory:
            node.update({"if": {"not": {"required": [f.name]}}, "then": {"properties": others}})
        return _annotate(node, effects)

    def describe(self, f: Field, ids: list[str]) -> str:
        where = f"Table row {f.id}" if f.id else "No table row: only a sample shows this field"
        return f"{f.description or f.name} {where} ({self.api.ref}).{_see(ids)}"


def sample_fields(effect: Effect) -> list[Field]:
    """The fields a sample_fields effect adds, as rows no table has (so no requirement id)."""
    return [_sample_field(row, effect.path) for row in effect.fields]


def _sample_field(row: dict[str, Any], prefix: str) -> Field:
    path = f"{prefix}.{row['name']}"
    return Field(
        name=row["name"],
        id="",
        mandatory=False,
        type=row["type"],
        description=row.get("description"),
        path=path,
        format=row.get("format"),
        children=tuple(_sample_field(child, path) for child in row.get("children", ())),
    )
