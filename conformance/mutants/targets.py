"""What a mutation run serves: faulty mutants, which the suite must catch, and correct
variants, which it must pass. Each is one of two implementations: the reference server
with a :class:`Fault` around it, or the foreign target (:mod:`conformance.foreign`, written
from the pages alone) with its open choices and deliberate faults (:class:`Foreign`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..foreign.target import Choices
from .faults import Fault

AREAS = ("envelope", "fields", "echo", "state", "errors", "robustness", "security")
"""Where a mutant's fault lies; a mutant's name starts with its area (after ``foreign.``)."""
IMPLEMENTATIONS = ("reference", "foreign")
FOREIGN = "foreign"


@dataclass(frozen=True)
class Foreign:
    """The foreign target with these open choices and deliberate faults (by name)."""

    choices: Choices = field(default_factory=Choices)
    faults: tuple[str, ...] = ()


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
    foreign: Foreign | None = None
    """Serve the foreign target instead of the reference server (then ``fault``, ``dialect``
    and ``cm_version`` do not apply)."""

    @property
    def implementation(self) -> str:
        """Which implementation is served: ``reference`` or ``foreign``."""
        return FOREIGN if self.foreign is not None else "reference"


@dataclass(frozen=True, kw_only=True)
class Mutant(Target):
    """A fault a real implementer could ship; the suite must FAIL it."""

    requirement: str
    """The requirement id (spec/) of the doc row the fault violates."""

    @property
    def area(self) -> str:
        return self.name.removeprefix(f"{FOREIGN}.").split(".", 1)[0]


@dataclass(frozen=True, kw_only=True)
class Variant(Target):
    """A correct implementation the docs allow; the suite must not FAIL it."""

    basis: str
    """What allows it: a registry entry, or the docs' silence on the point."""
