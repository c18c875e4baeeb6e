"""What a person watching the run sees: each case's mark in the progress display, then the summary.

Plain text; colour only on a TTY and only when NO_COLOR is unset (no-color.org).
Every text a target could have shaped is cleaned, so it cannot drive the terminal.
The live display itself is :mod:`.progress`; this module gives it the verdicts' marks.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from ..results import CaseResult, RunResult, Verdict
from ..spec import Spec, load_spec
from .common import (
    COLUMNS,
    ERROR_NOTE,
    FRAME_CHARS,
    NOT_RUN_NOTE,
    by_api,
    clean,
    count_rows,
    deciding_checks,
    dialect_meaning,
    fails_run,
    incomplete_line,
    is_error,
    one_line,
    outcome,
    outcome_key,
    reproduce_commands,
    status,
    status_key,
)
from .progress import paint, use_colour

ERROR_LINES = 40
"""Lines of an ERROR's detail (the exception) printed; the reports hold it whole."""

MARKS = {
    Verdict.PASS.value: ".",
    Verdict.NON_STRICT.value: "N",
    Verdict.INFORMATIONAL.value: "I",
    "not_run": "s",
    Verdict.UNIMPLEMENTED.value: "U",
    Verdict.FAIL.value: "F",
    Verdict.ERROR.value: "E",
}
"""The mark of each summary column (:func:`~.common.status_key`) in progress lines."""
_SGR = {
    Verdict.PASS.value: "32",
    Verdict.NON_STRICT.value: "33",
    Verdict.INFORMATIONAL.value: "36",
    Verdict.UNIMPLEMENTED.value: "2",
    Verdict.FAIL.value: "1;31",
    Verdict.ERROR.value: "1;35",
    "not_run": "35",
}
LEGEND = {MARKS[key]: label for key, label in COLUMNS if key in MARKS}
"""Mark -> what it stands for, in the summary's column order."""
STYLES = {MARKS[key]: sgr for key, sgr in _SGR.items()}
"""Mark -> its colour."""


def mark(case: CaseResult) -> str:
    """The case's mark in progress lines."""
    return MARKS[status_key(case)]


def _paint(text: str, key: str, colour: bool) -> str:
    return paint(text, _SGR.get(key), colour)


def dialect_line(dialect: str) -> str:
    """``dialect mixed (some replies ...)``: the dialect found, and what that means."""
    meaning = dialect_meaning(dialect)
    return f"dialect {clean(dialect)}" + (f" ({meaning})" if meaning else "")


def render_summary(
    run: RunResult, spec: Spec, *, colour: bool = False, incomplete: str | None = None, notes: Sequence[str] = ()
) -> str:
    """The closing summary: counts per API and verdict, the run's facts (and ``notes`` on
    them), then each failing case (with the commands and the frames that reproduce it) and
    each case the suite could not judge (with what went wrong)."""
    lines = _table(run, spec, colour)
    lines += [
        NOT_RUN_NOTE,
        "",
        (f"run time {run.duration:.1f} s | {dialect_line(run.dialect)} | "
         f"target {clean(run.target)} | strict {'yes' if run.strict else 'no'}"),
        *notes,
    ]
    if note := incomplete_line(incomplete, run):
        lines.append(_paint(note, "error", colour))
    lines += [f"expectation: {one_line(d)}" for d in run.expectation_diffs]
    if stopped := stopped_early(run):
        lines.append(_paint(stopped, "error", colour))
    lines.append(_paint(outcome(run), outcome_key(run), colour))
    ordered = [c for _, cases in by_api(run, spec) for c in cases]
    failing = [c for c in ordered if fails_run(c, run)]
    if failing:
        lines += ["", "Failing cases:"]
    for case in failing:
        checks = deciding_checks(case)
        verdict = _paint(status(case), status_key(case), colour)
        lines += [
            f"  {verdict} {clean(case.id)}: {one_line(case.title)}",
            f"    {one_line(checks[0].message() if checks else case.detail)}",
            *(f"    {label}: {command}" for label, command in reproduce_commands(case)),
            *_frames_to_send(case),
        ]
    errors = [c for c in ordered if is_error(c)]
    if errors:
        lines += ["", f"Cases the suite could not judge ({ERROR_NOTE}):"]
    for case in errors:
        verdict = _paint(status(case), status_key(case), colour)
        detail = clean(case.detail).splitlines() or [""]
        if len(detail) > ERROR_LINES:
            detail = [*detail[:ERROR_LINES], f"... ({len(detail) - ERROR_LINES} more lines in the reports)"]
        lines += [f"  {verdict} {clean(case.id)}: {one_line(case.title)}", *(f"    {line}" for line in detail)]
        lines += [f"    [{c.verdict.label}] {one_line(c.message())}" for c in deciding_checks(case)]
        lines += [f"    {label}: {command}" for label, command in reproduce_commands(case)]
    return "\n".join(lines) + "\n"


def _frames_to_send(case: CaseResult) -> list[str]:
    """The frames that replay the case, one per line, each cut at FRAME_CHARS."""
    frames = [str(f) for f in (case.reproduce or {}).get("frames", [])]
    if not frames:
        return []
    out = ["    frames to send:"]
    for frame in frames:
        shown = clean(frame).replace("\n", "\\n")
        if len(shown) > FRAME_CHARS:
            shown = f"{shown[:FRAME_CHARS]}... ({len(frame)} characters; results.json has it whole)"
        out.append(f"      {shown}")
    return out


STOPPED_AT = 3
"""Cases not run for one reason before the summary names it as why the run stopped early."""


def stopped_early(run: RunResult) -> str | None:
    """The one reason most cases were not run for, when many were (the target stopped
    answering, a campaign ran dry): said once, not read off a wall of identical lines."""
    reasons = Counter(r.not_run for r in run.results if r.not_run)
    if not reasons:
        return None
    reason, count = reasons.most_common(1)[0]
    return f"{count} cases not run: {one_line(reason)}" if count >= STOPPED_AT else None


def print_summary(
    run: RunResult, stream: TextIO | None = None, *, spec: Spec | None = None, incomplete: str | None = None,
    notes: Sequence[str] = (),
) -> None:
    """Print the closing summary, coloured when the stream is a terminal."""
    stream = stream or sys.stdout
    stream.write(render_summary(run, spec or load_spec(), colour=use_colour(stream), incomplete=incomplete,
                                notes=notes))
    stream.flush()


def _table(run: RunResult, spec: Spec, colour: bool) -> list[str]:
    """The counts table, columns sized to fit, non-zero counts coloured by verdict."""
    rows = [(clean(api), counts) for api, counts in count_rows(run, spec)]
    rows.append(("total", run.summary()))
    first = max(len("API"), *(len(name) for name, _ in rows))
    widths = [max(len(label), *(len(str(c[key])) for _, c in rows)) for key, label in COLUMNS]

    def line(name: str, cells: list[str], keys: list[str]) -> str:
        padded = [_paint(c.rjust(w), k, colour) for c, w, k in zip(cells, widths, keys, strict=True)]
        return "  ".join([name.ljust(first), *padded]).rstrip()

    keys = [key for key, _ in COLUMNS]
    out = [line("API", [label for _, label in COLUMNS], [""] * len(COLUMNS))]
    out.append("  ".join(["-" * first, *("-" * w for w in widths)]))
    for name, counts in rows:
        painted = [k if counts[k] else "" for k in keys]
        out.append(line(name, [str(counts[k]) for k in keys], painted))
    return out
