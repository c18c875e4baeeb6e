"""An expectations file: which verdict each listed case is expected to get, and why.

The file is a YAML mapping of case id (or property run id) to a verdict, spelled as any
report prints it (``FAIL``, ``NON-STRICT``, ``non_strict``, ``Informational``, ...), or to
``{verdict: FAIL, reason: "..."}``. Every mistake in it is found at once, before a run
sends anything, and named: a file that gates CI must not silently mean something else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .results import Verdict

FORMS = ", ".join(v.label for v in Verdict)


class ExpectationsError(ValueError):
    """The file cannot be read, or says something that is not an expectation."""


class Expectations(dict[str, Verdict]):
    """Case id → expected verdict; ``reasons`` holds the reasons the file gives."""

    def __init__(self, verdicts: Mapping[str, Verdict] | None = None,
                 reasons: Mapping[str, str] | None = None) -> None:
        super().__init__(verdicts or {})
        self.reasons: dict[str, str] = dict(reasons or {})


def parse_verdict(value: Any) -> Verdict | None:
    """A verdict as any report spells it (case, ``-``/``_``/space alike), else None."""
    if not isinstance(value, str):
        return None
    key = "_".join(value.strip().lower().replace("-", " ").replace("_", " ").split())
    try:
        return Verdict(key)
    except ValueError:
        return None


def parse(doc: Any, source: str) -> Expectations:
    """The expectations a loaded YAML document states; raises naming every bad entry."""
    if doc is None:
        return Expectations()
    if not isinstance(doc, dict):
        raise ExpectationsError(f"expectations file {source}: expected a mapping of case id to verdict")
    verdicts: dict[str, Verdict] = {}
    reasons: dict[str, str] = {}
    problems: list[str] = []
    for key, value in doc.items():
        ident = str(key)
        reason: Any = None
        if isinstance(value, dict):
            extra = sorted(str(k) for k in value if k not in ("verdict", "reason"))
            if extra:
                problems.append(f"{ident}: unknown key(s) {', '.join(extra)} (allowed: verdict, reason)")
                continue
            reason = value.get("reason")
            if reason is not None and not isinstance(reason, str):
                problems.append(f"{ident}: reason must be text, not {reason!r}")
                continue
            value = value.get("verdict")
        verdict = parse_verdict(value)
        if verdict is None:
            problems.append(f"{ident}: {value!r} is not a verdict (one of {FORMS})")
            continue
        verdicts[ident] = verdict
        if reason:
            reasons[ident] = reason.strip()
    if problems:
        raise ExpectationsError(f"expectations file {source}: " + "; ".join(problems))
    return Expectations(verdicts, reasons)


def read(path: Path) -> Expectations:
    """Read and parse an expectations file."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ExpectationsError(f"expectations file {path}: {exc}") from exc
    return parse(doc, str(path))


def unknown_ids(expected: Iterable[str], known: Iterable[str]) -> list[str]:
    """The ids an expectations file lists that name no case and no property run."""
    return sorted(set(expected) - set(known))
