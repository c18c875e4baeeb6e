"""What a mutation run serves: faulty mutants, which the suite must catch, and correct
variants, which it must pass. Both are the reference server with a :class:`Fault` around it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .faults import Fault

AREAS = ("envelope", "fields", "echo", "state", "errors", "robustness", "security")
"""Where a mutant's fault lies; a mutant's name starts with its area."""


@dataclass(frozen=True, kw_only=True)
class Target:
    """A server to run the suite against: the reference with a fault (maybe none)."""

    name: str
    description: str
    fault: Fault = Fault()
    dialect: str | None = None
    """The reference dialect to start from; None takes the caller's (``samples`` by default)."""
    cm_version: int | None = None
    """The Campaign Manager version the server acts as; None takes the caller's."""
    profile: Mapping[str, Any] = field(default_factory=dict)
    """Target-profile overrides for the run (a None value removes the key)."""
    fast: bool = False
    """In the fast subset CI runs."""


@dataclass(frozen=True, kw_only=True)
class Mutant(Target):
    """A fault a real implementer could ship; the suite must FAIL it."""

    requirement: str
    """The requirement id (spec/) of the doc row the fault violates."""

    @property
    def area(self) -> str:
        return self.name.split(".", 1)[0]


@dataclass(frozen=True, kw_only=True)
class Variant(Target):
    """A correct implementation the docs allow; the suite must not FAIL it."""

    basis: str
    """What allows it: a registry entry, or the docs' silence on the point."""
