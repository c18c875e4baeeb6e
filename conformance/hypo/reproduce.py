"""A failing example as a case file: ``lcm-conformance run --case FILE`` replays it.

The file is in the format of ``cases/*.yaml`` (see :mod:`conformance.cases`): literal
``frame`` and ``raw`` steps with the checks the example ran, so the replay sends the same
frames and judges them by the same checks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..cases import Step
from ..protocol import encode

TEMPLATE = re.compile(r"\$\{")
"""What :func:`conformance.cases.fill` would read as a variable; a frame holding it is
written with its dollar signs escaped (JSON's ``\\u0024``), which any JSON reader reads back."""
PRINTED_CHARS = 10_000
"""A case file longer than this (huge strings, say) is not printed, only written."""


def case_document(
    case_id: str, title: str, api: str, requirements: list[str], doc: str, basis: str, steps: list[Step]
) -> list[dict[str, Any]]:
    """The case file's content: one case whose steps are the example's."""
    return [{
        "id": case_id, "title": title, "api": api, "requirements": requirements, "doc": doc, "basis": basis,
        "steps": [_step(s) for s in steps],
    }]


def _step(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if step.agent != 1:
        out["agent"] = step.agent
    if step.frame is not None and not TEMPLATE.search(json.dumps(step.frame)):
        out["frame"] = step.frame
    else:
        out["raw"] = _escaped(step.raw if step.raw is not None else encode(step.frame))
    if step.expect != "response":
        out["expect"] = step.expect
    if step.checks:
        out["checks"] = list(step.checks)
    return out


def _escaped(text: str) -> str:
    if not TEMPLATE.search(text):
        return text
    try:
        json.loads(text)
    except ValueError:
        raise ValueError("raw text holding ${ cannot be written as a case step") from None
    return text.replace("$", "\\u0024")  # in JSON a $ only occurs inside strings


class _Dumper(yaml.SafeDumper):
    """Writes a value as often as it occurs: anchors and aliases would puzzle a reader."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(document: list[dict[str, Any]]) -> str:
    """The case file's text."""
    # ASCII only: PyYAML writes some characters (NEL, for one) raw where it cannot read them back
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=False, width=2**16)


def write(text: str, report_dir: Path, name: str) -> Path:
    """Write a case file's text into the report directory; return its path."""
    path = Path(report_dir) / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
