"""Re-run hints that work: each result's ``reproduce.case_command`` as the run was invoked.

The engine writes ``lcm-conformance run --case ID --target URL``; that URL is wrong when
the run had a profile (its headers, TLS and fixtures are lost) and dead when it was the
embedded reference server (a free port of a process that has exited). After the run, the
command is rewritten from the run's options: ``--profile FILE`` when there was one, else
``--target URL`` when one was given, else no target at all (the embedded server again,
with ``--dialect tables`` when the run used it); plus ``--response-timeout`` and
``--strict`` as given. For the embedded server the frames are replayed against a server
started on the same port (``serve_command``).
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Iterable
from urllib.parse import urlsplit

from .results import CaseResult
from .runner import RunOptions

PROGRAM = "lcm-conformance run"


def case_argument(result: CaseResult) -> str:
    """What ``--case`` re-runs the result with: the engine's choice (a property test's case
    file, say), else the result's id."""
    command = (result.reproduce or {}).get("case_command")
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError:
            words = []
        for flag, value in itertools.pairwise(words):
            if flag == "--case":
                return value
    return result.id


def case_command(case: str, options: RunOptions) -> str:
    """The command that re-runs one case (or case file) the way the run ran it."""
    words = ["--case", case]
    if options.profile:
        words += ["--profile", str(options.profile)]
    elif options.target:
        words += ["--target", options.target]
    elif options.dialect != "samples":
        words += ["--dialect", options.dialect]
    timeout = options.overrides.get("timeouts.response")
    if timeout is not None:
        words += ["--response-timeout", f"{timeout:g}"]
    if options.strict:
        words.append("--strict")
    return " ".join([PROGRAM, *map(shlex.quote, words)])


def serve_command(replay: str, options: RunOptions) -> str | None:
    """For the embedded server: the ``serve`` command that listens where the replay command
    connects (None when the run had a target of its own, or the port is unknown)."""
    if options.profile or options.target:
        return None
    for word in reversed(replay.split()):
        try:
            port = urlsplit(word).port if word.startswith(("ws://", "wss://")) else None
        except ValueError:
            port = None
        if port:
            dialect = f" --dialect {options.dialect}" if options.dialect != "samples" else ""
            return f"lcm-conformance serve --port {port}{dialect}"
    return None


def rewrite(results: Iterable[CaseResult], options: RunOptions) -> None:
    """Rewrite, in place, the re-run hints of every result that has them."""
    for result in results:
        reproduce = result.reproduce
        if not reproduce or "case_command" not in reproduce:
            continue
        reproduce["case_command"] = case_command(case_argument(result), options)
        replay = reproduce.get("command")
        if isinstance(replay, str) and (serve := serve_command(replay, options)):
            reproduce["serve_command"] = serve
