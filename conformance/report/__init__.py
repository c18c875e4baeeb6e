"""The reports of a run: ``results.json``, ``junit.xml``, ``report.md``, ``report.html``.

Each format has its own module with a pure ``render`` function; this module only
writes them. What the formats share (grouping, counts, cleaning) is in ``common``;
``terminal`` is what the CLI prints while and after it runs.
"""

from __future__ import annotations

from pathlib import Path

from ..results import RunResult
from ..spec import Spec, load_spec
from . import html_report, json_report, junit, markdown


def write_reports(run: RunResult, directory: Path, *, spec: Spec | None = None) -> dict[str, Path]:
    """Write the four report files into ``directory`` (created if missing); return them by format.

    ``spec`` supplies API order and discrepancy titles; by default the suite's own.
    """
    spec = spec or load_spec()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    texts = {
        "json": ("results.json", json_report.render(run)),
        "junit": ("junit.xml", junit.render(run, spec)),
        "markdown": ("report.md", markdown.render(run, spec)),
        "html": ("report.html", html_report.render(run, spec)),
    }
    written = {}
    for name, (filename, text) in texts.items():
        path = directory / filename
        path.write_text(text, encoding="utf-8", newline="\n")
        written[name] = path
    return written
