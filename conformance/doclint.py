"""Find the places where the doc pages contradict themselves.

Three comparisons, all on spec data (no I/O): each sample message against its
tables, the request tables of a page against its response tables, and each page's
tables against the other pages'. Every finding must be explained by an entry of
the discrepancy registry; :func:`unregistered` lists those that are not, so a
re-imported page with a new contradiction cannot slip in unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from .spec import Api, Field, Spec

PLACEHOLDER_PREFIX = "«"
NO_DATA = "N/A"

EFFECT_FOR_FINDING = {
    "value": "value",
    "presence": "optional",
    "name": "name",
    "type": "type",
    "shape": "shape",
    "untabled": "sample_fields",
}
"""Which registry effect kind explains a table-vs-sample finding of each kind."""


@dataclass(frozen=True, order=True)
class Finding:
    """One mismatch: at ``path`` of ``api`` the table says ``says``, ``where`` has ``found``."""

    api: str
    path: str
    kind: str
    says: str
    found: str
    where: str
    origin: str = "sample"

    def describe(self) -> str:
        return (
            f"{self.api} {self.path}: {self.kind} mismatch, table says {self.says!r}, "
            f"{self.where} has {self.found!r}"
        )


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (as JSON Schema spells it)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class _SampleComparer:
    """Compares one sample message with the table rows it should follow."""

    def __init__(self, api: Api, where: str) -> None:
        self.api = api
        self.where = where
        self.findings: list[Finding] = []

    def add(self, path: str, kind: str, says: Any, found: Any) -> None:
        self.findings.append(Finding(self.api.name, path, kind, str(says), str(found), self.where))

    def envelope(self, table: dict[str, str], sample: dict[str, Any], direction: str) -> None:
        for key, says in table.items():
            path = f"{direction}.envelope.{key}"
            if key not in sample:
                self.add(path, "presence", says, "no such member")
            elif says == NO_DATA:
                self.add(path, "value", says, json_type(sample[key]))
            elif not says.startswith(PLACEHOLDER_PREFIX) and sample[key] != says:
                self.add(path, "value", says, sample[key])

    def object(self, rows: Iterable[Field], obj: dict[str, Any], parent: str) -> None:
        matched: set[str] = set()
        for row in rows:
            key = row.name if row.name in obj else _case_twin(row.name, obj)
            if key is None:
                if row.mandatory:
                    self.add(row.path, "presence", row.name, "no such member")
                continue
            matched.add(key)
            if key != row.name:
                self.add(row.path, "name", row.name, key)
            self.value(row, obj[key])
        for key in sorted(set(obj) - matched):
            self.add(parent, "untabled", "no such row", key)

    def value(self, row: Field, value: Any) -> None:
        found = json_type(value)
        if row.json_type == "array" and found == "object":
            self.add(row.path, "shape", row.type, "a single object")
            self.object(row.children, value, row.path)
        elif row.json_type == "array" and found == "array":
            for item in value:
                if isinstance(item, dict):
                    self.object(row.children, item, row.path)
        elif row.json_type == "object" and found == "object":
            if row.children:
                self.object(row.children, value, row.path)
        elif row.json_type != found:
            self.add(row.path, "type", row.type, f"{value!r} ({found})")


def _case_twin(name: str, obj: dict[str, Any]) -> str | None:
    folded = name.casefold()
    return next((k for k in obj if k.casefold() == folded), None)


def sample_findings(api: Api) -> list[Finding]:
    """Every way the page's samples differ from its tables."""
    found: list[Finding] = []
    for direction, samples, table, body_key, rows in (
        ("request", api.sample_requests, api.request_envelope, "data", api.request_data),
        ("response", api.sample_responses, api.response_envelope, "message", api.response_message),
    ):
        for sample in samples:
            cmp = _SampleComparer(api, sample.id)
            cmp.envelope(table, sample.message, direction)
            body = sample.message.get(body_key)
            if isinstance(body, dict):
                cmp.object(rows, body, f"{direction}.{body_key}")
            found.extend(cmp.findings)
    return found


def _by_folded_name(fields: Iterable[Field]) -> dict[str, Field]:
    return {f.name.casefold(): f for f in fields}


def _field_clash(
    api: Api, mine: Field, other: Field, where: str, origin: str
) -> Iterator[Finding]:
    if mine.name != other.name:
        yield Finding(api.name, mine.path, "name", mine.name, other.name, where, origin)
    if mine.type != other.type:
        yield Finding(api.name, mine.path, "type", mine.type, other.type, where, origin)


def table_findings(api: Api) -> list[Finding]:
    """Where a page's request tables and response tables disagree with each other."""
    found = [
        Finding(api.name, f"response.envelope.{key}", "value", api.response_envelope[key],
                api.request_envelope[key], "the request table", "tables")
        for key in ("channel", "topic")
        if api.response_envelope.get(key) != api.request_envelope.get(key)
    ]
    request_fields = _by_folded_name(f for top in api.request_data for f in top.walk())
    for top in api.response_message:
        for f in top.walk():
            twin = request_fields.get(f.name.casefold())
            if twin is not None:
                found.extend(_field_clash(api, f, twin, "the request table", "tables"))
    return found


def cross_page_findings(spec: Spec) -> list[Finding]:
    """Where two pages name or type the same field differently."""
    found: list[Finding] = []
    for a, b in combinations(spec.apis.values(), 2):
        for direction in ("request", "response"):
            fields_a = _by_folded_name(f for f in a.fields() if f.path.startswith(direction))
            fields_b = _by_folded_name(f for f in b.fields() if f.path.startswith(direction))
            for folded in sorted(fields_a.keys() & fields_b.keys()):
                fa, fb = fields_a[folded], fields_b[folded]
                found.extend(_field_clash(a, fa, fb, f"the {b.name} page", "pages"))
                found.extend(_field_clash(b, fb, fa, f"the {a.name} page", "pages"))
    return found


def all_findings(spec: Spec) -> list[Finding]:
    """Every mismatch the lint can find in the whole spec, sorted."""
    found = [f for api in spec.apis.values() for f in (*sample_findings(api), *table_findings(api))]
    found.extend(cross_page_findings(spec))
    return sorted(set(found))


def explaining(spec: Spec, finding: Finding) -> list[str]:
    """The ids of the registry entries that explain a finding.

    A sample finding is explained by an effect of the matching kind at its place; a
    finding between tables or pages only by an entry that lists its place.
    """
    place = (finding.api, finding.path)
    ids = [d.id for d in spec.discrepancies.values() if place in d.locations]
    if finding.origin == "sample":
        kind = EFFECT_FOR_FINDING[finding.kind]
        ids += [e.discrepancy for e in spec.effects(finding.api, finding.path, kind)]
    return sorted(set(ids))


def unregistered(spec: Spec) -> list[Finding]:
    """Findings no registry entry explains: each is a contradiction to register."""
    return [f for f in all_findings(spec) if not explaining(spec, f)]
