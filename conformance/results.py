"""The result model of a run: verdicts, checks, cases, and the ``results.json`` contract.

Verdicts follow DESIGN.md (after Autobahn|Testsuite). The JSON form of
:class:`RunResult` is a public contract that users script against: keep its keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    """What a check or a case concluded; the value is the contract's spelling."""

    PASS = "pass"
    NON_STRICT = "non_strict"
    INFORMATIONAL = "informational"
    UNIMPLEMENTED = "unimplemented"
    FAIL = "fail"
    ERROR = "error"
    """The suite could not judge (a bug of ours, never the target's fault)."""

    @property
    def label(self) -> str:
        return self.value.upper().replace("_", "-")


_SEVERITY = {
    Verdict.PASS: 0,
    Verdict.INFORMATIONAL: 1,
    Verdict.NON_STRICT: 2,
    Verdict.UNIMPLEMENTED: 3,
    Verdict.ERROR: 4,
    Verdict.FAIL: 5,
}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The verdict of a whole made of parts: the most severe part wins."""
    return max(verdicts, key=_SEVERITY.__getitem__, default=Verdict.PASS)


@dataclass(frozen=True)
class Frame:
    """One WebSocket frame exchanged with the target (text already redacted)."""

    direction: str  # "sent" or "received"
    t: float  # seconds since the case started
    text: str


@dataclass(frozen=True)
class CheckResult:
    """One judged requirement within a case."""

    name: str
    verdict: Verdict
    requirements: tuple[str, ...]
    basis: str  # "documented" or "inferred"
    doc: str  # where the docs say so (page, table row or sample), or why it is inferred
    expected: str
    actual: str
    discrepancies: tuple[str, ...] = ()

    def message(self) -> str:
        """A one-paragraph failure message: expected, arrived, where the doc says so."""
        ids = f" (discrepancies: {', '.join(self.discrepancies)})" if self.discrepancies else ""
        return (
            f"{self.name}: expected {self.expected}; got {self.actual}. "
            f"[{self.basis}: {self.doc}]{ids}"
        )


@dataclass
class CaseResult:
    """The outcome of one case against one target."""

    id: str
    title: str
    api: str
    requirements: tuple[str, ...]
    doc: str
    basis: str
    verdict: Verdict
    detail: str
    checks: list[CheckResult] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    not_run: str | None = None
    duration: float = 0.0
    reproduce: dict[str, Any] | None = None

    @property
    def column(self) -> str:
        """The one summary column the case counts in: ``not_run`` for a case that never ran,
        unless the target withdrew the API (UNIMPLEMENTED says more than NOT RUN)."""
        if self.not_run and self.verdict is not Verdict.UNIMPLEMENTED:
            return "not_run"
        return self.verdict.value

    @property
    def discrepancies(self) -> tuple[str, ...]:
        return tuple(sorted({d for c in self.checks for d in c.discrepancies}))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "api": self.api,
            "title": self.title,
            "requirements": list(self.requirements),
            "verdict": self.verdict.value,
            "detail": self.detail,
            "basis": self.basis,
            "doc": self.doc,
            "discrepancies": list(self.discrepancies),
            "not_run": self.not_run,
            "duration": round(self.duration, 4),
            "checks": [
                {**asdict(c), "verdict": c.verdict.value, "requirements": list(c.requirements),
                 "discrepancies": list(c.discrepancies)}
                for c in self.checks
            ],
            "frames": [asdict(f) for f in self.frames],
        }
        if self.reproduce:
            out["reproduce"] = self.reproduce
        return out


@dataclass
class RunResult:
    """A whole run: what was tested, with what, and every case's outcome."""

    target: str
    suite_version: str
    results: list[CaseResult] = field(default_factory=list)
    dialect: str = "unknown"
    strict: bool = False
    duration: float = 0.0
    expectation_diffs: list[str] = field(default_factory=list)
    consumed: dict[str, int] = field(default_factory=lambda: {"reserved": 0, "skipped": 0, "closed": 0})
    """What the run took from the target: contacts reserved and skipped, outcomes set on calls."""

    def summary(self) -> dict[str, int]:
        """Counts that add up to ``total``: each case in its one column (CaseResult.column)."""
        counts = {v.value: 0 for v in Verdict}
        counts["not_run"] = 0
        for r in self.results:
            counts[r.column] += 1
        counts["total"] = len(self.results)
        return counts

    def errored(self) -> bool:
        """Whether some case could not be judged (exit code 4 when nothing FAILed)."""
        return any(r.verdict is Verdict.ERROR for r in self.results)

    def failed(self) -> bool:
        """Whether the run fails: a FAIL, or a NON-STRICT under --strict."""
        bad = {Verdict.FAIL, Verdict.NON_STRICT} if self.strict else {Verdict.FAIL}
        return any(r.verdict in bad for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "target": self.target,
            "suite_version": self.suite_version,
            "dialect": self.dialect,
            "strict": self.strict,
            "duration": round(self.duration, 3),
            "consumed": self.consumed,
            "expectation_diffs": self.expectation_diffs,
            "results": [r.to_json() for r in self.results],
        }
