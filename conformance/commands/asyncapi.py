"""``lcm-conformance asyncapi``: write the AsyncAPI 3.0 document generated from spec/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import asyncapi
from ..spec import load_spec
from . import reader_gone

HELP = "write the AsyncAPI 3.0 document of the API, generated from spec/"
DESCRIPTION = """\
Write an AsyncAPI 3.0.0 document of the documented API, generated from spec/, for the
tools that read AsyncAPI (AsyncAPI Studio, generators, mock servers): the WebSocket
server (host and path as variables), one channel, a send operation per request with its
reply, and messages whose payloads are the strict JSON Schemas (the lenient ones and the
discrepancy ids ride along as x- extensions). The document needs no other file.

The committed copy is schemas/asyncapi.yaml; `lcm-conformance schemas` keeps it up to
date and `lcm-conformance schemas --check` fails when it is stale.

examples:
  lcm-conformance asyncapi > lcm-webservice.asyncapi.yaml
  lcm-conformance asyncapi --out schemas/asyncapi.yaml
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of standard output")


def run(args: argparse.Namespace) -> int:
    try:
        doc = asyncapi.generate(load_spec())
        if args.out is not None:
            asyncapi.write(doc, args.out)
            print(f"AsyncAPI {asyncapi.VERSION} document written to {args.out}")
            return 0
        sys.stdout.write(asyncapi.render(doc))
        sys.stdout.flush()
    except ValueError as exc:
        print(f"lcm-conformance asyncapi: spec/ is inconsistent: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `asyncapi | head`: the reader has all it wanted
        reader_gone()
    except OSError as exc:
        print(f"lcm-conformance asyncapi: {exc}", file=sys.stderr)
        return 2
    return 0
