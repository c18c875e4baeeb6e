"""The ``lcm-conformance`` command: one sub-command per module in ``conformance.commands``.

Each command module exposes ``HELP`` (one line), ``DESCRIPTION`` (the --help text),
``add_arguments(parser)`` and ``run(args) -> int``. Exit codes follow the public
contract: 0 success, 1 a FAIL or a check failed, 2 usage or configuration error,
3 target unreachable, 4 some ERROR (the suite could not judge) and no FAIL, 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__

COMMANDS = ("run", "serve", "coverage", "schemas", "import-doc", "mutate", "mutants")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lcm-conformance",
        description="Conformance test suite for the LCM WebService message API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f".commands.{name.replace('-', '_')}", __package__)
        cmd = sub.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print(f"lcm-conformance {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
