"""``lcm-conformance coverage``: the traceability matrix of requirements to cases."""

from __future__ import annotations

import argparse

from ..cases import load_cases
from ..coverage import coverage, unknown_requirements
from ..spec import load_spec

HELP = "print which cases cover each documented table row, sample and error case"
DESCRIPTION = """\
List every documented requirement (each row of each table, each sample message and
each error case, by its spec id) with the cases that cover it. Exits 1 when a
requirement has no case, or a case names an id the spec does not define.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gaps", action="store_true", help="print only uncovered requirements")


def run(args: argparse.Namespace) -> int:
    spec = load_spec()
    cases = load_cases(spec)
    matrix = coverage(spec, cases)
    width = max(map(len, matrix))
    for req, case_ids in matrix.items():
        if case_ids and args.gaps:
            continue
        shown = ", ".join(case_ids[:4]) + (f" (+{len(case_ids) - 4})" if len(case_ids) > 4 else "")
        print(f"{req:<{width}}  {shown or 'NOT COVERED'}")
    gaps = [req for req, ids in matrix.items() if not ids]
    unknown = unknown_requirements(spec, cases)
    for entry in unknown:
        print(f"unknown requirement id named by case {entry}")
    print(f"{len(matrix) - len(gaps)}/{len(matrix)} requirements covered by {len(cases)} cases")
    return 1 if gaps or unknown else 0
