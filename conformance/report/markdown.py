"""``report.md``: the run for a human reading a pull request or a CI artifact.

Same order and grouping as ``report.html`` (worst first; checks grouped by requirement ids
under their doc reference), without the frames of cases that do not fail. Built here
rather than from a template: Markdown needs three escapes (prose, code span, fence) chosen
per place, which :func:`text`, :func:`code` and :func:`fence` apply; anything a target sent
is shown verbatim only inside code spans and fences sized to what they hold, so no frame
can break out into Markdown or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..results import CaseResult, CheckResult, RunResult, Verdict
from ..spec import Spec
from .common import (
    COLUMNS,
    ERROR_NOTE,
    FRAME_CHARS,
    LEGEND,
    NOT_RUN_NOTE,
    Finding,
    RequirementGroup,
    cases_by_bucket,
    check_diff,
    clean,
    count_rows,
    dialect_meaning,
    discrepancies_seen,
    expectation_note,
    frame_log,
    in_full,
    incomplete_line,
    is_error,
    not_passed,
    one_line,
    outcome,
    reproduce_commands,
    reproduce_frames,
    requirement_groups,
    status,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#&!])")
_SECTIONS = ("Summary", "Legend", "Requirements not met", "Cases", "Discrepancies relied on", "Requirements met")


def render(run: RunResult, spec: Spec, *, incomplete: str | None = None,
           expectations: Mapping[str, Verdict] | None = None) -> str:
    """The whole report, in the order of report.html."""
    groups = requirement_groups(run, spec)
    lines = ["# LCM conformance report", "", *_header(run)]
    if note := incomplete_line(incomplete, run):
        lines += ["", f"**{text(note)}**"]
    contents = " · ".join(f"[{name}](#{name.lower().replace(' ', '-')})" for name in _SECTIONS)
    lines += ["", f"Contents: {contents}"]
    lines += ["", "## Summary", "", *_table(run, spec), "", text(NOT_RUN_NOTE)]
    lines += ["", "## Legend", "", "| Verdict | Meaning | Fails the run |", "| --- | --- | --- |"]
    lines += [f"| **{label}** | {text(meaning)} | {text(fails)} |" for _, label, meaning, fails in LEGEND]
    lines += ["", "Requirements and cases are listed worst first: FAIL and ERROR, then NON-STRICT, "
                  "then the other verdicts, then PASS."]
    if run.expectation_diffs:
        lines += ["", "## Expectations", "", *(f"- {text(d)}" for d in run.expectation_diffs)]
    lines += ["", "## Requirements not met", "",
              "Every check that did not pass, grouped by the requirement ids it judges, under the doc reference "
              "it cites; an outcome several cases got is listed once, with each case (report.html also shows "
              "one exchange for each)."]
    unmet = [g for g in groups if g.findings]
    for group in unmet:
        lines += ["", *_group(group)]
    if not unmet:
        lines += ["", "None: every check passed."]
    lines += ["", "## Cases"]
    for key, title, cases in cases_by_bucket(run, spec):
        lines += ["", f"### {text(title)} ({len(cases)})", ""]
        if not cases:
            lines.append("None.")
        elif key == "pass":
            lines.append(", ".join(code(c.id) for c in cases))
        for case in cases if key != "pass" else ():
            note = expectation_note(case, expectations)
            lines += [*_case(case, note), ""] if in_full(case, run) else [_case_line(case, note)]
    lines += ["", "## Discrepancies relied on", ""]
    seen = discrepancies_seen(run, spec)
    lines += [f"- {code(ident)} {text(title)} ({count} case{'s' if count != 1 else ''})"
              for ident, title, count in seen] or ["None."]
    lines += ["", "## Requirements met", ""]
    lines += [f"- {text(g.doc)}: {_ids(g.requirements)} ({g.passed} check{'s' if g.passed != 1 else ''} "
              f"in {g.case_count} case{'s' if g.case_count != 1 else ''})"
              for g in groups if not g.findings] or ["None."]
    return "\n".join(_squeeze(lines)) + "\n"


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


def _squeeze(lines: list[str]) -> list[str]:
    """No two blank lines in a row (sections that end in a blank line meet ones that start with one)."""
    return [line for i, line in enumerate(lines) if line or i == 0 or lines[i - 1]]


def _ids(requirements: tuple[str, ...]) -> str:
    return " ".join(code(r) for r in requirements) or "no requirement id"


def _header(run: RunResult) -> list[str]:
    meaning = dialect_meaning(run.dialect)
    return [
        f"- Target: {code(run.target)}",
        f"- Dialect detected: {code(run.dialect)}" + (f" ({meaning})" if meaning else ""),
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


def _group(group: RequirementGroup) -> list[str]:
    """A requirement group: its doc reference as the heading, its ids, each finding once."""
    lines = [f"### {group.findings[0].check.verdict.label}: {text(group.doc)}", "",
             f"Requirement ids: {_ids(group.requirements)} ({text(group.api)})", ""]
    for finding in group.findings:
        lines += _check(finding.check, finding.name, _cases(finding))
    if group.passed:
        lines += ["", f"The same requirement ids passed {group.passed} other check{'s' if group.passed != 1 else ''}."]
    return lines


def _cases(finding: Finding) -> str:
    return "cases: " + ", ".join(code(case.id) + (f" (step {step})" if step else "") for case, step in finding.cases)


def _check(check: CheckResult, name: str, where: str) -> list[str]:
    """One check that did not pass: verdict, name, basis, discrepancies, expected and actual, and where."""
    head = f"- **{check.verdict.label}** {text(name)} ({text(check.basis)})"
    if check.discrepancies:
        head += f"; discrepancies {', '.join(code(d) for d in check.discrepancies)}"
    diff = check_diff(check)
    if diff is None:
        compared = [f"  - expected: {code(check.expected)}", f"  - actual: {code(check.actual)}"]
    else:
        compared = ["", *("  " + line for line in fence("\n".join(diff), "diff")), ""]
    return [head, *compared, f"  - {where}"]


def _case_line(case: CaseResult, expected: str | None) -> str:
    """A case that neither fails nor errs, on one line: what did not pass (or why), its discrepancies."""
    checks = not_passed(case)
    why = "; ".join([
        *([f"not run: {text(case.not_run)}"] if case.not_run else []),
        *([", ".join(f"{text(c.name)} ({c.verdict.label})" for c in checks)] if checks else []),
    ]) or text(case.detail)
    line = f"- **{status(case)}** {code(case.id)} {text(case.title)}: {why}"
    if case.discrepancies:
        line += f"; discrepancies {', '.join(code(d) for d in case.discrepancies)}"
    if expected:
        line += f"; expected: {text(expected)}"
    return line


def _case(case: CaseResult, expected: str | None) -> list[str]:
    """A case that fails or errs, in full: facts, the checks that did not pass, frames, how to reproduce."""
    lines = [
        f"#### {code(case.id)} {text(case.title)}",
        "",
        f"- Verdict: **{status(case)}**",
        f"- API: {code(case.api)}",
        f"- Doc: {text(case.doc)} ({text(case.basis)})",
        f"- Requirements: {', '.join(code(r) for r in case.requirements) or 'none'}",
        f"- Detail: {text(case.detail)}",
    ]
    if is_error(case):
        lines.append(f"- Error: {text('the suite could not judge this case: ' + ERROR_NOTE)}")
    if expected:
        lines.append(f"- Expected: {text(expected)}")
    if case.not_run:
        lines.append(f"- Not run: {text(case.not_run)}")
    if case.discrepancies:
        lines.append(f"- Discrepancies: {', '.join(code(d) for d in case.discrepancies)}")
    if is_error(case) and "\n" in case.detail.strip():
        lines += ["", "What went wrong:", "", *fence(case.detail, "text")]
    if checks := not_passed(case):
        lines += ["", "Checks not passed:", ""]
        for check in checks:
            lines += _check(check, check.name, f"doc: {text(check.doc)}; {_ids(check.requirements)}")
    if passed := [c.name for c in case.checks if c.verdict is Verdict.PASS]:
        lines += ["", f"Passed: {text(', '.join(passed))}"]
    lines += ["", "Frames exchanged:", "", *fence(frame_log(case.frames, FRAME_CHARS), "text")]
    if case.reproduce:
        lines += ["", "Reproduce with:", ""]
        lines += [f"- {label}: {code(command)}" for label, command in reproduce_commands(case)]
        if frames := reproduce_frames(case, FRAME_CHARS):
            lines += ["", "Frames to send, one per line:", "", *fence(frames, "json")]
    return lines
