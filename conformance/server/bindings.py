"""Resolve ``bindings.yaml``: the doc name, sample text or error case behind each role.

Handlers and the seed loader ask for roles ("the agent", "the result object"); this
module answers with the names spec/ gives, and refuses to load if spec/ lacks one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..spec import DOC_TYPES, Api, Spec
from .wire import DATA

BINDINGS_FILE = Path(__file__).with_name("bindings.yaml")
_REQUEST_DATA = f"request.{DATA}"
_REQUEST_ENVELOPE = "request.envelope."


class BindingError(ValueError):
    """bindings.yaml names something spec/ does not have."""


@dataclass(frozen=True)
class Operation:
    """One API as a handler sees it: the doc name and JSON type behind each role."""

    api: Api
    paths: Mapping[str, str]
    names: Mapping[str, str]
    types: Mapping[str, str]
    copies: tuple[tuple[str, str], ...] = ()
    """(response field, request envelope member it repeats), for answers that echo."""

    def __getitem__(self, role: str) -> str:
        return self.names[role]

    def wrap(self, role: str, value: Any) -> Any:
        """Put a value in the shape the role's table row gives (a JSON Array or not)."""
        return [value] if self.types[role] == "array" else value


@dataclass(frozen=True)
class Bindings:
    operations: Mapping[str, Operation]
    contact: Operation
    result: Operation
    texts: Mapping[str, str]
    error_type: str


def _field_types(spec: Spec, api: Api) -> dict[str, str]:
    """Path -> JSON type of every table row, and of every field a sample_fields effect adds."""
    types = {f.path: f.json_type for f in api.fields()}

    def add(prefix: str, rows: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> None:
        for row in rows:
            path = f"{prefix}.{row['name']}"
            types.setdefault(path, DOC_TYPES[row["type"]])
            add(path, row.get("children", ()))

    for effect in spec.effects(api.name, kind="sample_fields"):
        add(effect.path, effect.fields)
    return types


def _operation(spec: Spec, entry: Mapping[str, Any], where: str) -> Operation:
    try:
        api = spec.api(entry["api"])
    except KeyError as exc:
        raise BindingError(f"{where}: {exc}") from None
    types = _field_types(spec, api)
    paths = dict(entry.get("roles", {}))
    for role, path in paths.items():
        if path not in types:
            raise BindingError(f"{where}.{role}: {api.name} has no field {path}")
    copies = []
    for target, source in entry.get("copies", {}).items():
        if target not in types:
            raise BindingError(f"{where}.copies: {api.name} has no field {target}")
        member = DATA if source == _REQUEST_DATA else source.removeprefix(_REQUEST_ENVELOPE)
        if member not in api.request_envelope:
            raise BindingError(f"{where}.copies: {api.name} has no request part {source}")
        copies.append((target.rsplit(".", 1)[1], member))
    return Operation(
        api=api,
        paths=paths,
        names={role: path.rsplit(".", 1)[1] for role, path in paths.items()},
        types={role: types[path] for role, path in paths.items()},
        copies=tuple(copies),
    )


def _text(spec: Spec, role: str, entry: Mapping[str, str]) -> tuple[str, str | None]:
    """The doc text bound to a role, and the error type when it is an error case."""
    for api in spec.apis.values():
        if "error" in entry:
            for case in api.errors:
                if case.id == entry["error"]:
                    return case.message, case.type
        else:
            for sample in (*api.sample_requests, *api.sample_responses):
                if sample.id == entry["sample"]:
                    value: Any = sample.message
                    for part in entry["path"].split("."):
                        value = value.get(part) if isinstance(value, dict) else None
                    if isinstance(value, str):
                        return value, None
                    raise BindingError(f"texts.{role}: {sample.id} has no text at {entry['path']}")
    raise BindingError(f"texts.{role}: spec has no {entry}")


def load_bindings(spec: Spec, path: Path = BINDINGS_FILE) -> Bindings:
    """Read bindings.yaml and resolve every role against ``spec``."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    operations = {
        name: _operation(spec, entry, f"operations.{name}")
        for name, entry in doc["operations"].items()
    }
    texts, error_types = {}, set()
    for role, entry in doc["texts"].items():
        texts[role], error_type = _text(spec, role, entry)
        if error_type:
            error_types.add(error_type)
    if len(error_types) != 1:
        raise BindingError(f"texts: the bound error cases must share one error type, got {error_types}")
    return Bindings(
        operations=operations,
        contact=_operation(spec, doc["contact"], "contact"),
        result=_operation(spec, doc["result"], "result"),
        texts=texts,
        error_type=error_types.pop(),
    )
