"""``junit.xml``: one testsuite per API, one testcase per case, for CI dashboards.

FAIL (and NON-STRICT under --strict) is a <failure>; ERROR (the suite could not
judge) is an <error> holding the exception and the frames so far; UNIMPLEMENTED and
cases that never ran are <skipped>; NON-STRICT and INFORMATIONAL pass, with what they
found in <system-out>. A run that stopped early says so in each suite's properties.
Every text goes through :func:`common.clean`, so what a faulty target sent cannot make
the file invalid XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..results import CaseResult, RunResult, Verdict
from ..spec import Spec
from .common import (
    by_api,
    clean,
    deciding_checks,
    discrepancies,
    fails_run,
    frame_log,
    incomplete_line,
    is_error,
    one_line,
    reproduce_commands,
    reproduce_frames,
    status,
)

_REPORTED = (Verdict.NON_STRICT, Verdict.INFORMATIONAL)


def render(run: RunResult, spec: Spec, *, incomplete: str | None = None) -> str:
    """The run as a JUnit XML document."""
    root = ET.Element("testsuites", name="lcm-conformance")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for api, cases in by_api(run, spec):
        suite = ET.SubElement(root, "testsuite", name=clean(api))
        _properties(suite, run, incomplete_line(incomplete, run))
        kinds = [_testcase(suite, case, run, spec) for case in cases]
        counts = {
            "tests": len(kinds),
            "failures": kinds.count("failures"),
            "errors": kinds.count("errors"),
            "skipped": kinds.count("skipped"),
        }
        _set_counts(suite, counts, sum(c.duration for c in cases))
        totals = {key: totals[key] + counts[key] for key in totals}
    _set_counts(root, totals, run.duration)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _set_counts(element: ET.Element, counts: dict[str, int], seconds: float) -> None:
    for key, value in counts.items():
        element.set(key, str(value))
    element.set("time", f"{seconds:.3f}")


def _properties(suite: ET.Element, run: RunResult, incomplete: str | None) -> None:
    props = ET.SubElement(suite, "properties")
    rows = [
        ("target", run.target),
        ("suite_version", run.suite_version),
        ("dialect", run.dialect),
        ("strict", str(run.strict).lower()),
    ]
    if incomplete:
        rows.append(("incomplete", incomplete))
    for name, value in rows:
        ET.SubElement(props, "property", name=name, value=one_line(value))


def _testcase(suite: ET.Element, case: CaseResult, run: RunResult, spec: Spec) -> str:
    """Add one case; return the JUnit counter it adds to: "failures", "errors", "skipped" or "passed"."""
    element = ET.SubElement(suite, "testcase", classname=clean(case.api), name=clean(case.id))
    element.set("time", f"{case.duration:.3f}")
    kind = "passed"
    if fails_run(case, run):
        kind = "failures"
        failure = ET.SubElement(
            element, "failure", message=_failure_message(case), type=case.verdict.label
        )
        failure.text = _case_text(case, spec)
    elif is_error(case):
        kind = "errors"
        error = ET.SubElement(element, "error", message=_failure_message(case), type=case.verdict.label)
        error.text = _case_text(case, spec)
    elif case.not_run or case.verdict is Verdict.UNIMPLEMENTED:
        kind = "skipped"
        ET.SubElement(element, "skipped", message=one_line(case.not_run or case.detail))
    if case.verdict in _REPORTED:
        ET.SubElement(element, "system-out").text = _case_text(case, spec)
    return kind


def _failure_message(case: CaseResult) -> str:
    """The messages of the checks that gave the case its verdict (the detail if none did)."""
    messages = [c.message() for c in deciding_checks(case)]
    return one_line(" | ".join(messages) or case.detail)


def _case_text(case: CaseResult, spec: Spec) -> str:
    """Everything a CI reader needs about one case, as plain text."""
    lines = [
        f"{status(case)}: {case.title}",
        f"detail: {case.detail}",
        f"requirements: {', '.join(case.requirements)}",
        f"doc: {case.doc} [{case.basis}]",
    ]
    if case.not_run:
        lines.append(f"not run: {case.not_run}")
    lines += ["", "checks:", *(f"  [{c.verdict.label}] {c.message()}" for c in case.checks)]
    if case.discrepancies:
        lines += ["", "discrepancies:", *(f"  {i}: {t}" for i, t in discrepancies(case, spec))]
    lines += ["", "frames exchanged:", frame_log(case.frames)]
    if case.reproduce:
        commands = reproduce_commands(case)
        lines += ["", "reproduce with:", *(f"  {label}: {cmd}" for label, cmd in commands)]
        if frames := reproduce_frames(case):
            lines += ["  frames to send:", frames]
    return clean("\n".join(lines)) + "\n"
