"""``lcm-conformance import-doc``: turn a doc page export into spec YAML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from ..doclint import explaining, sample_findings, table_findings
from ..importer import PageFormatError, import_page
from ..paths import data_dir
from ..spec import load_spec, parse_api

HELP = "import one doc page (plain-text export) as spec YAML"
DESCRIPTION = """\
Parse one page of the vendor's API documentation, exported as plain text (one table
cell per line, samples as JSON), and print the spec YAML for it: the page's facts
merged with the project's curation from spec/overlay/<RequestSubtopic>.yaml.

It also compares the page's samples with its tables and reports each mismatch on
stderr with the registry entry (spec/discrepancies.yaml) that explains it; a
mismatch no entry explains makes the exit status 1, so register it.

Re-import a changed page over spec/apis/<RequestSubtopic>.yaml and review the diff:
  lcm-conformance import-doc PAGE.txt -o spec/apis/SkipManualDialContact.yaml
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("page", type=Path, help="the page export (.txt)")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument(
        "--overlay-dir",
        type=Path,
        default=data_dir("spec") / "overlay",
        help="directory of curation overlays (default: the suite's spec/overlay)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        text = import_page(args.page, args.overlay_dir)
    except OSError as exc:
        print(f"lcm-conformance import-doc: cannot read {args.page}: {exc.strerror}", file=sys.stderr)
        return 2
    except PageFormatError as exc:
        print(f"lcm-conformance import-doc: {args.page}: {exc}", file=sys.stderr)
        return 1
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return _report_mismatches(text)


def _report_mismatches(spec_text: str) -> int:
    api = parse_api(yaml.safe_load(spec_text))
    registry = load_spec()
    unexplained = 0
    for finding in (*sample_findings(api), *table_findings(api)):
        ids = explaining(registry, finding)
        unexplained += not ids
        status = ", ".join(ids) if ids else "NOT REGISTERED"
        print(f"lint: {finding.describe()} [{status}]", file=sys.stderr)
    return 1 if unexplained else 0
