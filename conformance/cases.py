"""Load the example-based cases of ``cases/*.yaml``.

A case file is a list of cases. A case names its requirement ids, where the docs say
so, whether it is documented or inferred, and its steps; a step sends one frame (a
request built from the spec in the page's or the tables' form, a literal message, or
raw text) on one agent's connection and lists the checks to run on the reply.
``for_each`` expands one case into one per mandatory table row, so the cases stay
data and follow the spec when it changes. ``${name}`` and ``${name.member}`` are
filled from the run's variables (the target profile, the row of ``for_each``, and
values captured by earlier steps).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .messages import member
from .paths import data_dir
from .spec import Spec, load_yaml

BASES = ("documented", "inferred")
EXPECTS = ("response", "reply")
_CASE_KEYS = {"id", "title", "api", "requirements", "doc", "basis", "needs", "steps", "for_each"}
_STEP_KEYS = {"send", "frame", "raw", "agent", "expect", "checks", "capture", "require", "unless"}
_VAR = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


class CaseError(ValueError):
    """A case file is malformed; the message names the file, case and key."""


@dataclass(frozen=True)
class Step:
    """One frame sent and what to check in the reply."""

    send: dict[str, Any] | None = None
    frame: Any = None
    raw: str | None = None
    agent: int = 1
    expect: str = "response"
    checks: tuple[Any, ...] = ()
    capture: dict[str, str] = field(default_factory=dict)
    require: tuple[str, ...] = ()
    unless: str | None = None
    """Skip the step when this captured value is already non-empty (a contact the agent
    held already spares reserving a new one)."""


@dataclass(frozen=True)
class Case:
    """One conformance case, after ``for_each`` expansion (templates still unfilled)."""

    id: str
    title: str
    api: str
    requirements: tuple[str, ...]
    doc: str
    basis: str
    steps: tuple[Step, ...]
    needs: tuple[str, ...] = ()
    source: str = ""
    row: dict[str, Any] = field(default_factory=dict)


def fill(value: Any, variables: dict[str, Any]) -> Any:
    """Replace ``${…}`` in every string of a nested value.

    A string that is exactly one ``${…}`` takes the variable's value with its type;
    otherwise the value is formatted into the text. An unknown name raises KeyError.
    """
    if isinstance(value, str):
        whole = _VAR.fullmatch(value)
        if whole:
            name = whole.group(1)
            resolved = _resolve(name, variables)
            # A for_each row's values may hold ${…} themselves (a request's values from the
            # profile): fill them too. Values a target sent are never filled.
            return fill(resolved, variables) if name.startswith("row.") else resolved
        return _VAR.sub(lambda m: str(_resolve(m.group(1), variables)), value)
    if isinstance(value, list):
        return [fill(v, variables) for v in value]
    if isinstance(value, tuple):
        return tuple(fill(v, variables) for v in value)
    if isinstance(value, dict):
        return {fill(k, variables): fill(v, variables) for k, v in value.items()}
    return value


def _resolve(name: str, variables: dict[str, Any]) -> Any:
    head, *rest = name.split(".")
    if head not in variables:
        raise KeyError(name)
    node = variables[head]
    for part in rest:
        if isinstance(node, list):
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        else:
            node = member(node, part)
        if node is None:
            raise KeyError(name)
    return node


FOLLOW_UPS: tuple[dict[str, Any], ...] = (
    {"follow_api": "ManualDialCall", "follow_expect": "response", "follow_values": {"PhoneNumber": "${phone}"}},
    {"follow_api": "GetReservedManualDialContact", "follow_expect": "reply",
     "follow_values": {"AgentID": "${agent}", "NumberOfContactsRequired": 1, "Consent": True,
                       "ReservedContacts": True}},
)
"""The valid request sent after a bad one, on the same connection: a dial, or a read of the
agent's reserved contacts (it takes nothing; nothing to give may be refused) after a bad
dial, so a late answer to the bad request never carries the follow-up's subtopic."""


def mandatory_rows(spec: Spec) -> Iterable[dict[str, Any]]:
    """One ``for_each`` row per mandatory top-level request data row of every API, with the
    follow-up request of an API whose answer cannot be mistaken for the bad request's."""
    for api in spec.apis.values():
        follow = next(f for f in FOLLOW_UPS
                      if spec.api(f["follow_api"]).response_subtopic != api.response_subtopic)
        for row in api.request_data:
            if row.mandatory:
                yield {
                    "api": api.name,
                    "abbr": api.abbr,
                    "name": row.name,
                    "id": row.id,
                    "type": row.type,
                    "title": api.title,
                    **follow,
                }


def every_api(spec: Spec) -> Iterable[dict[str, Any]]:
    """One ``for_each`` row per documented API."""
    for api in spec.apis.values():
        yield {"api": api.name, "abbr": api.abbr, "title": api.title, "response": api.response_subtopic}


FOR_EACH = {"mandatory_row": mandatory_rows, "api": every_api}


def _rows(for_each: Any, spec: Spec, source: str) -> list[dict[str, Any]]:
    """The rows a case expands over: none, a named set from the spec, or a literal list."""
    if for_each is None:
        return [{}]
    if isinstance(for_each, list):
        return for_each
    if for_each not in FOR_EACH:
        raise CaseError(f"{source}: for_each must be a list or one of {sorted(FOR_EACH)}")
    return list(FOR_EACH[for_each](spec))


def _step(raw: dict[str, Any], where: str, row: dict[str, Any]) -> Step:
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown step key(s) {sorted(unknown)}")
    if sum(k in raw for k in ("send", "frame", "raw")) != 1:
        raise CaseError(f"{where}: a step has exactly one of send, frame, raw")
    expect = fill(raw.get("expect", "response"), {"row": row})
    if expect not in EXPECTS:
        raise CaseError(f"{where}: expect must be one of {EXPECTS}")
    send = raw.get("send")
    if send is not None:  # the API a step addresses is known at load time, from its row
        send = {**send, "api": fill(send["api"], {"row": row})}
    return Step(
        send=send,
        frame=raw.get("frame"),
        raw=raw.get("raw"),
        agent=int(raw.get("agent", 1)),
        expect=expect,
        checks=tuple(raw.get("checks", ())),
        capture=dict(raw.get("capture", {})),
        require=tuple(raw.get("require", ())),
        unless=raw.get("unless"),
    )


def _case(raw: dict[str, Any], source: str, row: dict[str, Any]) -> Case:
    where = f"{source}: case {raw.get('id', '?')}"
    unknown = set(raw) - _CASE_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown key(s) {sorted(unknown)}")
    for key in ("id", "title", "api", "requirements", "doc", "basis", "steps"):
        if key not in raw:
            raise CaseError(f"{where}: missing key {key!r}")
    if raw["basis"] not in BASES:
        raise CaseError(f"{where}: basis must be one of {BASES}")
    head = fill({k: raw[k] for k in ("id", "title", "api", "requirements", "doc")}, {"row": row})
    return Case(
        id=head["id"],
        title=head["title"],
        api=head["api"],
        requirements=tuple(head["requirements"]),
        doc=head["doc"],
        basis=raw["basis"],
        steps=tuple(_step(s, f"{where}, step {i}", row) for i, s in enumerate(raw["steps"], 1)),
        needs=tuple(fill(raw.get("needs", []), {"row": row})),
        source=source,
        row=row,
    )


def parse_cases(entries: Any, spec: Spec, source: str) -> list[Case]:
    """The cases of one parsed case file (a YAML list), expanded, checked, ids unique."""
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(raw, dict) for raw in entries):
        raise CaseError(f"{source}: a case file is a list of cases")
    cases = [
        _case(raw, source, row) for raw in entries for row in _rows(raw.get("for_each"), spec, source)
    ]
    return _checked(cases, spec)


def load_case_file(spec: Spec, path: Path) -> list[Case]:
    """The cases of one case file, e.g. a failing example a property test wrote out."""
    path = Path(path)
    try:
        entries = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CaseError(f"{path}: {exc}") from exc
    return parse_cases(entries, spec, path.name)


def load_cases(spec: Spec, directory: Path | None = None) -> list[Case]:
    """Every case of every file, expanded, in file order; ids must be unique."""
    directory = directory or data_dir("cases")
    cases = [
        case
        for path in sorted(directory.glob("*.yaml"))
        for case in parse_cases(load_yaml(path.read_text(encoding="utf-8")), spec, path.name)
    ]
    return _checked(cases, spec)


def _checked(cases: list[Case], spec: Spec) -> list[Case]:
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise CaseError(f"{case.source}: duplicate case id {case.id}")
        seen.add(case.id)
        if case.api not in spec.apis and case.api != "*":
            raise CaseError(f"{case.source}: case {case.id} names unknown API {case.api!r}")
    return cases
