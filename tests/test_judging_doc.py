"""docs/judging.md against the code, so the two cannot drift apart.

* The checks table names every check of ``conformance.checks.CHECKS`` and nothing else,
  apart from the few checks the engine, the runner and the property runs add on their own
  (``EXTRA``), each of which must still be written in the module named for it.
* A check the table says never FAILs is built so: its code says its basis is inferred (or
  its verdict is ERROR) and never writes a FAIL verdict.
* The inferred-cases list covers every case with ``basis: inferred`` and names no other.
* The state section names only cases that exist, covers every case of the case files it
  names, and those files exist.
"""

from __future__ import annotations

import ast
import fnmatch
import inspect
import re
from functools import cache
from pathlib import Path

import pytest

from conformance.cases import Case, load_cases
from conformance.checks import CHECKS
from conformance.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "judging.md"

EXTRA: dict[str, tuple[str, ...]] = {
    "connection kept open": ("conformance/engine.py", "conformance/properties.py"),
    "one reply per request": ("conformance/properties.py",),
    "target reachable": ("conformance/engine.py", "conformance/hypo/driver.py"),
    "suite error": ("conformance/engine.py",),
    "unsolicited frames": ("conformance/runner.py",),
}
"""Checks no case file names, which the doc documents too -> the modules that write them."""

SEPARATOR = re.compile(r"\|[\s|:-]+\|")
NEVER_FAILS = "never FAIL"
ALWAYS_INFERRED = re.compile(r'"inferred"\s*[,)]')
"""A basis given as inferred outright (not ``"inferred" if ... else ...``)."""
"""How the verdict column says a check cannot FAIL."""


# ------------------------------------------------------------------ reading the doc


def sections() -> dict[str, str]:
    """The doc's ``## `` sections by heading (their text up to the next one)."""
    parts = re.split(r"^## +(.+)$", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2], strict=True)}


def section(name: str) -> str:
    found = [body for heading, body in sections().items() if heading.lower().startswith(name.lower())]
    assert found, f"docs/judging.md has no section '## {name}...'"
    return found[0]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of every markdown table in ``text`` (no header, no separator), as cells."""
    lines = [line.strip() for line in text.splitlines()]
    rows = []
    for i, line in enumerate(lines):
        header = i + 1 < len(lines) and SEPARATOR.fullmatch(lines[i + 1])
        if line.startswith("|") and not SEPARATOR.fullmatch(line) and not header:
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def ticked(cell: str) -> list[str]:
    """The backticked names in a cell."""
    return re.findall(r"`([^`]+)`", cell)


def check_rows() -> dict[str, list[str]]:
    """Check name -> its row of the checks table."""
    rows = table_rows(section("Checks"))
    assert rows, "the checks table is empty"
    named = {}
    for row in rows:
        names = ticked(row[0]) or [row[0]]
        assert len(names) == 1, f"one check per row: {row[0]}"
        assert names[0] not in named, f"check {names[0]!r} has two rows"
        assert len(row) == 4, f"row {names[0]!r}: check | demands | basis | verdict, got {len(row)} cells"
        named[names[0]] = row
    return named


@cache
def cases() -> tuple[Case, ...]:
    return tuple(load_cases(load_spec()))


def matching(pattern: str) -> list[Case]:
    return [c for c in cases() if fnmatch.fnmatchcase(c.id, pattern)]


# ------------------------------------------------------------------ the checks table


def test_every_check_of_the_case_files_has_a_row() -> None:
    missing = sorted(set(CHECKS) - set(check_rows()))
    assert not missing, f"docs/judging.md: no row for the check(s) {missing}"


def test_every_row_names_a_check_that_exists() -> None:
    unknown = sorted(set(check_rows()) - set(CHECKS) - set(EXTRA))
    assert not unknown, f"docs/judging.md names checks that do not exist: {unknown}"


def test_every_extra_check_is_documented_and_written_where_said() -> None:
    rows = check_rows()
    for name, modules in EXTRA.items():
        assert name in rows, f"docs/judging.md: no row for {name!r}"
        for module in modules:
            assert name in (ROOT / module).read_text(encoding="utf-8"), f"{module} no longer writes {name!r}"


def test_every_row_gives_a_basis_and_a_verdict() -> None:
    for name, (_, demands, basis, verdict) in check_rows().items():
        assert demands and basis, f"row {name!r}: what it demands and its basis"
        assert re.search(r"\b(FAIL|NON-STRICT|INFORMATIONAL|ERROR)\b", verdict), f"row {name!r}: {verdict!r}"


def _writer(name: str) -> list[str]:
    """The source of the code that gives a check its verdict: the function of CHECKS, or
    each function of the named modules that writes the check's name."""
    if name in CHECKS:
        return [inspect.getsource(CHECKS[name])]
    found = []
    for module in EXTRA[name]:
        text = (ROOT / module).read_text(encoding="utf-8")
        tree = ast.parse(text)
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                isinstance(n, ast.Constant) and isinstance(n.value, str) and name in n.value
                and id(n) not in docstrings for n in ast.walk(node)
            ):
                found.append(ast.get_source_segment(text, node) or "")
    return found


def test_a_check_said_never_to_fail_cannot_fail() -> None:
    never = [name for name, row in check_rows().items() if NEVER_FAILS in row[3]]
    assert never, "the checks table says of no check that it never FAILs"
    for name in never:
        sources = _writer(name)
        assert sources, f"no code writes {name!r}"
        for source in sources:
            assert "Verdict.FAIL" not in source, f"{name!r} is said never to FAIL, yet its code writes FAIL"
            assert ALWAYS_INFERRED.search(source) or "Verdict.ERROR" in source, (
                f"{name!r} is said never to FAIL, yet its code neither marks it inferred (always) nor makes it ERROR")


def test_a_check_that_can_fail_is_not_said_never_to() -> None:
    for name, row in check_rows().items():
        if NEVER_FAILS not in row[3]:
            assert "FAIL" in row[3], f"row {name!r}: say when it FAILs, or that it never does"


# ------------------------------------------------------------------ inferred cases


def inferred_patterns() -> list[str]:
    text = section("Inferred cases")
    patterns = [p for line in text.splitlines() if line.lstrip().startswith("- ") for p in ticked(line)[:1]]
    assert patterns, "the inferred-cases list is empty"
    return patterns


def test_every_inferred_case_is_listed() -> None:
    patterns = inferred_patterns()
    unlisted = [c.id for c in cases() if c.basis == "inferred"
                and not any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
    assert not unlisted, f"docs/judging.md, Inferred cases: add {unlisted}"


@pytest.mark.parametrize("pattern", inferred_patterns())
def test_the_inferred_list_names_only_inferred_cases(pattern: str) -> None:
    found = matching(pattern)
    assert found, f"{pattern!r} matches no case"
    documented = [c.id for c in found if c.basis != "inferred"]
    assert not documented, f"{pattern!r} matches documented cases {documented}"


# ------------------------------------------------------------------ the state section


def state_files() -> list[str]:
    return sorted(set(re.findall(r"cases/[\w.-]+\.yaml", section("State"))))


def state_patterns() -> list[str]:
    return [p for row in table_rows(section("State")) for p in ticked(row[0])]


def test_the_case_files_named_exist() -> None:
    files = state_files()
    assert files, "the state section names no case file"
    for name in files:
        assert (ROOT / name).is_file(), f"docs/judging.md names {name}, which does not exist"


def test_every_case_named_in_the_state_section_exists() -> None:
    patterns = state_patterns()
    assert patterns, "the state section has no case rows"
    for pattern in patterns:
        assert matching(pattern), f"docs/judging.md, State: {pattern!r} matches no case"


@pytest.mark.parametrize("source", ["02-contacts.yaml", "03-calls.yaml"])
def test_every_case_of_the_state_files_has_a_row(source: str) -> None:
    assert f"cases/{source}" in state_files()
    patterns = state_patterns()
    missing = [c.id for c in cases() if c.source == source and not any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
    assert not missing, f"docs/judging.md, State: no row for {missing}"


def test_two_agent_cases_are_named_in_the_two_agents_section() -> None:
    text = section("Two agents")
    for case in cases():
        if "agent2" in case.needs:
            assert case.id in text, f"docs/judging.md, Two agents: name {case.id}"
