"""The reports of a run: ``results.json``, ``junit.xml``, ``report.md``, ``report.html``.

Each format has its own module with a pure ``render`` function; this module only
writes them. What the formats share (grouping, counts, cleaning) is in ``common``;
``terminal`` is what the CLI prints while and after it runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..results import RunResult, Verdict
from ..spec import Spec, load_spec
from . import html_report, json_report, junit, markdown

_PROBE = ".lcm-conformance-write-test"


def prepare_dir(directory: Path) -> Path:
    """Create ``directory`` (and its parents) and prove a file can be written there.

    Called before a run sends anything, so a bad ``--report-dir`` costs nothing; raises
    OSError (NotADirectoryError, PermissionError, ...) saying why it cannot be used.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a directory")
    probe = directory / _PROBE
    try:
        with open(probe, "w", encoding="utf-8") as handle:
            handle.write("probe\n")
    finally:
        if probe.exists():
            os.remove(probe)
    return directory


def report_dir_problem(directory: Path) -> str | None:
    """Why ``--report-dir`` cannot be used (the commands' usage error), or None once it is ready."""
    try:
        prepare_dir(directory)
    except OSError as exc:
        return f"--report-dir {directory}: cannot write reports there ({exc})"
    return None


def write_reports(
    run: RunResult,
    directory: Path,
    *,
    spec: Spec | None = None,
    incomplete: str | None = None,
    expectations: Mapping[str, Verdict] | None = None,
) -> dict[str, Path]:
    """Write the four report files into ``directory`` (created if missing); return them by format.

    ``spec`` supplies API order and discrepancy titles; by default the suite's own.
    ``incomplete`` says why the run stopped early (the reports then say so, and
    ``results.json`` has ``"incomplete": true``); ``expectations`` (an expectations file,
    with its reasons) lets report.md and report.html say what each listed case was expected to get.
    """
    spec = spec or load_spec()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    texts = {
        "json": ("results.json", json_report.render(run, incomplete=incomplete)),
        "junit": ("junit.xml", junit.render(run, spec, incomplete=incomplete)),
        "markdown": ("report.md", markdown.render(run, spec, incomplete=incomplete, expectations=expectations)),
        "html": ("report.html", html_report.render(run, spec, incomplete=incomplete, expectations=expectations)),
    }
    written = {}
    for name, (filename, text) in texts.items():
        path = directory / filename
        path.write_text(text, encoding="utf-8", newline="\n")
        written[name] = path
    return written
