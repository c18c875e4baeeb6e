"""``report.md``: the run for a human reading a pull request or a CI artifact.

Anything a target sent is shown verbatim only inside code spans and fences
sized to what they hold, so no frame can break out into Markdown or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..results import CaseResult, CheckResult, RunResult, Verdict
from ..spec import Spec
from .common import (
    COLUMNS,
    ERROR_NOTE,
    NOT_RUN_NOTE,
    by_api,
    check_diff,
    clean,
    count_rows,
    discrepancies,
    expectation_note,
    frame_log,
    incomplete_line,
    is_error,
    needs_attention,
    one_line,
    outcome,
    reproduce_commands,
    reproduce_frames,
    status,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#&!])")


def render(run: RunResult, spec: Spec, *, incomplete: str | None = None,
           expectations: Mapping[str, Verdict] | None = None) -> str:
    """The whole report: header, summary table, every non-PASS case, the PASS ids."""
    lines = ["# LCM conformance report", "", *_header(run)]
    if note := incomplete_line(incomplete, run):
        lines += ["", f"**{text(note)}**"]
    lines += ["", "## Summary", "", *_table(run, spec), "", text(NOT_RUN_NOTE)]
    if run.expectation_diffs:
        lines += ["", "## Expectations", "", *(f"- {text(d)}" for d in run.expectation_diffs)]
    groups = by_api(run, spec)
    attention = [(api, [c for c in cases if needs_attention(c)]) for api, cases in groups]
    lines += ["", "## Cases that are not PASS"]
    if not any(cases for _, cases in attention):
        lines += ["", "None."]
    for api, cases in attention:
        if cases:
            lines += ["", f"### {text(api)}"]
            for case in cases:
                lines += ["", *_case(case, spec, expectation_note(case, expectations))]
    passed = [c.id for _, cases in groups for c in cases if not needs_attention(c)]
    lines += ["", "## PASS", "", ", ".join(code(i) for i in passed) or "None."]
    return "\n".join(lines) + "\n"


def text(value: str) -> str:
    """Prose-safe Markdown: one line, every character Markdown or HTML would act on escaped."""
    return _SPECIAL.sub(r"\\\1", one_line(value))


def code(value: str) -> str:
    """An inline code span that holds ``value`` verbatim, whatever backticks it contains."""
    if not value:
        return "*(empty)*"  # an empty code span is not Markdown
    value = clean(value).replace("\n", " ")
    ticks = "`" * (_longest_run(value, "`") + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fence(body: str, info: str = "") -> list[str]:
    """A fenced code block longer than any backtick run in ``body``, so the body cannot close it."""
    ticks = "`" * max(3, _longest_run(body, "`") + 1)
    return [f"{ticks}{info}", *clean(body).splitlines(), ticks]


def _longest_run(value: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", value)), default=0)


def _header(run: RunResult) -> list[str]:
    return [
        f"- Target: {code(run.target)}",
        f"- Dialect detected: {code(run.dialect)}",
        f"- Suite version: {code(run.suite_version)}",
        f"- Strict: {'yes' if run.strict else 'no'}",
        f"- Run time: {run.duration:.1f} s",
        f"- Outcome: **{outcome(run)}**",
    ]


def _table(run: RunResult, spec: Spec) -> list[str]:
    head = ["API", *(label for _, label in COLUMNS)]
    lines = [_row(head), _row(["---", *("---:" for _ in COLUMNS)])]
    for api, counts in count_rows(run, spec):
        lines.append(_row([text(api), *(str(counts[key]) for key, _ in COLUMNS)]))
    total = run.summary()
    return [*lines, _row(["**total**", *(f"**{total[key]}**" for key, _ in COLUMNS)])]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _case(case: CaseResult, spec: Spec, expected: str | None = None) -> list[str]:
    lines = [
        f"#### {code(case.id)} {text(case.title)}",
        "",
        f"- Verdict: **{status(case)}**",
        f"- Requirements: {', '.join(code(r) for r in case.requirements) or 'none'}",
        f"- Doc: {text(case.doc)} ({text(case.basis)})",
        f"- Detail: {text(case.detail)}",
    ]
    if is_error(case):
        lines.append(f"- Error: {text('the suite could not judge this case: ' + ERROR_NOTE)}")
    if expected:
        lines.append(f"- Expected: {text(expected)}")
    if case.not_run:
        lines.append(f"- Not run: {text(case.not_run)}")
    for ident, title in discrepancies(case, spec):
        lines.append(f"- Discrepancy {code(ident)}: {text(title)}")
    if is_error(case) and "\n" in case.detail.strip():
        lines += ["", "What went wrong:", "", *fence(case.detail, "text")]
    if case.checks:
        lines += ["", "Checks:", ""]
        for check in case.checks:
            lines += _check(check)
    lines += ["", "Frames exchanged:", "", *fence(frame_log(case.frames), "text")]
    if case.reproduce:
        lines += ["", "Reproduce with:", ""]
        lines += [f"- {label}: {code(command)}" for label, command in reproduce_commands(case)]
        if frames := reproduce_frames(case):
            lines += ["", "Frames to send, one per line:", "", *fence(frames, "json")]
    return lines


def _check(check: CheckResult) -> list[str]:
    head = f"- **{check.verdict.label}** {text(check.name)}: {text(check.doc)}"
    head += f" ({text(check.basis)})"
    if check.discrepancies:
        head += f"; discrepancies {', '.join(code(d) for d in check.discrepancies)}"
    diff = check_diff(check)
    if diff is None:
        return [head, f"  - expected: {code(check.expected)}", f"  - actual: {code(check.actual)}"]
    return [head, "", *("  " + line for line in fence("\n".join(diff), "diff")), ""]
