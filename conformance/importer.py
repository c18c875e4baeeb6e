"""Turn one doc page (plain-text export) into the project's spec YAML.

The export puts one table cell per line, separates cells with blank lines, and
embeds sample messages as JSON that may carry non-breaking spaces or a stray
``Request:`` prefix. The importer extracts only facts (names, flags, types
exactly as written, sample values, error cases); everything in the project's
own words (descriptions, prerequisites, requirement ids) comes from an overlay
file, so re-importing a changed page shows up as a reviewable diff of facts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ENVELOPE_HEADER = "Value"
ROW_HEADER = ("Mandatory", "Data Type", "Description")
ERROR_HEADER = ("Error Type", "Actual Error", "Message")
END_MARKER = "Was this article helpful?"
SUBTABLE_HEADING = "Response Parameters"


class PageFormatError(ValueError):
    """The page does not follow the export format the importer understands."""


@dataclass
class _Cursor:
    """A read position over the page's non-empty lines."""

    lines: list[str]
    pos: int = 0

    def peek(self, ahead: int = 0) -> str | None:
        i = self.pos + ahead
        return self.lines[i] if i < len(self.lines) else None

    def take(self) -> str:
        if self.pos >= len(self.lines):
            raise PageFormatError("unexpected end of page")
        line = self.lines[self.pos]
        self.pos += 1
        return line

    def seek(self, heading: str, *, start: int = 0) -> bool:
        for i in range(start, len(self.lines)):
            if self.lines[i] == heading:
                self.pos = i + 1
                return True
        return False


@dataclass
class PageFacts:
    """Everything the importer reads off one page, before the overlay."""

    title: str
    request_envelope: dict[str, str]
    request_rows: list[dict[str, Any]]
    response_envelope: dict[str, str]
    response_rows: list[dict[str, Any]]
    errors: list[dict[str, str]] = field(default_factory=list)
    sample_requests: list[dict[str, Any]] = field(default_factory=list)
    sample_responses: list[dict[str, Any]] = field(default_factory=list)
    has_note: bool = False
    max_cm_version: int | None = None


def _clean_lines(text: str) -> list[str]:
    text = text.replace("\u00a0", " ")
    end = text.find(END_MARKER)
    if end >= 0:
        text = text[:end]
    return [line.strip() for line in text.splitlines() if line.strip()]


def _read_envelope(cur: _Cursor, heading: str) -> dict[str, str]:
    if not cur.seek(heading) or cur.peek() != ENVELOPE_HEADER:
        raise PageFormatError(f"no '{heading}' table with a '{ENVELOPE_HEADER}' column")
    cur.take()
    envelope: dict[str, str] = {}
    while cur.peek() in ("channel", "topic", "subtopic", "source", "data", "message"):
        key = cur.take()
        envelope[key] = cur.take()
    return envelope


def _is_table_end(line: str | None) -> bool:
    return (
        line is None
        or line.startswith("Sample ")
        or line in ("Possible Error Cases", "Response Parameters", "Message Parameters")
    )


def _read_rows(cur: _Cursor, heading: str) -> list[dict[str, Any]]:
    """Read a Parameter/Mandatory/Data Type/Description table, with nested rows."""
    if not cur.seek(heading, start=cur.pos):
        raise PageFormatError(f"no '{heading}' table")
    header = [cur.take() for _ in range(4)]
    if tuple(header[1:]) != ROW_HEADER:
        raise PageFormatError(f"'{heading}' table has header {header!r}")
    rows: list[dict[str, Any]] = []
    target = rows
    while True:
        line = cur.peek()
        if line == SUBTABLE_HEADING and cur.peek(1) != ENVELOPE_HEADER and rows:
            cur.take()
            target = rows[-1].setdefault("children", [])
            continue
        if _is_table_end(line):
            return rows
        name, mandatory, doc_type, _vendor_description = (cur.take() for _ in range(4))
        if mandatory not in ("Yes", "No"):
            raise PageFormatError(f"row {name!r}: mandatory is {mandatory!r}, not Yes/No")
        target.append({"name": name, "mandatory": mandatory == "Yes", "type": doc_type})


def _read_errors(cur: _Cursor) -> list[dict[str, str]]:
    if not cur.seek("Possible Error Cases"):
        return []
    header = tuple(cur.take() for _ in range(3))
    if header != ERROR_HEADER:
        raise PageFormatError(f"error table has header {header!r}")
    errors = []
    while not _is_table_end(cur.peek()):
        error_type, actual, message = (cur.take() for _ in range(3))
        errors.append({"type": error_type, "condition": actual, "message": message})
    return errors


_SAMPLE_HEADING = re.compile(r"^Sample (Request|Response)(?:\s*-\s*(.*))?$")


def _read_samples(lines: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Find each 'Sample …' heading and decode the JSON that follows it."""
    requests: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    headings = [(i, m) for i, line in enumerate(lines) if (m := _SAMPLE_HEADING.match(line))]
    for n, (i, match) in enumerate(headings):
        stop = headings[n + 1][0] if n + 1 < len(headings) else len(lines)
        body = "\n".join(lines[i + 1 : stop])
        start = body.find("{")
        if start < 0:
            raise PageFormatError(f"'{lines[i]}' has no JSON")
        try:
            message, _ = json.JSONDecoder().raw_decode(body[start:])
        except json.JSONDecodeError as exc:
            raise PageFormatError(f"'{lines[i]}' is not valid JSON: {exc}") from exc
        entry: dict[str, Any] = {"heading": lines[i], "message": message}
        if match.group(2):
            entry["condition"] = match.group(2)
        (requests if match.group(1) == "Request" else responses).append(entry)
    return requests, responses


def parse_page(text: str) -> PageFacts:
    """Read the facts of one page in the plain-text export format."""
    lines = _clean_lines(text)
    if not lines:
        raise PageFormatError("empty page")
    cur = _Cursor(lines)
    request_envelope = _read_envelope(cur, "Request Parameters")
    request_rows = _read_rows(cur, "Data Parameters")
    cur.pos = 0
    response_envelope = _read_envelope(cur, "Response Parameters")
    response_rows = _read_rows(cur, "Message Parameters")
    errors = _read_errors(_Cursor(lines))
    sample_requests, sample_responses = _read_samples(lines)
    note = _Cursor(lines)
    has_note = note.seek("Note")
    max_version = None
    if has_note:
        found = re.search(r"version (\d{4})", note.peek() or "")
        max_version = int(found.group(1)) if found else None
    return PageFacts(
        title=lines[0],
        request_envelope=request_envelope,
        request_rows=request_rows,
        response_envelope=response_envelope,
        response_rows=response_rows,
        errors=errors,
        sample_requests=sample_requests,
        sample_responses=sample_responses,
        has_note=has_note,
        max_cm_version=max_version,
    )


def _curate_rows(
    rows: list[dict[str, Any]], prefix: str, overlay: dict[str, Any], req_prefix: str
) -> list[dict[str, Any]]:
    descriptions = overlay.get("descriptions", {})
    formats = overlay.get("formats", {})
    out = []
    for row in rows:
        path = f"{prefix}.{row['name']}"
        curated: dict[str, Any] = {
            "name": row["name"],
            "id": f"{req_prefix}.{path}",
            "mandatory": row["mandatory"],
            "type": row["type"],
            "description": descriptions.get(path),
        }
        if path in formats:
            curated["format"] = formats[path]
        if "children" in row:
            curated["children"] = _curate_rows(row["children"], path, overlay, req_prefix)
        out.append(curated)
    return out


def build_spec(facts: PageFacts, overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge the page's facts with the project's curation into one spec document."""
    api = facts.request_envelope.get("subtopic")
    if overlay.get("api") != api:
        raise PageFormatError(f"overlay is for {overlay.get('api')!r}, page is for {api!r}")
    abbr = overlay["abbr"]
    page: dict[str, Any] = {"title": facts.title, "ref": overlay["ref"]}
    spec: dict[str, Any] = {
        "api": api,
        "abbr": abbr,
        "page": page,
        "summary": overlay.get("summary"),
        "prerequisites": overlay.get("prerequisites", []),
    }
    if facts.has_note:
        spec["version_note"] = {
            "max_cm_version": facts.max_cm_version,
            "text": overlay.get("version_note"),
        }
    spec["request"] = {
        "envelope": facts.request_envelope,
        "data": _curate_rows(facts.request_rows, "request.data", overlay, abbr),
    }
    spec["response"] = {
        "envelope": facts.response_envelope,
        "message": _curate_rows(facts.response_rows, "response.message", overlay, abbr),
    }
    spec["errors"] = [
        {"id": f"{abbr}.error.{i}", **error, "meaning": overlay.get("errors", {}).get(i)}
        for i, error in enumerate(facts.errors, 1)
    ]
    spec["samples"] = {
        "requests": [
            {"id": f"{abbr}.sample.request.{i}", **s} for i, s in enumerate(facts.sample_requests, 1)
        ],
        "responses": [
            {"id": f"{abbr}.sample.response.{i}", **s}
            for i, s in enumerate(facts.sample_responses, 1)
        ],
    }
    return spec


def dump_spec(spec: dict[str, Any]) -> str:
    """Serialise a spec document deterministically (key order kept, block style)."""
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)


def import_page(page: Path, overlay_dir: Path) -> str:
    """Import one page file, using the overlay named after its request subtopic."""
    facts = parse_page(page.read_text(encoding="utf-8"))
    api = facts.request_envelope.get("subtopic", "")
    overlay_file = overlay_dir / f"{api}.yaml"
    if not overlay_file.is_file():
        raise PageFormatError(f"no overlay {overlay_file} for API {api!r}")
    overlay = yaml.safe_load(overlay_file.read_text(encoding="utf-8")) or {}
    return dump_spec(build_spec(facts, overlay))
