"""Traceability: which cases cover each documented requirement.

A requirement is a table row (envelope or field), a sample message or an error case,
each with its spec id. A case covers the ids it names, and a case step that checks a
reply against the schema covers every response row of that API, since the schema
judges each of them.
"""

from __future__ import annotations

from collections import defaultdict

from .cases import Case
from .spec import Api, Spec


def requirement_ids(api: Api) -> list[str]:
    """Every documented requirement of one page, in page order."""
    ids = [f"{api.abbr}.request.envelope.{k}" for k in api.request_envelope]
    ids += [f.id for top in api.request_data for f in top.walk()]
    ids += [f"{api.abbr}.response.envelope.{k}" for k in api.response_envelope]
    ids += [f.id for top in api.response_message for f in top.walk()]
    ids += [s.id for s in (*api.sample_requests, *api.sample_responses)]
    ids += [e.id for e in api.errors]
    return ids


def _response_ids(api: Api) -> list[str]:
    return [f"{api.abbr}.response.envelope.{k}" for k in api.response_envelope] + [
        f.id for top in api.response_message for f in top.walk()
    ]


def _schema_checked_apis(case: Case) -> set[str]:
    return {
        step.send["api"]
        for step in case.steps
        if step.send and "schema" in step.checks and "${" not in step.send["api"]
    }


def coverage(spec: Spec, cases: list[Case]) -> dict[str, list[str]]:
    """Requirement id → ids of the cases that cover it, for every documented requirement."""
    covering: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        for req in case.requirements:
            covering[req].add(case.id)
        for name in _schema_checked_apis(case) | ({case.api} if case.api in spec.apis else set()):
            if any("schema" in s.checks for s in case.steps):
                for req in _response_ids(spec.api(name)):
                    covering[req].add(case.id)
    return {
        req: sorted(covering.get(req, ()))
        for api in spec.apis.values()
        for req in requirement_ids(api)
    }


def unknown_requirements(spec: Spec, cases: list[Case]) -> list[str]:
    """Requirement ids named by cases that the spec does not define (a typo guard)."""
    known = {req for api in spec.apis.values() for req in requirement_ids(api)}
    return sorted({f"{c.id}: {r}" for c in cases for r in c.requirements if r not in known})
