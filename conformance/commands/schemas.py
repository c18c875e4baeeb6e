"""``lcm-conformance schemas``: regenerate, or verify, the JSON Schemas in ``schemas/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import schemagen
from ..paths import data_dir
from ..spec import load_spec

HELP = "regenerate, or verify, the JSON Schemas generated from spec/"
DESCRIPTION = """\
Generate the JSON Schemas (2020-12) of every documented API from spec/: one file per
API, direction and profile (strict: the tables; lenient: the tables and what the samples
show for every registered discrepancy), plus the shared envelope and value formats.

Without --check, make the schemas directory hold exactly the generated files (stale
files are removed). With --check, write nothing and exit 1 naming every file that is
missing, extra or different, so CI fails when spec/ and schemas/ drift apart:
  lcm-conformance schemas --check
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="verify instead of writing; exit 1 on any drift"
    )
    parser.add_argument(
        "--out", type=Path, help="the schemas directory (default: the suite's schemas/)"
    )


def run(args: argparse.Namespace) -> int:
    directory = args.out or data_dir("schemas")
    try:
        schemas = schemagen.generate(load_spec())
        if args.check:
            return _report(schemagen.check(schemas, directory), directory)
        changed = schemagen.write(schemas, directory)
    except ValueError as exc:
        print(f"lcm-conformance schemas: spec/ is inconsistent: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lcm-conformance schemas: {exc}", file=sys.stderr)
        return 2
    print(f"{len(schemas)} schemas in {directory}, {len(changed)} changed")
    for path, reason in changed:
        print(f"  {path}: was {reason}")
    return 0


def _report(drift: list[tuple[str, schemagen.Drift]], directory: Path) -> int:
    for path, reason in drift:
        print(f"lcm-conformance schemas: {directory / path}: {reason}", file=sys.stderr)
    if drift:
        print("lcm-conformance schemas: regenerate with `lcm-conformance schemas`", file=sys.stderr)
        return 1
    print(f"schemas in {directory} match spec/")
    return 0
