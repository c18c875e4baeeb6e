"""Traceability: which cases cover each documented requirement.

A requirement is a table row (envelope or field), a sample message or an error case,
each with its spec id. A case covers the ids it names, and a case step that checks a
reply against the schema covers every response row of that API, since the schema
judges each of them.
"""

from __future__ import annotations

from collections import defaultdict

from .cases import Case
from .spec import Spec


def _schema_checked_apis(case: Case) -> set[str]:
    return {
        step.send["api"]
        for step in case.steps
        if step.send and "schema" in step.checks
    }


def coverage(spec: Spec, cases: list[Case]) -> dict[str, list[str]]:
    """Requirement id → ids of the cases that cover it, for every documented requirement."""
    covering: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        for req in case.requirements:
            covering[req].add(case.id)
        for name in _schema_checked_apis(case) | ({case.api} if case.api in spec.apis else set()):
            if any("schema" in s.checks for s in case.steps):
                for req in spec.api(name).requirement_ids("response"):
                    covering[req].add(case.id)
    return {
        req: sorted(covering.get(req, ()))
        for api in spec.apis.values()
        for req in api.requirement_ids()
    }


def unknown_requirements(spec: Spec, cases: list[Case]) -> list[str]:
    """Requirement ids named by cases that the spec does not define (a typo guard)."""
    known = {req for api in spec.apis.values() for req in api.requirement_ids()}
    return sorted({f"{c.id}: {r}" for c in cases for r in c.requirements if r not in known})
