"""Load a seed: the agents, contacts, calls and outcome ids a server starts with.

The format is described in docs/seed-format.md. Contact fields carry the names of the
contact download's response table (or a spelling the registry lists for them) and are
checked against that table's types, so a seed cannot hold a contact the server could
not send.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..spec import Spec, load_yaml
from .bindings import Bindings
from .inputs import BadRequest, FieldRule, json_type
from .state import Call, Contact, State, Status

SeedSource = str | os.PathLike[str] | Mapping[str, Any]
OUTCOME_KINDS = ("telephony", "business")
RESERVED_TO, CLOSED = "reserved_to", "closed"
CALLID, ACCOUNT = "callid", "account"


class SeedError(ValueError):
    """A seed that cannot be loaded; the text names the place."""


class ContactReader:
    """Reads contact entries of a seed against the contact download's table."""

    def __init__(self, spec: Spec, bindings: Bindings) -> None:
        contact = bindings.contact
        self.names = contact.names
        table = contact.api.field(contact.paths["id"].rsplit(".", 1)[0])
        self.rules = tuple(FieldRule.of(spec, contact.api, f) for f in table.children)
        self.spellings = {s for rule in self.rules for s in rule.spellings}
        asked = FieldRule.of(spec, contact.api, contact.api.field(contact.paths["asked_consent"]))
        if not asked.words:
            raise SeedError(f"the registry lists no strings for {asked.name}; consent strings cannot be read")
        self.words: Mapping[str, bool] = asked.words

    def record(self, entry: Mapping[str, Any], where: str) -> dict[str, Any]:
        """The contact's fields under their table names, in table order."""
        unknown = set(entry) - self.spellings - {RESERVED_TO, CLOSED}
        if unknown:
            raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        record = {}
        for rule in self.rules:
            try:
                present, value = rule.read(entry, where)
            except BadRequest as exc:
                raise SeedError(exc.text) from None
            if present:
                record[rule.name] = value
        return record

    def contact(self, entry: Any, where: str) -> Contact:
        if not isinstance(entry, Mapping):
            raise SeedError(f"{where} must be a mapping of contact fields")
        record = self.record(entry, where)
        names = self.names
        contact_id, consent = record[names["id"]], record[names["consent"]]
        if json_type(contact_id) != "integer":
            raise SeedError(f"{where}.{names['id']} must be a whole number, not {contact_id!r}")
        if consent not in self.words:
            raise SeedError(f"{where}.{names['consent']} must be one of {', '.join(map(repr, self.words))}")
        agent, closed = entry.get(RESERVED_TO), entry.get(CLOSED, False)
        if not isinstance(closed, bool) or (agent is not None and not isinstance(agent, str)):
            raise SeedError(f"{where}: {RESERVED_TO} is an agent id and {CLOSED} true or false")
        if closed and agent is not None:
            raise SeedError(f"{where}: a closed contact is reserved to no one")
        return Contact(
            contact_id=contact_id,
            account=record[names["account"]],
            phone=record[names["phone"]],
            consent=self.words[consent],
            record=record,
            status=Status.CLOSED if closed else Status.RESERVED if agent else Status.OPEN,
            agent=agent,
        )


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise SeedError(f"{key} must be a list")
    return value


def _call(entry: Any, where: str) -> Call:
    if not isinstance(entry, Mapping) or set(entry) != {CALLID, ACCOUNT}:
        raise SeedError(f"{where} must have exactly {CALLID} and {ACCOUNT}")
    if not all(isinstance(entry[k], str) for k in (CALLID, ACCOUNT)) or not entry[CALLID]:
        raise SeedError(f"{where}: {CALLID} is a non-empty string and {ACCOUNT} a string")
    return Call(entry[CALLID], entry[ACCOUNT])


def _outcomes(doc: Mapping[str, Any]) -> dict[str, list[str | int]]:
    outcomes = doc.get("outcomes", {})
    if not isinstance(outcomes, Mapping) or not set(outcomes) <= set(OUTCOME_KINDS):
        raise SeedError(f"outcomes must be a mapping with the keys {' and '.join(OUTCOME_KINDS)}")
    out = {}
    for kind in OUTCOME_KINDS:
        ids = _list(outcomes, kind)
        if not all(json_type(i) in ("string", "integer") for i in ids):
            raise SeedError(f"outcomes.{kind} must list strings or whole numbers")
        out[kind] = ids
    return out


def build_state(doc: Any, spec: Spec, bindings: Bindings) -> State:
    """A fresh :class:`State` from a parsed seed document."""
    if not isinstance(doc, Mapping):
        raise SeedError("a seed is a mapping with agents, outcomes, contacts and calls")
    unknown = set(doc) - {"agents", "outcomes", "contacts", "calls"}
    if unknown:
        raise SeedError(f"unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}")
    agents = _list(doc, "agents")
    if not all(isinstance(a, str) and a for a in agents):
        raise SeedError("agents must list non-empty strings")
    reader = ContactReader(spec, bindings)
    contacts = [reader.contact(c, f"contacts[{i}]") for i, c in enumerate(_list(doc, "contacts"))]
    calls = [_call(c, f"calls[{i}]") for i, c in enumerate(_list(doc, "calls"))]
    if len({c.callid for c in calls}) != len(calls):
        raise SeedError("two calls have the same callid")
    outcomes = _outcomes(doc)
    try:
        return State(
            agents=agents,
            contacts=contacts,
            calls=calls,
            telephony_outcomes=outcomes["telephony"],
            business_outcomes=outcomes["business"],
        )
    except ValueError as exc:
        raise SeedError(str(exc)) from None


def read_seed(source: SeedSource) -> Any:
    """A seed document from a YAML file, or the mapping itself."""
    if isinstance(source, Mapping):
        return source
    try:
        return load_yaml(Path(source).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"cannot read seed {source}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SeedError(f"seed {source} is not YAML: {exc}") from None
