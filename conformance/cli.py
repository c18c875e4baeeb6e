"""The ``lcm-conformance`` command: one sub-command per module in ``conformance.commands``.

Every module of ``conformance.commands`` is a command, named after the module
(``import_doc`` is ``import-doc``), listed in ``--help`` in the order of ``FIRST`` and then
alphabetically. Each command module exposes ``HELP`` (one line), ``DESCRIPTION`` (the --help text),
``add_arguments(parser)`` and ``run(args) -> int``. Exit codes follow the public
contract: 0 success, 1 a FAIL or a check failed, 2 usage or configuration error,
3 target unreachable, 4 some ERROR (the suite could not judge) and no FAIL, 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from . import __version__, commands

FIRST = ("run", "serve", "record", "audit")


def command_names() -> list[str]:
    """Every command, the everyday ones first (new commands need no edit here)."""
    names = [info.name.replace("_", "-") for info in pkgutil.iter_modules(commands.__path__)]
    return sorted(names, key=lambda name: (FIRST.index(name) if name in FIRST else len(FIRST), name))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lcm-conformance",
        description="Conformance test suite for the LCM WebService message API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in command_names():
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
