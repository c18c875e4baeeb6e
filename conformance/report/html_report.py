"""``report.html``: one self-contained page people work from, worst first, filterable, readable offline.

The page is ``templates/report.html.j2`` rendered by Jinja2 with autoescaping, and every value
it prints is first cleaned (:func:`common.clean`): frames come from untrusted targets, so
escaping is the default, not something each line of markup must remember. A
Content-Security-Policy lets only the page's own style and script run. The script only
filters; with scripts off every item is on the page and the filter form stays hidden.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ..results import CaseResult, Frame, RunResult, Verdict
from ..spec import Spec
from .common import (
    COLUMNS,
    CUT_NOTE,
    ERROR_NOTE,
    FRAME_CHARS,
    LEGEND,
    NOT_RUN_NOTE,
    by_api,
    cases_by_bucket,
    check_diff,
    clean,
    count_rows,
    dialect_meaning,
    discrepancies_seen,
    examples,
    expectation_note,
    frame_line,
    group_anchors,
    in_full,
    incomplete_line,
    not_passed,
    outcome,
    outcome_key,
    reproduce_commands,
    reproduce_frames,
    requirement_groups,
    shorten,
    status,
    status_key,
)


def _finalize(value: Any) -> Any:
    """Every text the page prints is cleaned first (autoescaping follows); Markup built here is left alone."""
    return clean(value) if isinstance(value, str) and not isinstance(value, Markup) else value


_ENV = Environment(
    loader=PackageLoader("conformance.report", "templates"),
    autoescape=True,
    finalize=_finalize,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _source(name: str) -> str:
    """A template file's text as written: the CSS and the script take no values."""
    assert _ENV.loader is not None
    return _ENV.loader.get_source(_ENV, name)[0].strip()


def _sha256(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


CSS = _source("report.css")
SCRIPT = _source("filter.js")
CSP = (
    f"default-src 'none'; style-src {_sha256(CSS)}; script-src {_sha256(SCRIPT)}; "
    "base-uri 'none'; form-action 'none'"
)
"""Only the page's own style and script: nothing a target sent can run or load, even if it got through."""


def render(run: RunResult, spec: Spec, *, incomplete: str | None = None,
           expectations: Mapping[str, Verdict] | None = None) -> str:
    """The page: facts, summary, legend, requirements not met, cases worst first, discrepancies, requirements met."""
    groups = requirement_groups(run, spec)
    anchors = group_anchors(groups)

    def full(case: CaseResult) -> bool:
        return in_full(case, run)

    return _ENV.get_template("report.html.j2").render(
        run=run,
        css=Markup(CSS),
        script=Markup(SCRIPT),
        csp=CSP,
        outcome=outcome(run),
        dialect_meaning=dialect_meaning(run.dialect),
        outcome_key=outcome_key(run),
        incomplete=incomplete_line(incomplete, run),
        summary=run.summary(),
        count_rows=count_rows(run, spec),
        columns=COLUMNS,
        legend=LEGEND,
        not_run_note=NOT_RUN_NOTE,
        error_note=ERROR_NOTE,
        apis=[api for api, _ in by_api(run, spec)],
        buckets=cases_by_bucket(run, spec),
        unmet=[g for g in groups if g.findings],
        met=[g for g in groups if not g.findings],
        seen=discrepancies_seen(run, spec),
        not_passed=not_passed,
        status=status,
        status_key=status_key,
        in_full=full,
        expected=lambda case: expectation_note(case, expectations),
        anchor=lambda check: anchors[(check.requirements, check.doc)],
        examples=examples(groups, full),
        check_diff=check_diff,
        diff_html=_diff,
        frames_html=_frames,
        reproduce_commands=reproduce_commands,
        reproduce_frames=lambda case: reproduce_frames(case, FRAME_CHARS),
        count_class=_count_class,
        text=_text,
    )


def _count_class(key: str, count: int) -> str:
    """A summary cell's classes: grey when zero, coloured by its verdict otherwise."""
    return " zero" if not count else ("" if key == "total" else f" v-{key}")


def _text(value: str) -> Markup:
    """Long text for element content (frames, expected, actual): cleaned, ``&<>`` escaped. Quotes
    stay as they are, as they mean nothing outside an attribute and JSON is full of them;
    so never use it inside an attribute."""
    return Markup(html.escape(clean(value), quote=False))


def _diff(lines: list[str]) -> Markup:
    """A unified diff with its two header lines, additions and removals marked."""

    def kind(index: int, line: str) -> str:
        if index < 2 or line.startswith("@@"):
            return "hdr"
        return {"+": "add", "-": "del"}.get(line[:1], "ctx")

    body = Markup("\n").join(
        Markup('<span class="{}">{}</span>').format(kind(i, line), _text(line)) for i, line in enumerate(lines)
    )
    return Markup('<pre class="diff">{}</pre>').format(body)


def _frames(frames: list[Frame]) -> Markup:
    """The wire log, one frame a line, sent and received told apart, each cut at FRAME_CHARS."""
    if not frames:
        return Markup("<p>No frames exchanged.</p>")
    lines = (
        Markup('<span class="f-{}">{}</span>').format(
            "sent" if frame.direction == "sent" else "received",
            _text(frame_line(Frame(frame.direction, frame.t, shorten(frame.text)))),
        )
        for frame in frames
    )
    log = Markup('<pre class="frames">{}</pre>').format(Markup("\n").join(lines))
    if any(len(frame.text) > FRAME_CHARS for frame in frames):
        log += Markup('<p class="note">Frames over {} characters are cut here; {}.</p>').format(FRAME_CHARS, CUT_NOTE)
    return log
