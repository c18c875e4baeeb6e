"""Measure the suite's power: mutants of the reference server, correct variants, a score.

A mutant is the reference server with one fault a real implementer could ship, applied
around it (:mod:`.faults`); the suite must FAIL it. A variant is an implementation the
docs allow; the suite must not FAIL it. :mod:`.driver` runs the suite against each in
parallel processes and scores the run.
"""

from __future__ import annotations

from .catalogue import MUTANTS
from .targets import AREAS, Mutant, Target, Variant
from .variants import VARIANTS

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


__all__ = ["AREAS", "MUTANTS", "TARGETS", "VARIANTS", "Mutant", "Target", "Variant", "select"]
