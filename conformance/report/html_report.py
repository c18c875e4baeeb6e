"""``report.html``: one self-contained page, readable offline, with no script and no external asset.

Every text is escaped through :func:`_e`: frames come from untrusted targets.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from ..results import CaseResult, CheckResult, Frame, RunResult, Verdict
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
    frame_line,
    incomplete_line,
    is_error,
    needs_attention,
    outcome,
    outcome_key,
    reproduce_commands,
    reproduce_frames,
    status,
    status_key,
)

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em;
       color: #1f2328; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: .6em; overflow-x: auto;
      white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; vertical-align: top; }
table.summary td.n { text-align: right; }
table.checks code { white-space: pre-wrap; word-break: break-all; }
table.summary td.zero { color: #8c959f; }
table.summary tr.total { font-weight: bold; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
details.case { border: 1px solid #d0d7de; border-left-width: 6px; margin: .5em 0;
               padding: .3em .8em; }
details.case > summary { cursor: pointer; }
.badge { display: inline-block; min-width: 8em; font-weight: 600; }
.v-pass { --c: #1a7f37; }
.v-non_strict { --c: #9a6700; }
.v-informational { --c: #0969da; }
.v-unimplemented { --c: #57606a; }
.v-fail { --c: #cf222e; }
.v-error { --c: #bc4c00; }
p.incomplete { border: 2px solid #bc4c00; padding: .4em .8em; font-weight: 600; }
p.note { color: #57606a; font-size: 90%; }
.v-not_run { --c: #8250df; }
.badge, strong, td.n { color: var(--c); }
details.case { border-left-color: var(--c); }
table.summary td[class*="v-"] { font-weight: 600; }
.diff .add { background: #dafbe1; }
.diff .del { background: #ffebe9; }
.diff .hdr { color: #57606a; }
.frames .f-sent { color: #0550ae; }
.frames .f-received { color: #116329; }
"""


def render(run: RunResult, spec: Spec, *, incomplete: str | None = None,
           expectations: Mapping[str, Verdict] | None = None) -> str:
    """The whole page: header, summary table, an index of non-PASS cases, every case."""
    groups = by_api(run, spec)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>LCM conformance report: {_e(run.target)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<h1>LCM conformance report</h1>",
        _header(run),
    ]
    if note := incomplete_line(incomplete, run):
        parts.append(f'<p class="incomplete">{_e(note)}</p>')
    parts += [
        "<h2>Summary</h2>",
        _summary(run, spec),
        f'<p class="note">{_e(NOT_RUN_NOTE)}</p>',
    ]
    if run.expectation_diffs:
        items = "".join(f"<li>{_e(d)}</li>" for d in run.expectation_diffs)
        parts += ["<h2>Expectations</h2>", f"<ul>{items}</ul>"]
    attention = [c for _, cases in groups for c in cases if needs_attention(c)]
    if attention:
        links = "".join(
            f'<li><a href="#{_case_anchor(c)}">{_badge(c)} {_code(c.id)}</a> '
            f"{_e(c.title)}</li>"
            for c in attention
        )
        parts += ["<h2>Cases that are not PASS</h2>", f"<ul>{links}</ul>"]
    parts.append("<h2>Cases</h2>")
    for api, cases in groups:
        parts.append(f"<h3>{_e(api)}</h3>")
        parts += [_case(case, spec, expectation_note(case, expectations)) for case in cases]
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _e(value: str) -> str:
    """The one way text enters the page: cleaned, then HTML-escaped (quotes too)."""
    return html.escape(clean(value), quote=True)


def _code(value: str) -> str:
    return f"<code>{_e(value)}</code>"


def _class(case: CaseResult) -> str:
    return f"v-{status_key(case)}"


def _badge(case: CaseResult) -> str:
    return f'<span class="badge {_class(case)}">{_e(status(case))}</span>'


def _case_anchor(case: CaseResult) -> str:
    return _e(f"case-{case.id}")


def _header(run: RunResult) -> str:
    verdict = f"v-{outcome_key(run)}"
    rows = (
        ("Target", _code(run.target)),
        ("Dialect detected", _code(run.dialect)),
        ("Suite version", _e(run.suite_version)),
        ("Strict", "yes" if run.strict else "no"),
        ("Run time", f"{run.duration:.1f} s"),
        ("Outcome", f'<strong class="{verdict}">{_e(outcome(run))}</strong>'),
    )
    return _dl(rows)


def _dl(rows: Sequence[tuple[str, str]]) -> str:
    """A definition list of (label, already-escaped HTML) rows."""
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _summary(run: RunResult, spec: Spec) -> str:
    head = "".join(f"<th>{_e(label)}</th>" for _, label in COLUMNS)
    rows = [_summary_row("", _e(api), counts) for api, counts in count_rows(run, spec)]
    rows.append(_summary_row(' class="total"', "total", run.summary()))
    return (
        f'<table class="summary"><thead><tr><th>API</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _summary_row(attrs: str, name: str, counts: dict[str, int]) -> str:
    cells = "".join(_count_cell(key, counts[key]) for key, _ in COLUMNS)
    return f"<tr{attrs}><th>{name}</th>{cells}</tr>"


def _count_cell(key: str, count: int) -> str:
    """A count, coloured by its verdict when non-zero."""
    colour = " zero" if not count else ("" if key == "total" else f" v-{key}")
    return f'<td class="n{colour}">{count}</td>'


def _case(case: CaseResult, spec: Spec, expected: str | None = None) -> str:
    meta = [
        ("Verdict", _badge(case)),
        ("API", _code(case.api)),
        ("Requirements", ", ".join(_code(r) for r in case.requirements) or "none"),
        ("Doc", f"{_e(case.doc)} ({_e(case.basis)})"),
        ("Detail", f"<pre>{_e(case.detail)}</pre>" if "\n" in case.detail.strip() else _e(case.detail)),
    ]
    if is_error(case):
        meta.append(("Error", _e(f"the suite could not judge this case: {ERROR_NOTE}")))
    if expected:
        meta.append(("Expected", _e(expected)))
    if case.not_run:
        meta.append(("Not run", _e(case.not_run)))
    if case.discrepancies:
        items = "".join(f"<li>{_code(i)} {_e(t)}</li>" for i, t in discrepancies(case, spec))
        meta.append(("Discrepancies", f"<ul>{items}</ul>"))
    parts = [
        (f'<details class="case {_class(case)}" id="{_case_anchor(case)}"'
         f'{" open" if case.verdict in (Verdict.FAIL, Verdict.ERROR) else ""}>'),
        f"<summary>{_badge(case)} {_code(case.id)} {_e(case.title)}</summary>",
        _dl(meta),
    ]
    if case.checks:
        parts += ["<h4>Checks</h4>", _checks(case.checks)]
    parts += ["<h4>Frames exchanged</h4>", _frames(case.frames)]
    if case.reproduce:
        parts += ["<h4>Reproduce with</h4>", _reproduce(case)]
    parts.append("</details>")
    return "\n".join(parts)


def _checks(checks: list[CheckResult]) -> str:
    head = "<tr><th>Verdict</th><th>Check</th><th>Expected</th><th>Actual</th></tr>"
    rows = "".join(map(_check, checks))
    return f'<table class="checks"><thead>{head}</thead><tbody>{rows}</tbody></table>'


def _check(check: CheckResult) -> str:
    about = f"{_e(check.name)}<br><small>{_e(check.doc)} ({_e(check.basis)})"
    if check.discrepancies:
        about += "; discrepancies " + ", ".join(_code(d) for d in check.discrepancies)
    about += "</small>"
    diff = check_diff(check)
    if diff is None:
        compared = f"<td>{_code(check.expected)}</td><td>{_code(check.actual)}</td>"
    else:
        compared = f'<td colspan="2">{_diff(diff)}</td>'
    verdict = f'<span class="badge v-{check.verdict.value}">{_e(check.verdict.label)}</span>'
    return f"<tr><td>{verdict}</td><td>{about}</td>{compared}</tr>"


def _diff(lines: list[str]) -> str:
    """A unified diff with its two header lines, additions and removals marked."""

    def kind(index: int, line: str) -> str:
        if index < 2 or line.startswith("@@"):
            return "hdr"
        return {"+": "add", "-": "del"}.get(line[:1], "ctx")

    body = "\n".join(f'<span class="{kind(i, ln)}">{_e(ln)}</span>' for i, ln in enumerate(lines))
    return f'<pre class="diff">{body}</pre>'


def _frames(frames: list[Frame]) -> str:
    if not frames:
        return "<p>No frames exchanged.</p>"

    def line(frame: Frame) -> str:
        direction = "sent" if frame.direction == "sent" else "received"
        return f'<span class="f-{direction}">{_e(frame_line(frame))}</span>'

    body = "\n".join(map(line, frames))
    return f'<pre class="frames">{body}</pre>'


def _reproduce(case: CaseResult) -> str:
    rows = [(_e(label), _code(cmd)) for label, cmd in reproduce_commands(case)]
    if frames := reproduce_frames(case):
        rows.append(("frames to send", f"<pre>{_e(frames)}</pre>"))
    return _dl(rows)
