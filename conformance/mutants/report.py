"""Put a mutation run into words: the kill matrix, the score, the survivors, the false FAILs.

The terminal gets one line per target (the cases that caught a mutant, the FAILs of a
variant); ``--report-dir`` gets the whole of it as ``mutation.json`` and the kill matrix
as ``kill-matrix.csv`` (one row per target, one column per case, ``X`` where it FAILed).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .driver import Run, Score
from .targets import Target

_SHOWN = 3
"""Case ids shown per line; the rest are counted."""


def _cases(run: Run) -> str:
    ids = [case for case, _ in run.failed]
    more = f" (+{len(ids) - _SHOWN})" if len(ids) > _SHOWN else ""
    return ", ".join(ids[:_SHOWN]) + more


def _line(status: str, target: Target, text: str, width: int) -> str:
    return f"{status:<9} {target.name:<{width}}  {text}"


def _clean(score: Score) -> int:
    """Variants without FAIL (and without a broken run)."""
    failed = {v.name for v in (*score.false_fails, *score.broken)}
    return sum(v.name not in failed for v in score.variants)


def _tally(score: Score) -> str:
    """One implementation's score: mutants killed, variants without FAIL."""
    parts = []
    if score.mutants:
        killed, total = len(score.killed), len(score.mutants)
        parts.append(f"{killed}/{total} mutants killed ({100 * killed / total:.1f}%)")
    if score.variants:
        parts.append(f"{_clean(score)}/{len(score.variants)} variants without FAIL")
    return ", ".join(parts)


def render(score: Score, *, jobs: int, seconds: float) -> str:
    """The kill matrix (mutant → the cases that caught it), the variants, and the score."""
    width = max((len(t.name) for t in (*score.mutants, *score.variants)), default=0)
    lines = []
    if score.mutants:
        lines.append("mutants (the cases that FAILed each one)")
    for mutant in score.mutants:
        run = score.runs[mutant.name]
        if run.error:
            lines.append(_line("ERROR", mutant, run.error, width))
        elif run.failed:
            lines.append(_line("KILLED", mutant, f"{len(run.failed)} case(s): {_cases(run)}", width))
        else:
            lines.append(_line("SURVIVED", mutant, f"[{mutant.requirement}] {mutant.description}", width))
    if score.variants:
        lines.append("variants (correct implementations: no case may FAIL)")
    for variant in score.variants:
        run = score.runs[variant.name]
        if run.error:
            lines.append(_line("ERROR", variant, run.error, width))
        elif run.failed:
            case, why = run.failed[0]
            lines.append(_line("FAIL", variant, f"{len(run.failed)} FAIL: {_cases(run)}; {case}: {why}", width))
        else:
            counts = ", ".join(f"{n} {verdict}" for verdict, n in sorted(run.counts.items()))
            lines.append(_line("PASS", variant, f"no FAIL ({counts})", width))
    parts = [f"{name}: {_tally(part)}" for name, part in score.implementations().items()]
    runs = len(score.mutants) + len(score.variants)
    lines += [
        "",
        f"score: {'; '.join(parts)}; {runs} runs on {jobs} process(es) in {seconds:.1f} s",
        "survivors: " + (", ".join(m.name for m in score.survivors) or "none"),
        "false FAILs: " + (", ".join(v.name for v in score.false_fails) or "none"),
    ]
    if score.broken:
        lines.append("broken runs: " + ", ".join(t.name for t in score.broken))
    return "\n".join(lines)


def to_json(score: Score, *, jobs: int, seconds: float, response_timeout: float) -> dict[str, Any]:
    """Everything the run found, as data."""
    runs = score.runs
    return {
        "score": {
            "killed": len(score.killed),
            "mutants": len(score.mutants),
            "variants": len(score.variants),
            "survivors": [m.name for m in score.survivors],
            "false_fails": [v.name for v in score.false_fails],
            "broken": [t.name for t in score.broken],
            "jobs": jobs,
            "seconds": round(seconds, 2),
            "response_timeout": response_timeout,
            "implementations": {
                name: {"killed": len(part.killed), "mutants": len(part.mutants),
                       "variants_without_fail": _clean(part), "variants": len(part.variants)}
                for name, part in score.implementations().items()
            },
        },
        "mutants": [
            {"name": m.name, "implementation": m.implementation, "area": m.area, "requirement": m.requirement,
             "description": m.description,
             "killed": m in score.killed, "cases": [case for case, _ in runs[m.name].failed],
             "error": runs[m.name].error, "seconds": round(runs[m.name].seconds, 2)}
            for m in score.mutants
        ],
        "variants": [
            {"name": v.name, "implementation": v.implementation, "basis": v.basis, "description": v.description,
             "failed": [{"id": case, "detail": why} for case, why in runs[v.name].failed],
             "counts": dict(runs[v.name].counts), "error": runs[v.name].error,
             "seconds": round(runs[v.name].seconds, 2)}
            for v in score.variants
        ],
    }


def write(score: Score, directory: Path, case_ids: list[str], *, jobs: int, seconds: float,
          response_timeout: float) -> list[Path]:
    """Write ``mutation.json`` and ``kill-matrix.csv``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    summary = directory / "mutation.json"
    data = to_json(score, jobs=jobs, seconds=seconds, response_timeout=response_timeout)
    summary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    matrix = directory / "kill-matrix.csv"
    with matrix.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["target", "kind", *case_ids])
        for target in (*score.mutants, *score.variants):
            failed = {case for case, _ in score.runs[target.name].failed}
            kind = "mutant" if target in score.mutants else "variant"
            writer.writerow([target.name, kind, *("X" if case in failed else "" for case in case_ids)])
    return [summary, matrix]
