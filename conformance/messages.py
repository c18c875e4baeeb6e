"""Build request messages in the two forms clients copy: as the page's sample shows
them, and as the tables write them; and read values out of replies whatever
spelling or shape the target chose.

Pure functions over spec data, no I/O. Values are given by table name; each form
decides the member's spelling and JSON type from the spec, so a case can say "this
agent, this account" once and send it both ways.
"""

from __future__ import annotations

import copy
from typing import Any

from .spec import Api, Field, Spec

FORMS = ("page", "tables")
TRUE_WORDS = frozenset({"yes", "true", "1"})


def truthy(value: Any) -> bool:
    """A Boolean as the tables write it, or as the samples do ("Yes", "true")."""
    return value if isinstance(value, bool) else str(value).strip().casefold() in TRUE_WORDS


def _as_number(value: Any) -> int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    return float(text) if "." in text else int(text)


def to_table_type(row: Field, value: Any) -> Any:
    """Convert a value to the JSON type the row's table gives."""
    if row.json_type == "string":
        return value if isinstance(value, str) else _scalar_text(value)
    if row.json_type == "number":
        return _as_number(value)
    if row.json_type == "boolean":
        return truthy(value)
    return value


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def outcome_key(value: Any) -> str:
    """Outcome ids compared as text: one page types them Number, another String."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _to_sample_type(sample_value: Any, value: Any, spec: Spec, api: Api, row: Field) -> Any:
    """Convert a value to the JSON type (and wording) the page's sample uses."""
    if isinstance(sample_value, bool):
        return truthy(value)
    if isinstance(sample_value, (int, float)):
        return _as_number(value)
    if row.json_type == "boolean" and isinstance(sample_value, str):
        return _boolean_word(spec, api, row, sample_value, truthy(value))
    return value if isinstance(value, str) else _scalar_text(value)


def _boolean_word(spec: Spec, api: Api, row: Field, sample_word: str, flag: bool) -> str:
    """The string the sample uses for true, or its registered counterpart for false."""
    if truthy(sample_word) == flag:
        return sample_word
    words = [w for e in spec.effects(api.name, row.path, "type") for w in e.values]
    style = sample_word.casefold() in ("yes", "no")
    return next(
        (w for w in words if truthy(w) == flag and (w.casefold() in ("yes", "no")) == style),
        "false" if not flag else "true",
    )


def spelling_in_sample(api: Api, row: Field, body: dict[str, Any]) -> str:
    """The member name the sample body uses for a table row (it may differ in case)."""
    if row.name in body:
        return row.name
    folded = row.name.casefold()
    return next((k for k in body if k.casefold() == folded), row.name)


def build_request(
    spec: Spec,
    api_name: str,
    form: str,
    values: dict[str, Any] | None = None,
    *,
    source: str = "lcm-conformance",
) -> dict[str, Any]:
    """A request for ``api_name`` in ``form`` ("page" or "tables"), with values by table name.

    The page form copies the first sample request (its envelope, spellings and types)
    and replaces the values given; the tables form uses the envelope of the Request
    Parameters table, the table names and the table types. Rows without a value keep
    the sample's value.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, not {form!r}")
    api = spec.api(api_name)
    values = dict(values or {})
    sample = copy.deepcopy(api.sample_requests[0].message)
    sample_data = sample.get("data", {})
    if form == "page":
        for row in api.request_data:
            if row.name in values:
                key = spelling_in_sample(api, row, sample_data)
                sample_data[key] = _to_sample_type(sample_data.get(key), values[row.name], spec, api, row)
        return sample
    data: dict[str, Any] = {}
    for row in api.request_data:
        key = spelling_in_sample(api, row, sample_data)
        raw = values.get(row.name, sample_data.get(key))
        if raw is not None:
            data[row.name] = to_table_type(row, raw)
    envelope = api.request_envelope
    return {
        "channel": envelope["channel"],
        "topic": envelope["topic"],
        "subtopic": envelope["subtopic"],
        "source": source,
        "data": data,
    }


def member(obj: Any, name: str) -> Any:
    """A member of an object by its table name, accepting another spelling of case."""
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    folded = name.casefold()
    return next((v for k, v in obj.items() if k.casefold() == folded), None)


def items(value: Any) -> list[Any]:
    """A JSON Array as a list, and a single object (the samples' form) as a list of one."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def lookup(message: Any, path: str) -> Any:
    """Follow a dotted path of table names; a list on the way yields its first item."""
    node = message
    for part in path.split("."):
        if isinstance(node, list):
            node = node[0] if node else None
        node = member(node, part)
    return node
