"""What a person watching the run sees: a progress line per API, then the summary.

Plain text; colour only on a TTY and only when NO_COLOR is unset (no-color.org).
Every text a target could have shaped is cleaned, so it cannot drive the terminal.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence, TextIO

from ..results import CaseResult, RunResult, Verdict
from ..spec import Spec, load_spec
from .common import (
    COLUMNS,
    by_api,
    clean,
    count_rows,
    deciding_checks,
    fails_run,
    one_line,
    outcome,
    reproduce_commands,
    status,
    status_key,
)

_CHARS = {
    Verdict.PASS.value: ".",
    Verdict.NON_STRICT.value: "N",
    Verdict.INFORMATIONAL.value: "I",
    Verdict.UNIMPLEMENTED.value: "U",
    Verdict.FAIL.value: "F",
    "not_run": "s",
}
_SGR = {
    Verdict.PASS.value: "32",
    Verdict.NON_STRICT.value: "33",
    Verdict.INFORMATIONAL.value: "36",
    Verdict.UNIMPLEMENTED.value: "2",
    Verdict.FAIL.value: "1;31",
    "not_run": "35",
}


def use_colour(stream: TextIO) -> bool:
    """Colour only for a person at a terminal who has not asked for none."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def _paint(text: str, key: str, colour: bool) -> str:
    return f"\x1b[{_SGR[key]}m{text}\x1b[0m" if colour and key in _SGR else text


def progress_line(
    api: str, cases: Sequence[CaseResult], *, width: int = 0, colour: bool = False
) -> str:
    """``GetReservedManualDialContact  ....F.N  7 cases``: one character per case, in run order."""
    marks = "".join(_paint(_CHARS[status_key(c)], status_key(c), colour) for c in cases)
    plural = "" if len(cases) == 1 else "s"
    return f"{clean(api):<{width}}  {marks}  {len(cases)} case{plural}"


def print_progress(
    api: str, cases: Sequence[CaseResult], stream: TextIO | None = None, *, spec: Spec | None = None
) -> None:
    """Print an API's progress line once its cases have finished, aligned with the other APIs'."""
    stream = stream or sys.stdout
    width = max(len(name) for name in (spec or load_spec()).apis)
    line = progress_line(api, cases, width=width, colour=use_colour(stream))
    print(line, file=stream, flush=True)


def render_summary(run: RunResult, spec: Spec, *, colour: bool = False) -> str:
    """The closing summary: counts per API and verdict, the run's facts, then each failing case."""
    lines = _table(run, spec, colour)
    lines += [
        "",
        f"run time {run.duration:.1f} s | dialect {clean(run.dialect)} | "
        f"target {clean(run.target)} | strict {'yes' if run.strict else 'no'}",
    ]
    lines += [f"expectation: {one_line(d)}" for d in run.expectation_diffs]
    lines.append(_paint(outcome(run), "fail" if run.failed() else "pass", colour))
    failing = [c for _, cases in by_api(run, spec) for c in cases if fails_run(c, run)]
    if failing:
        lines += ["", "Failing cases:"]
    for case in failing:
        checks = deciding_checks(case)
        verdict = _paint(status(case), status_key(case), colour)
        lines += [
            f"  {verdict} {clean(case.id)}: {one_line(case.title)}",
            f"    {one_line(checks[0].message() if checks else case.detail)}",
            *(f"    {label}: {command}" for label, command in reproduce_commands(case)),
        ]
    return "\n".join(lines) + "\n"


def print_summary(
    run: RunResult, stream: TextIO | None = None, *, spec: Spec | None = None
) -> None:
    """Print the closing summary, coloured when the stream is a terminal."""
    stream = stream or sys.stdout
    stream.write(render_summary(run, spec or load_spec(), colour=use_colour(stream)))
    stream.flush()


def _table(run: RunResult, spec: Spec, colour: bool) -> list[str]:
    """The counts table, columns sized to fit, non-zero counts coloured by verdict."""
    rows = [(clean(api), counts) for api, counts in count_rows(run, spec)]
    rows.append(("total", run.summary()))
    first = max(len("API"), *(len(name) for name, _ in rows))
    widths = [max(len(label), *(len(str(c[key])) for _, c in rows)) for key, label in COLUMNS]

    def line(name: str, cells: list[str], keys: list[str]) -> str:
        padded = [_paint(c.rjust(w), k, colour) for c, w, k in zip(cells, widths, keys)]
        return "  ".join([name.ljust(first), *padded]).rstrip()

    keys = [key for key, _ in COLUMNS]
    out = [line("API", [label for _, label in COLUMNS], [""] * len(COLUMNS))]
    out.append("  ".join(["-" * first, *("-" * w for w in widths)]))
    for name, counts in rows:
        painted = [k if counts[k] else "" for k in keys]
        out.append(line(name, [str(counts[k]) for k in keys], painted))
    return out
