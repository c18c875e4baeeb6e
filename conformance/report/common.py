"""What every report shows, computed once: grouping, counts, names, frames, diffs.

The writers differ only in markup; the facts they show and the order they show
them in come from here, so the four files and the terminal never disagree.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

from ..results import CaseResult, CheckResult, Frame, RunResult, Verdict
from ..spec import Spec

COLUMNS: tuple[tuple[str, str], ...] = (
    (Verdict.PASS.value, Verdict.PASS.label),
    (Verdict.NON_STRICT.value, Verdict.NON_STRICT.label),
    (Verdict.INFORMATIONAL.value, Verdict.INFORMATIONAL.label),
    ("not_run", "NOT RUN"),
    *((v.value, v.label) for v in Verdict if v not in (Verdict.PASS, Verdict.NON_STRICT, Verdict.INFORMATIONAL)),
    ("total", "TOTAL"),
)
"""The summary table's columns: (key in RunResult.summary(), heading). They add up to TOTAL:
a case that never ran counts under NOT RUN only."""
NOT_RUN_NOTE = "NOT RUN: cases the target could not feed (counted there only, whatever their verdict)"

# Characters a faulty target may send that XML 1.0 forbids, that UTF-8 cannot
# encode (lone surrogates), or that a terminal would obey (C0, DEL, C1).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` with each unsafe character shown as ``\\xNN``/``\\uNNNN``: any sink holds it."""

    def show(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(show, text)


def by_api(run: RunResult, spec: Spec) -> list[tuple[str, list[CaseResult]]]:
    """Cases grouped by API: the spec's order, then other APIs by name; run order within each."""
    groups: dict[str, list[CaseResult]] = {}
    for case in run.results:
        groups.setdefault(case.api, []).append(case)
    known = [name for name in spec.apis if name in groups]
    others = sorted(set(groups) - set(known))
    return [(name, groups[name]) for name in (*known, *others)]


def count_rows(run: RunResult, spec: Spec) -> list[tuple[str, dict[str, int]]]:
    """One row of verdict counts per API (the run's total is ``run.summary()``)."""
    return [
        (api, RunResult(run.target, run.suite_version, results=cases).summary())
        for api, cases in by_api(run, spec)
    ]


def status_key(case: CaseResult) -> str:
    """The summary column a case is styled by: its verdict, or ``not_run``."""
    return "not_run" if case.not_run else case.verdict.value


def status(case: CaseResult) -> str:
    """The case's verdict as shown to a reader, flagging cases that never ran."""
    return f"{case.verdict.label} (not run)" if case.not_run else case.verdict.label


def needs_attention(case: CaseResult) -> bool:
    """Whether a report details the case rather than just listing its id."""
    return case.verdict is not Verdict.PASS or case.not_run is not None


def fails_run(case: CaseResult, run: RunResult) -> bool:
    """Whether this case alone makes the run fail (same rule as RunResult.failed)."""
    return case.verdict is Verdict.FAIL or (run.strict and case.verdict is Verdict.NON_STRICT)


def is_error(case: CaseResult) -> bool:
    """Whether the suite could not judge the case (exit code 4 when nothing fails)."""
    return case.verdict is Verdict.ERROR


ERROR_NOTE = "a bug of the suite, never the target's fault; please report it"


def deciding_checks(case: CaseResult) -> list[CheckResult]:
    """The checks that gave the case its verdict, to quote when it fails."""
    return [c for c in case.checks if c.verdict is case.verdict]


def outcome(run: RunResult) -> str:
    """The run's one-word outcome, with the reason when it failed or erred."""
    counts = run.summary()
    errors = f"{counts[Verdict.ERROR.value]} ERROR"
    if not run.failed():
        return f"ERROR ({errors}: the suite could not judge; {ERROR_NOTE})" if run.errored() else "PASSED"
    reasons = [f"{counts[Verdict.FAIL.value]} FAIL"]
    if run.strict:
        reasons.append(f"{counts[Verdict.NON_STRICT.value]} NON-STRICT under --strict")
    if run.errored():
        reasons.append(errors)
    return f"FAILED ({', '.join(reasons)})"


def outcome_key(run: RunResult) -> str:
    """The verdict the run's outcome is styled as."""
    return "fail" if run.failed() else "error" if run.errored() else "pass"


def incomplete_line(incomplete: str | None, run: RunResult) -> str | None:
    """The line every report adds when the run stopped early, else None."""
    if not incomplete:
        return None
    return f"INCOMPLETE: {incomplete}; these are the {len(run.results)} results finished before it stopped"


def expectation_note(case: CaseResult, expected: Mapping[str, Verdict] | None) -> str | None:
    """What the expectations file says of the case (its verdict, and why), else None."""
    if not expected or case.id not in expected:
        return None
    reason = getattr(expected, "reasons", {}).get(case.id)
    return f"{expected[case.id].label}: {reason}" if reason else expected[case.id].label


def discrepancy_title(spec: Spec, ident: str) -> str:
    """The registry's title for a discrepancy id (ids the registry lacks are said to be so)."""
    entry = spec.discrepancies.get(ident)
    return entry.title if entry else "not in the discrepancy registry"


def discrepancies(case: CaseResult, spec: Spec) -> list[tuple[str, str]]:
    """The case's discrepancy ids with their registry titles."""
    return [(ident, discrepancy_title(spec, ident)) for ident in case.discrepancies]


def frame_line(frame: Frame) -> str:
    """One frame of the wire log: time, direction, text (cleaned)."""
    return f"{frame.t:.3f}s {frame.direction:<8} {clean(frame.text)}"


def frame_log(frames: list[Frame]) -> str:
    """The whole wire log of a case, one frame per line."""
    return "\n".join(frame_line(f) for f in frames) if frames else "(no frames exchanged)"


def reproduce_frames(case: CaseResult) -> str:
    """The frames a reader can send by hand to reproduce the case, one per line."""
    reproduce = case.reproduce or {}
    return "\n".join(clean(str(text)) for text in reproduce.get("frames", []))


def reproduce_commands(case: CaseResult) -> list[tuple[str, str]]:
    """The reproduce block's commands, labelled: re-run the case, (start the reference
    server the run used,) replay the frames."""
    reproduce = case.reproduce or {}
    labels = (
        ("case_command", "re-run the case"),
        ("serve_command", "start the reference server"),
        ("command", "replay the frames"),
    )
    return [(label, clean(str(reproduce[key]))) for key, label in labels if reproduce.get(key)]


def pretty(text: str) -> str:
    """``text`` pretty-printed when it is a JSON object or array, else unchanged."""
    if text.lstrip()[:1] not in ("{", "["):
        return text
    try:
        value: Any = json.loads(text)
    except ValueError:
        return text
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def check_diff(check: CheckResult) -> list[str] | None:
    """A full-context unified diff of expected vs actual when either is multi-line, else None.

    One-line values read best side by side; documents read best as a diff.
    """
    expected, actual = pretty(check.expected), pretty(check.actual)
    if "\n" not in expected and "\n" not in actual:
        return None
    a, b = clean(expected).splitlines(), clean(actual).splitlines()
    lines = difflib.unified_diff(a, b, "expected", "actual", n=max(len(a), len(b)), lineterm="")
    return list(lines)


def one_line(text: str) -> str:
    """``text`` cleaned and folded onto one line, for table cells and attributes."""
    return " ".join(clean(text).split())
