"""Measure the suite's power: mutants of two implementations, correct variants, a score.

A mutant is an implementation with one fault a real implementer could ship; the suite
must FAIL it. A variant is an implementation the docs allow; the suite must not FAIL it.
There are two implementations: the reference server, its faults applied around it
(:mod:`.faults`, :mod:`.catalogue`), and the foreign target written from the pages alone,
its faults switched on inside it (:mod:`conformance.foreign.faults`, :mod:`.foreign`).
:mod:`.driver` runs the suite against each in parallel processes and scores the run, per
implementation.
"""

from __future__ import annotations

from .catalogue import MUTANTS as REFERENCE_MUTANTS
from .foreign import FOREIGN_MUTANTS, FOREIGN_VARIANTS
from .targets import AREAS, IMPLEMENTATIONS, Mutant, Target, Variant
from .variants import VARIANTS as REFERENCE_VARIANTS

MUTANTS: tuple[Mutant, ...] = (*REFERENCE_MUTANTS, *FOREIGN_MUTANTS)
"""Every mutant: the reference server's, then the foreign target's (``foreign.*``)."""
VARIANTS: tuple[Variant, ...] = (*REFERENCE_VARIANTS, *FOREIGN_VARIANTS)
"""Every correct variant: the reference server's, then the foreign target's."""
TARGETS: dict[str, Target] = {t.name: t for t in (*MUTANTS, *VARIANTS)}
"""Every mutant and variant by name (the names are unique across both)."""


def select(patterns: list[str] | tuple[str, ...] = (), *, fast: bool = False) -> list[Target]:
    """Targets by name (a trailing ``*`` matches a prefix), or all; ``fast``: the CI subset.

    Raises KeyError naming a pattern that matches nothing.
    """
    chosen = [t for t in TARGETS.values() if not fast or t.fast]
    if not patterns:
        return chosen
    picked: dict[str, Target] = {}
    for pattern in patterns:
        hits = {name: t for name, t in TARGETS.items()
                if name == pattern or (pattern.endswith("*") and name.startswith(pattern[:-1]))}
        if not hits:
            raise KeyError(f"no mutant or variant matches {pattern!r}; `lcm-conformance mutants list` names them")
        picked.update(hits)
    return list(picked.values())


__all__ = ["AREAS", "FOREIGN_MUTANTS", "FOREIGN_VARIANTS", "IMPLEMENTATIONS", "MUTANTS", "REFERENCE_MUTANTS",
           "REFERENCE_VARIANTS", "TARGETS", "VARIANTS", "Mutant", "Target", "Variant", "select"]
