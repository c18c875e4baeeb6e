"""Put outcomes into words: the two ways the docs write responses.

``tables`` answers as the Response Parameters tables say (their envelope values, names
and JSON Array shapes). ``samples`` answers as the sample responses do; it is derived,
not written out: the registry's name and shape effects are applied where the API's
sample response shows them, and the envelope is the sample's.

Error replies are not documented; their shape is this project's inference (README,
"Error replies"): the envelope of the API's response (or the error type as subtopic when
the API is unknown) and a message with a failed result object and an ``error`` member.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..spec import Api, Spec
from .bindings import Bindings
from .outcomes import Failure, Outcome
from .wire import MESSAGE, SUBTOPIC

DIALECTS = ("samples", "tables")
ERROR_MEMBER, ERROR_TYPE, ERROR_TEXT = "error", "type", "message"
"""The error member of an error reply and its two fields (our inference, not the docs')."""

Path = tuple[str, ...]


@dataclass(frozen=True)
class Style:
    """How one API's answers are reworded from table form."""

    envelope: Mapping[str, str]
    renames: Mapping[Path, Mapping[str, str]]
    """Under a table path: table name -> the spelling to send."""
    collapse: frozenset[Path]
    """Table paths where a lone array item is sent as a bare object."""

    @cached_property
    def walk(self) -> frozenset[Path]:
        """Paths at or above a rename or collapse: only these need walking."""
        return frozenset(p[:n] for p in {*self.renames, *self.collapse} for n in range(len(p) + 1))

    def reword(self, value: Any, path: Path = ()) -> Any:
        if path not in self.walk:
            return value
        if isinstance(value, list):
            items = [self.reword(item, path) for item in value]
            return items[0] if path in self.collapse and len(items) == 1 else items
        if isinstance(value, dict):
            names = self.renames.get(path, {})
            return {names.get(k, k): self.reword(v, (*path, k)) for k, v in value.items()}
        return value


def _envelope(members: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in members.items() if k != MESSAGE}


def _at(value: Any, parts: Path) -> Any:
    """The node a table path names in a sample message (an array stands for its items)."""
    for part in parts:
        if isinstance(value, list):
            value = value[0] if value else None
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _table_style(spec: Spec, api: Api) -> Style:
    return Style(_envelope(api.response_envelope), {}, frozenset())


def _sample_style(spec: Spec, api: Api) -> Style:
    if not api.sample_responses:
        return _table_style(spec, api)
    renames: dict[Path, dict[str, str]] = {}
    collapse = set()
    prefix = f"response.{MESSAGE}."
    effects = [e for e in spec.effects(api.name) if e.path.startswith(prefix)]
    for sample in api.sample_responses:
        message = sample.message.get(MESSAGE)
        for effect in effects:
            parts = tuple(effect.path.removeprefix(prefix).split("."))
            if effect.kind == "name" and isinstance(parent := _at(message, parts[:-1]), dict):
                for spelling in effect.also:
                    if spelling in parent:
                        renames.setdefault(parts[:-1], {})[parts[-1]] = spelling
            elif effect.kind == "shape" and isinstance(_at(message, parts), dict):
                collapse.add(parts)
    return Style(_envelope(api.sample_responses[0].message), renames, frozenset(collapse))


class Dialect:
    """Renders outcomes as JSON-ready replies in one wording."""

    def __init__(self, name: str, styles: Mapping[str, Style], bindings: Bindings) -> None:
        self.name = name
        self.styles = styles
        self.error_type = bindings.error_type
        self.result = bindings.result
        # A failure for an unknown API goes out under the channel and topic most of this
        # dialect's answers use, with the error type as subtopic.
        common = Counter(
            tuple((k, v) for k, v in s.envelope.items() if k != SUBTOPIC) for s in styles.values()
        ).most_common(1)[0][0]
        self.fallback = {**dict(common), SUBTOPIC: self.error_type}

    def render(self, outcome: Outcome) -> list[dict[str, Any]]:
        """The replies for one outcome (one, for the clean server)."""
        if isinstance(outcome, Failure):
            return [self._failure(outcome)]
        style = self.styles[outcome.api]
        return [{**style.envelope, MESSAGE: style.reword(outcome.message)}]

    def _failure(self, failure: Failure) -> dict[str, Any]:
        style = self.styles.get(failure.api) if failure.api else None
        result = {self.result["success"]: False, self.result["msg"]: failure.text}
        message = {
            **failure.echo,
            self.result["object"]: result,
            ERROR_MEMBER: {ERROR_TYPE: self.error_type, ERROR_TEXT: failure.text},
        }
        return {**(style.envelope if style else self.fallback), MESSAGE: message}


def build_dialect(name: str, spec: Spec, bindings: Bindings) -> Dialect:
    """One of :data:`DIALECTS`, for every API of ``spec``."""
    if name not in DIALECTS:
        raise ValueError(f"unknown dialect {name!r}; choose one of {', '.join(DIALECTS)}")
    make = _sample_style if name == "samples" else _table_style
    return Dialect(name, {api.name: make(spec, api) for api in spec.apis.values()}, bindings)
