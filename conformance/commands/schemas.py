"""``lcm-conformance schemas``: regenerate, or verify, the JSON Schemas in ``schemas/`` and the
AsyncAPI document built from them (``schemas/asyncapi.yaml``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import asyncapi, schemagen
from ..paths import data_dir
from ..spec import load_spec

HELP = "regenerate, or verify, the JSON Schemas and the AsyncAPI document generated from spec/"
DESCRIPTION = """\
Generate the JSON Schemas (2020-12) of every documented API from spec/: one file per
API, direction and profile (strict: the tables; lenient: the tables and what the samples
show for every registered discrepancy), plus the shared envelope and value formats, and
the AsyncAPI 3.0 document that embeds them (asyncapi.yaml, see `lcm-conformance asyncapi`).

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
    document = directory / asyncapi.FILE
    try:
        spec = load_spec()
        schemas = schemagen.generate(spec)
        doc = asyncapi.generate(spec, schemas)
        if args.check:
            drift = asyncapi.check(doc, document)
            return _report([*schemagen.check(schemas, directory), *_named(drift)], directory)
        changed = [*schemagen.write(schemas, directory), *_named(asyncapi.write(doc, document))]
    except ValueError as exc:
        print(f"lcm-conformance schemas: spec/ is inconsistent: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lcm-conformance schemas: {exc}", file=sys.stderr)
        return 2
    print(f"{len(schemas)} schemas and {asyncapi.FILE} in {directory}, {len(changed)} changed")
    for path, reason in changed:
        print(f"  {path}: was {reason}")
    return 0


def _named(drift: schemagen.Drift | None) -> list[tuple[str, schemagen.Drift]]:
    return [(asyncapi.FILE, drift)] if drift else []


def _report(drift: list[tuple[str, schemagen.Drift]], directory: Path) -> int:
    for path, reason in drift:
        print(f"lcm-conformance schemas: {directory / path}: {reason}", file=sys.stderr)
    if drift:
        print("lcm-conformance schemas: regenerate with `lcm-conformance schemas`", file=sys.stderr)
        return 1
    print(f"schemas in {directory} match spec/")
    return 0
