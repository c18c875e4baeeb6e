"""What every report shows, computed once: grouping, counts, names, frames, diffs.

The writers differ only in markup; the facts they show and the order they show
them in come from here, so the four files and the terminal never disagree.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
NOT_RUN_NOTE = "NOT RUN: cases the target could not feed, with the reason (each case counts in one column only)"

DIALECTS = {
    "samples": "the replies are written as the doc samples write them",
    "tables": "the replies are written as the Response Parameters tables say",
    "mixed": "some replies are written as the tables say, others as the samples do",
    "unknown": "no reply showed a form either way",
}
"""What each dialect :func:`conformance.runner.detect_dialect` finds means."""


def dialect_meaning(dialect: str) -> str:
    """What the dialect found means, said the same in every report ("" for one we do not know)."""
    return DIALECTS.get(dialect, "")


LEGEND: tuple[tuple[str, str, str, str], ...] = (
    ("pass", "PASS", "conforms to the doc tables", "no"),
    ("non_strict", "NON-STRICT",
     "conforms only in a form a doc sample shows where it contradicts the tables (a registered discrepancy, named)",
     "only with --strict"),
    ("informational", "INFORMATIONAL",
     "behaviour the docs leave open, or a rule the suite inferred: noted, never a failure", "no"),
    ("not_run", "NOT RUN",
     "the case could not run (no contact to feed it, no second agent, the run stopped early); the reason is given",
     "no"),
    ("unimplemented", "UNIMPLEMENTED",
     "the target does not offer the API (its profile says so, or it refused the request as unknown)", "no"),
    ("fail", "FAIL", "contradicts the docs: the doc reference, what was expected and what arrived are given", "yes"),
    ("error", "ERROR", "the suite could not judge the case: a bug of the suite, never the target's fault",
     "yes (exit code 4 without a FAIL)"),
)
"""The reports' legend, in the summary's column order: (key, label, meaning, fails the run)."""

_RANK = {"fail": 0, "error": 0, "non_strict": 1, "informational": 2, "not_run": 2, "unimplemented": 2, "pass": 3}
BUCKETS: tuple[tuple[str, str], ...] = (
    ("fail", "FAIL and ERROR"),
    ("non_strict", "NON-STRICT"),
    ("other", "INFORMATIONAL, NOT RUN and UNIMPLEMENTED"),
    ("pass", "PASS"),
)
"""The order the reports list cases and requirements in: what needs fixing first."""

FRAME_CHARS = 2000
"""A frame longer than this is cut in the reports (``results.json`` holds it whole)."""
CUT_NOTE = "results.json holds every frame whole"

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
    """The summary column a case is styled by (the one it counts in)."""
    return case.column


def status(case: CaseResult) -> str:
    """The case's verdict as shown to a reader, flagging cases that never ran."""
    return f"{case.verdict.label} (not run)" if case.column == "not_run" else case.verdict.label


def fails_run(case: CaseResult, run: RunResult) -> bool:
    """Whether this case alone makes the run fail (same rule as RunResult.failed)."""
    return case.verdict is Verdict.FAIL or (run.strict and case.verdict is Verdict.NON_STRICT)


def is_error(case: CaseResult) -> bool:
    """Whether the suite could not judge the case (exit code 4 when nothing fails)."""
    return case.verdict is Verdict.ERROR


def in_full(case: CaseResult, run: RunResult) -> bool:
    """Whether a report shows the case in a block of its own, frames and all (else one line):
    the cases a reader must act on, those that fail the run or that the suite could not judge."""
    return fails_run(case, run) or is_error(case)


ERROR_NOTE = "a bug of the suite, never the target's fault; please report it"


def not_passed(case: CaseResult) -> list[CheckResult]:
    """The case's checks that did not pass, worst first (FAIL and ERROR), else in step order."""
    return sorted((c for c in case.checks if c.verdict is not Verdict.PASS), key=lambda c: rank(c.verdict.value))


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


def frame_log(frames: list[Frame], limit: int | None = None) -> str:
    """The whole wire log of a case, one frame per line (each cut at ``limit`` characters, if given)."""
    if not frames:
        return "(no frames exchanged)"
    return "\n".join(frame_line(Frame(f.direction, f.t, shorten(f.text, limit) if limit else f.text)) for f in frames)


def reproduce_frames(case: CaseResult, limit: int | None = None) -> str:
    """The frames a reader can send by hand to reproduce the case, one per line (cut at ``limit``, if given)."""
    reproduce = case.reproduce or {}
    return "\n".join(shorten(str(text), limit) if limit else clean(str(text)) for text in reproduce.get("frames", []))


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


def rank(key: str) -> int:
    """Where a verdict key (a case's :func:`status_key`, a check's verdict) sorts: FAIL and ERROR first."""
    return _RANK[key]


def cases_by_bucket(run: RunResult, spec: Spec) -> list[tuple[str, str, list[CaseResult]]]:
    """Every bucket of BUCKETS as (key, title, cases), FAIL and ERROR first; within one,
    API order then run order. Empty buckets are kept, so each report can say "none"."""
    buckets: dict[str, list[CaseResult]] = {key: [] for key, _ in BUCKETS}
    for _, cases in by_api(run, spec):
        for case in cases:
            buckets[BUCKETS[rank(status_key(case))][0]].append(case)
    return [(key, title, buckets[key]) for key, title in BUCKETS]


_STEP = re.compile(r"step (\d+) (.*)", re.DOTALL)


def split_step(name: str) -> tuple[str | None, str]:
    """``"step 3 schema"`` -> ``("3", "schema")``; a name without a step -> ``(None, name)``."""
    match = _STEP.fullmatch(name)
    return (match.group(1), match.group(2)) if match else (None, name)


@dataclass(frozen=True)
class Finding:
    """One outcome of one check (verdict, expected, actual), shown once for every case that got it."""

    check: CheckResult
    """The first such check (its name keeps its step)."""
    name: str
    """The check's name without its step."""
    cases: tuple[tuple[CaseResult, str | None], ...]
    """Every case that got it, with the step it came at."""


@dataclass(frozen=True)
class RequirementGroup:
    """The checks that judged one set of requirement ids, on one doc reference."""

    requirements: tuple[str, ...]
    doc: str
    api: str
    anchor: str
    findings: tuple[Finding, ...]
    """What did not pass, worst first; passing checks are only counted."""
    passed: int
    case_count: int

    @property
    def key(self) -> str:
        """The worst verdict key of the group (``pass`` when every check passed)."""
        return self.findings[0].check.verdict.value if self.findings else Verdict.PASS.value


def requirement_groups(run: RunResult, spec: Spec) -> list[RequirementGroup]:
    """Every check of the run grouped by (requirement ids, doc reference): the worst groups
    first, then in page order (the spec's APIs, each page's own order of ids)."""
    position = {
        req: (i, j)
        for i, api in enumerate(spec.apis.values())
        for j, req in enumerate(api.requirement_ids())
    }
    names = {api.abbr: api.name for api in spec.apis.values()}
    checks: dict[tuple[tuple[str, ...], str], list[tuple[CaseResult, CheckResult]]] = {}
    for _, _, cases in cases_by_bucket(run, spec):
        for case in cases:
            for check in case.checks:
                checks.setdefault((check.requirements, check.doc), []).append((case, check))
    groups = [_group(reqs, doc, pairs, names) for (reqs, doc), pairs in checks.items()]
    unknown = (len(position), 0)
    return sorted(groups, key=lambda g: (
        rank(g.key), position.get(g.requirements[0], unknown) if g.requirements else unknown, g.requirements, g.doc
    ))


def _group(reqs: tuple[str, ...], doc: str, pairs: list[tuple[CaseResult, CheckResult]],
           names: Mapping[str, str]) -> RequirementGroup:
    """One group: its checks that did not pass merged into findings, the rest counted."""
    same: dict[tuple[object, ...], list[tuple[CaseResult, CheckResult]]] = {}
    for case, check in pairs:
        if check.verdict is not Verdict.PASS:
            key = (check.verdict, split_step(check.name)[1], check.expected, check.actual, check.basis,
                   check.discrepancies)
            same.setdefault(key, []).append((case, check))
    findings = sorted(
        (Finding(found[0][1], split_step(found[0][1].name)[1],
                 tuple((case, split_step(check.name)[0]) for case, check in found))
         for found in same.values()),
        key=lambda f: rank(f.check.verdict.value),
    )
    digest = hashlib.sha1(json.dumps([reqs, doc]).encode("utf-8")).hexdigest()[:6]
    return RequirementGroup(
        requirements=reqs,
        doc=doc,
        api=names.get(reqs[0].split(".", 1)[0], pairs[0][0].api) if reqs else pairs[0][0].api,
        anchor=f"req-{reqs[0] if reqs else 'none'}-{digest}",
        findings=tuple(findings),
        passed=sum(check.verdict is Verdict.PASS for _, check in pairs),
        case_count=len({case.id for case, _ in pairs}),
    )


def group_anchors(groups: list[RequirementGroup]) -> dict[tuple[tuple[str, ...], str], str]:
    """Each group's anchor by (requirement ids, doc reference): how a case links its checks to them."""
    return {(g.requirements, g.doc): g.anchor for g in groups}


def shorten(text: str, limit: int = FRAME_CHARS) -> str:
    """``text`` cleaned, cut at ``limit`` characters with a note of its length (results.json has it whole)."""
    shown = clean(text)
    return shown if len(shown) <= limit else f"{shown[:limit]}… [{len(text)} characters]"


def discrepancies_seen(run: RunResult, spec: Spec) -> list[tuple[str, str, int]]:
    """Every discrepancy some case relied on: (id, registry title, number of cases), by id."""
    counts: dict[str, int] = {}
    for case in run.results:
        for ident in case.discrepancies:
            counts[ident] = counts.get(ident, 0) + 1
    return [(ident, discrepancy_title(spec, ident), counts[ident]) for ident in sorted(counts)]


def examples(groups: list[RequirementGroup], in_full: Callable[[CaseResult], bool]
             ) -> dict[tuple[str, int], tuple[CaseResult, str | None]]:
    """The exchange that shows each finding that neither fails nor errs, keyed (group anchor,
    finding index): a case of it and the anchor of its frames when the page already shows them
    (its own block, if ``in_full``, or an earlier finding's), else its case with the fewest frame
    characters and None (show them there). A failing finding's cases show their own frames."""
    anchors = {case.id: f"case-{case.id}" for group in groups for finding in group.findings
               for case, _ in finding.cases if in_full(case)}
    chosen: dict[tuple[str, int], tuple[CaseResult, str | None]] = {}
    for group in groups:
        for index, finding in enumerate(group.findings):
            if finding.check.verdict in (Verdict.FAIL, Verdict.ERROR):
                continue
            cases = [case for case, _ in finding.cases]
            again = [case for case in cases if case.id in anchors]
            case = again[0] if again else min(cases, key=lambda c: sum(len(f.text) for f in c.frames))
            chosen[(group.anchor, index)] = (case, anchors.get(case.id))
            anchors.setdefault(case.id, f"frames-{case.id}")
    return chosen
