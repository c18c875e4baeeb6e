"""Many judged requests, one result per requirement or check, in bounded memory (pure).

A trace may hold millions of requests; the reports hold one result per group (a client
requirement, or a server check of one API), with how often each verdict came and the
first few examples of every verdict but PASS: their checks, named by where they are in
the trace, and their frames.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..results import CaseResult, CheckResult, Frame, Verdict, worst

EXAMPLES = 3
"""Examples kept per verdict and group (PASS keeps none)."""
REQUIREMENTS = 32
"""Requirement ids kept per group (a schema check may name many)."""


@dataclass
class _Group:
    id: str
    api: str
    title: str
    doc: str
    basis: str
    requirements: dict[str, None] = field(default_factory=dict)
    counts: Counter[Verdict] = field(default_factory=Counter)
    examples: list[tuple[CheckResult, tuple[Frame, ...], tuple[int, ...], str]] = field(default_factory=list)
    kept: Counter[Verdict] = field(default_factory=Counter)
    not_run: Counter[str] = field(default_factory=Counter)
    span: tuple[int, int] | None = None
    """The first and last trace lines (or request numbers) a judged check rests on."""
    not_run_frames: tuple[Frame, ...] = ()
    not_run_where: str = ""


class Tally:
    """Judged checks grouped into results."""

    def __init__(self, examples: int = EXAMPLES, unit: str = "line") -> None:
        self.examples = examples
        self.unit = unit
        self._groups: dict[str, _Group] = {}
        self.seen: Counter[str] = Counter()
        """How often each verdict (by value) and ``not_run`` came so far: what a progress display marks."""

    def _group(self, ident: str, api: str, title: str, check: CheckResult | None) -> _Group:
        group = self._groups.get(ident)
        if group is None:
            doc, basis = (check.doc, check.basis) if check is not None else ("", "inferred")
            group = self._groups[ident] = _Group(ident, api, title, doc, basis)
        return group

    def add(self, ident: str, api: str, title: str, check: CheckResult, where: str,
            frames: Sequence[Frame] = (), lines: Sequence[int] = (), request: str = "") -> None:
        """One judged check, found ``where`` (``line 14``), with the frames that show it."""
        group = self._group(ident, api, title, check)
        if check.basis == "documented" and group.basis != "documented":
            group.basis, group.doc = "documented", check.doc  # the group rests on a page once a check of it does
        for req in check.requirements:
            if len(group.requirements) < REQUIREMENTS:
                group.requirements.setdefault(req, None)
        group.counts[check.verdict] += 1
        self.seen[check.verdict.value] += 1
        if lines:
            first, last = group.span or (min(lines), max(lines))
            group.span = (min(first, *lines), max(last, *lines))
        if check.verdict is not Verdict.PASS and group.kept[check.verdict] < self.examples:
            group.kept[check.verdict] += 1
            named = dataclasses.replace(check, name=f"{where} {check.name}")
            group.examples.append((named, tuple(frames), tuple(lines), request))

    def not_run(self, ident: str, api: str, title: str, reason: str, where: str,
                frames: Sequence[Frame] = ()) -> None:
        """A request that could not be judged (the trace ends first, the client hung up, ...)."""
        group = self._group(ident, api, title, None)
        group.not_run[reason] += 1
        self.seen["not_run"] += 1
        if not group.not_run_where:
            group.not_run_where, group.not_run_frames = where, tuple(frames)

    def results(self) -> list[CaseResult]:
        return [_result(g, self.unit) for g in self._groups.values()]


def _result(group: _Group, unit: str) -> CaseResult:
    judged = sum(group.counts.values())
    result = CaseResult(group.id, group.title, group.api, tuple(group.requirements), group.doc, group.basis,
                        Verdict.PASS, "")
    rank = {v: i for i, v in enumerate((Verdict.FAIL, Verdict.ERROR, Verdict.UNIMPLEMENTED, Verdict.NON_STRICT,
                                        Verdict.INFORMATIONAL))}
    shown = sorted(group.examples, key=lambda e: rank.get(e[0].verdict, len(rank)))
    result.checks = [check for check, _, _, _ in shown]
    result.frames = [f for _, frames, _, _ in shown for f in frames]
    if not judged:
        reason, _ = group.not_run.most_common(1)[0]
        result.verdict, result.not_run = Verdict.INFORMATIONAL, reason
        result.frames = list(group.not_run_frames)
        result.detail = f"not run: {reason} ({sum(group.not_run.values())} time(s), first at {group.not_run_where})"
        return result
    result.verdict = worst(group.counts)
    result.detail = _detail(group, judged, shown, unit)
    if result.verdict in (Verdict.FAIL, Verdict.ERROR):
        bad = [e for e in shown if e[0].verdict is result.verdict]
        result.reproduce = {"trace_lines": sorted({n for e in bad for n in e[2]}),
                            "frames": [e[3] for e in bad if e[3]]}
    return result


def _detail(group: _Group, judged: int, shown: list[tuple[CheckResult, tuple[Frame, ...], tuple[int, ...], str]],
            unit: str) -> str:
    counts = ", ".join(f"{n} {v.label}" for v, n in sorted(group.counts.items(), key=lambda kv: kv[0].value))
    skipped = sum(group.not_run.values())
    also = f"; {skipped} not judged ({group.not_run.most_common(1)[0][0]})" if skipped else ""
    if not shown:
        span = f" ({unit}s {group.span[0]} to {group.span[1]})" if group.span else ""
        return f"all {judged} passed{span}{also}"
    first = shown[0][0]
    return f"{counts} of {judged}{also}; first: {first.message()}"
