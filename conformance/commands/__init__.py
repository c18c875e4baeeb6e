"""Sub-commands of ``lcm-conformance``; see :mod:`conformance.cli` for the interface.

Every module here is a command (the CLI finds them), so what commands share lives in
this file.
"""

from __future__ import annotations

import os
import sys


def reader_gone() -> None:
    """After a BrokenPipeError on stdout (``| head`` stopped reading): point stdout at
    /dev/null so the interpreter's own flush at exit does not fail again (the recipe of
    the Python docs, signal module, SIGPIPE)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
