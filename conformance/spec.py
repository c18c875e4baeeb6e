"""Load ``spec/`` into typed, read-only objects.

Every doc fact the suite uses (names, types, envelopes, samples, error cases,
discrepancies, value formats) is read through this module, so no other module
holds a doc fact of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .paths import data_dir

DOC_TYPES: dict[str, str] = {
    "String": "string",
    "Number": "number",
    "Boolean": "boolean",
    "JSON Array": "array",
    "JSON Object": "object",
}
"""The tables' "Data Type" words and the JSON type each one names."""


@dataclass(frozen=True)
class Field:
    """One row of a Data Parameters or Message Parameters table."""

    name: str
    id: str
    mandatory: bool
    type: str
    description: str | None
    path: str
    format: str | None = None
    children: tuple[Field, ...] = ()

    @property
    def json_type(self) -> str:
        return DOC_TYPES[self.type]

    def walk(self) -> Iterator[Field]:
        """This field and every nested one, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Sample:
    """A sample message of a page, as data."""

    id: str
    heading: str
    message: dict[str, Any]
    condition: str | None = None


@dataclass(frozen=True)
class ErrorCase:
    """A row of a page's "Possible Error Cases" table."""

    id: str
    type: str
    condition: str
    message: str
    meaning: str | None


@dataclass(frozen=True)
class Api:
    """Everything one page documents about one request/response pair."""

    name: str
    abbr: str
    title: str
    ref: str
    summary: str
    prerequisites: tuple[str, ...]
    request_envelope: dict[str, str]
    request_data: tuple[Field, ...]
    response_envelope: dict[str, str]
    response_message: tuple[Field, ...]
    errors: tuple[ErrorCase, ...]
    sample_requests: tuple[Sample, ...]
    sample_responses: tuple[Sample, ...]
    max_cm_version: int | None = None
    version_note: str | None = None

    @property
    def response_subtopic(self) -> str:
        return self.response_envelope["subtopic"]

    def envelope(self, direction: str) -> dict[str, str]:
        """The rows of one direction's Request/Response Parameters table."""
        return self.request_envelope if direction == "request" else self.response_envelope

    def rows(self, direction: str) -> tuple[Field, ...]:
        """The top-level rows of one direction's Data/Message Parameters table."""
        return self.request_data if direction == "request" else self.response_message

    def envelope_id(self, direction: str, key: str) -> str:
        """The requirement id of an envelope row (those tables have no ids of their own)."""
        return f"{self.abbr}.{direction}.envelope.{key}"

    def requirement_ids(self, direction: str | None = None) -> list[str]:
        """Every documented requirement of the page (or of one direction), in page order:
        envelope rows, table rows, then (for the whole page) samples and error cases."""
        ids = [
            req
            for d in ((direction,) if direction else ("request", "response"))
            for req in (
                *(self.envelope_id(d, k) for k in self.envelope(d)),
                *(f.id for top in self.rows(d) for f in top.walk()),
            )
        ]
        if direction is None:
            ids += [s.id for s in (*self.sample_requests, *self.sample_responses)]
            ids += [e.id for e in self.errors]
        return ids

    def fields(self) -> Iterator[Field]:
        """Every table row of the page, request rows first."""
        for top in (*self.request_data, *self.response_message):
            yield from top.walk()

    def field(self, path: str) -> Field:
        for f in self.fields():
            if f.path == path:
                return f
        raise KeyError(f"{self.name} has no field {path}")


@dataclass(frozen=True)
class Effect:
    """What one discrepancy changes in one place (see the header of discrepancies.yaml)."""

    discrepancy: str
    kind: str
    apis: tuple[str, ...]
    path: str
    also: tuple[Any, ...] = ()
    values: tuple[str, ...] = ()
    fields: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Discrepancy:
    """One registered contradiction in the docs, and the policy for it."""

    id: str
    title: str
    apis: tuple[str, ...]
    kind: str
    evidence: tuple[dict[str, str], ...]
    policy: dict[str, str]
    effects: tuple[Effect, ...]
    locations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Format:
    """A value format the samples show for a String field."""

    name: str
    title: str
    pattern: str
    description: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """The whole of ``spec/``."""

    apis: dict[str, Api]
    discrepancies: dict[str, Discrepancy]
    formats: dict[str, Format]
    root: Path = field(compare=False)

    def api(self, name: str) -> Api:
        try:
            return self.apis[name]
        except KeyError:
            raise KeyError(f"no documented API {name!r}; known: {', '.join(self.apis)}") from None

    def effects(self, api: str, path: str | None = None, kind: str | None = None) -> list[Effect]:
        """The registered effects that apply to one API (and path, and kind)."""
        return [
            e
            for d in self.discrepancies.values()
            for e in d.effects
            if api in e.apis
            and (path is None or e.path == path)
            and (kind is None or e.kind == kind)
        ]


def _fields(rows: list[dict[str, Any]], prefix: str) -> tuple[Field, ...]:
    out = []
    for row in rows:
        path = f"{prefix}.{row['name']}"
        out.append(
            Field(
                name=row["name"],
                id=row["id"],
                mandatory=bool(row["mandatory"]),
                type=row["type"],
                description=row.get("description"),
                path=path,
                format=row.get("format"),
                children=_fields(row.get("children", []), path),
            )
        )
    return tuple(out)


def _samples(entries: list[dict[str, Any]]) -> tuple[Sample, ...]:
    return tuple(
        Sample(id=s["id"], heading=s["heading"], message=s["message"], condition=s.get("condition"))
        for s in entries
    )


def parse_api(doc: dict[str, Any]) -> Api:
    """Build an :class:`Api` from one spec document (a parsed ``spec/apis/*.yaml``)."""
    note = doc.get("version_note") or {}
    return Api(
        name=doc["api"],
        abbr=doc["abbr"],
        title=doc["page"]["title"],
        ref=doc["page"]["ref"],
        summary=doc.get("summary") or "",
        prerequisites=tuple(doc.get("prerequisites", [])),
        request_envelope=dict(doc["request"]["envelope"]),
        request_data=_fields(doc["request"]["data"], "request.data"),
        response_envelope=dict(doc["response"]["envelope"]),
        response_message=_fields(doc["response"]["message"], "response.message"),
        errors=tuple(
            ErrorCase(e["id"], e["type"], e["condition"], e["message"], e.get("meaning"))
            for e in doc.get("errors", [])
        ),
        sample_requests=_samples(doc["samples"]["requests"]),
        sample_responses=_samples(doc["samples"]["responses"]),
        max_cm_version=note.get("max_cm_version"),
        version_note=note.get("text"),
    )


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (several times faster), else the pure-Python one."""


def load_yaml(text: str) -> Any:
    """``text`` read as YAML, safely and with libyaml when present: the spec, every case
    file and seeds are read this way on each run."""
    return yaml.load(text, Loader=_LOADER)


def _read_yaml(path: Path) -> Any:
    return load_yaml(path.read_text(encoding="utf-8"))


def _discrepancy(entry: dict[str, Any], all_apis: tuple[str, ...]) -> Discrepancy:
    def apis_of(value: Any) -> tuple[str, ...]:
        return all_apis if value == "all" else tuple(value)

    effects = tuple(
        Effect(
            discrepancy=entry["id"],
            kind=e["kind"],
            apis=apis_of(e["apis"]),
            path=e["path"],
            also=tuple(e.get("also", ())),
            values=tuple(e.get("values", ())),
            fields=tuple(e.get("fields", ())),
        )
        for e in entry.get("effects", [])
    )
    return Discrepancy(
        id=entry["id"],
        title=entry["title"],
        apis=apis_of(entry["apis"]),
        kind=entry["kind"],
        evidence=tuple(entry.get("evidence", [])),
        policy=dict(entry.get("policy", {})),
        effects=effects,
        locations=tuple((loc["api"], loc["path"]) for loc in entry.get("locations", [])),
    )


def load_spec(root: Path | None = None) -> Spec:
    """Read a spec directory (by default the suite's own ``spec/``)."""
    root = Path(root) if root else data_dir("spec")
    return _load(root.resolve())


@cache
def _load(root: Path) -> Spec:
    index = _read_yaml(root / "index.yaml")
    apis = {
        entry["api"]: parse_api(_read_yaml(root / "apis" / f"{entry['api']}.yaml"))
        for entry in index["apis"]
    }
    names = tuple(apis)
    discrepancies = {
        d["id"]: _discrepancy(d, names) for d in _read_yaml(root / "discrepancies.yaml")
    }
    formats = {
        name: Format(name, f["title"], f["pattern"], f["description"], tuple(f["examples"]))
        for name, f in _read_yaml(root / "formats.yaml").items()
    }
    return Spec(apis=apis, discrepancies=discrepancies, formats=formats, root=root)
