"""``lcm-conformance mutants list``: the mutant catalogue and the correct variants."""

from __future__ import annotations

import argparse

HELP = "list the mutants (with the doc row each violates) and the correct variants"
DESCRIPTION = """\
List every mutant of the mutation run: its name (area first; foreign.* for the foreign
target's), the spec requirement id of the doc row it violates, and what it gets wrong;
then every correct variant and what allows it. Any name can be served with `lcm-conformance serve --mutant NAME` or run
with `lcm-conformance mutate --mutant NAME`.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list",), help="list: print the catalogue")
    parser.add_argument("--fast", action="store_true", help="only the fast subset CI runs")


def run(args: argparse.Namespace) -> int:
    from ..mutants import Mutant, Variant, select

    targets = select(fast=args.fast)
    mutants = [t for t in targets if isinstance(t, Mutant)]
    variants = [t for t in targets if isinstance(t, Variant)]
    width = max(len(t.name) for t in targets)
    req_width = max(len(m.requirement) for m in mutants)
    print(f"{len(mutants)} mutants")
    for m in mutants:
        print(f"  {m.name:<{width}}  {m.requirement:<{req_width}}  {m.description}")
    print(f"{len(variants)} correct variants")
    for v in variants:
        print(f"  {v.name:<{width}}  {v.description} [{v.basis}]")
    return 0
