"""Traceability: every table row, sample and error case of every page has a case."""

from __future__ import annotations

from conformance.cases import load_cases
from conformance.cli import main
from conformance.coverage import coverage, unknown_requirements
from conformance.spec import load_spec

SPEC = load_spec()
CASES = load_cases(SPEC)


def test_every_documented_requirement_has_a_case() -> None:
    gaps = [req for req, ids in coverage(SPEC, CASES).items() if not ids]
    assert not gaps, f"no case covers: {gaps}"


def test_cases_name_only_requirements_the_spec_defines() -> None:
    assert unknown_requirements(SPEC, CASES) == []


def test_coverage_command_fails_on_a_gap(monkeypatch, capsys) -> None:
    monkeypatch.setattr("conformance.commands.coverage.load_cases", lambda spec: CASES[:3])
    assert main(["coverage", "--gaps"]) == 1
    assert "NOT COVERED" in capsys.readouterr().out


def test_every_mutant_violates_a_requirement_a_case_covers() -> None:
    """The mutation score is traceable: each mutant's doc row is one the cases check."""
    from conformance.checks import PROFILE_CREDENTIALS
    from conformance.mutants import MUTANTS

    covered = {req for req, ids in coverage(SPEC, CASES).items() if ids}
    credentials = {case.id for case in CASES if "credentials" in case.needs}
    loose = [m.name for m in MUTANTS
             if m.requirement not in covered and not (m.requirement == PROFILE_CREDENTIALS and credentials)]
    assert not loose, loose
