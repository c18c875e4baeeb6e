"""The reports say the same thing in every format, survive hostile frames, and are deterministic."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.report import html_report, write_reports
from conformance.report.common import FRAME_CHARS, clean
from conformance.report.markdown import text as md_text
from conformance.report.terminal import mark, print_summary, render_summary
from conformance.results import CaseResult, CheckResult, Frame, RunResult, Verdict
from conformance.spec import load_spec

SPEC = load_spec()
HOSTILE = 'ctl \x00\x08\x0b\x1b[31m\x7f\x9b\ufffe <script>alert("x")</script> ]]> ```é🚀\ud800'
SENTINEL = "DIFF-SENTINEL"
TRACEBACK = (
    "the suite could not judge this case: KeyError: 'callid'\n"
    "Traceback (most recent call last):\n"
    '  File "conformance/checks.py", line 12, in echo\n'
    "KeyError: 'callid'"
)


def check(name: str, verdict: Verdict, expected: str, actual: str, *ds: str) -> CheckResult:
    return CheckResult(
        name=name,
        verdict=verdict,
        requirements=("R-1",),
        basis="documented",
        doc=f"page row for {name}",
        expected=expected,
        actual=actual,
        discrepancies=ds,
    )


def case(
    ident: str, api: str, verdict: Verdict, *checks: CheckResult, **extra: object
) -> CaseResult:
    fields: dict = {
        "id": ident,
        "title": f"title of {ident}",
        "api": api,
        "requirements": (f"{ident}.req",),
        "doc": f"doc ref of {ident}",
        "basis": "documented",
        "verdict": verdict,
        "detail": f"detail of {ident}",
        "checks": list(checks),
        "frames": [Frame("sent", 0.0, '{"subtopic": "X"}'), Frame("received", 0.01, f"re {ident}")],
        "duration": 0.25,
    }
    fields.update(extra)
    return CaseResult(**fields)


def build_run(strict: bool = False) -> RunResult:
    """One case of every verdict, a case that never ran, an API the spec lacks, hostile frames."""
    grmdc, skip, mdc = "GetReservedManualDialContact", "SkipNonPEWCContact", "ManualDialCall"
    fail = case(
        "grmdc.fail",
        grmdc,
        Verdict.FAIL,
        check("type of Consent", Verdict.FAIL, "a Boolean", "the string <b>yes</b>"),
        check("subtopic", Verdict.PASS, grmdc, grmdc),
        frames=[Frame("sent", 0.0, '{"data": {}}'), Frame("received", 0.5, HOSTILE)],
        reproduce={
            "frames": ['{"data": {}}'],
            "command": "websocat ws://127.0.0.1:9/ < frames.txt",
            "case_command": "lcm-conformance run --case grmdc.fail",
        },
    )
    non_strict = case(
        "grmdc.non_strict",
        grmdc,
        Verdict.NON_STRICT,
        check(
            "response shape",
            Verdict.NON_STRICT,
            json.dumps({"message": [{"ContactID": "1"}]}),
            json.dumps({"message": {"ContactId": "1", "note": SENTINEL}}),
            "D-08",
            "D-09",
        ),
    )
    info = check("error", Verdict.INFORMATIONAL, "", "{}")
    error = case(
        "scoc.error",
        "SetCallOutcomeWithComments",
        Verdict.ERROR,
        detail=TRACEBACK,
        frames=[Frame("sent", 0.0, '{"subtopic": "SetCallOutcomeWithComments"}')],
    )
    return RunResult(
        target="ws://127.0.0.1:8765/",
        suite_version="9.9.9",
        dialect="samples",
        strict=strict,
        duration=12.5,
        expectation_diffs=["grmdc.fail: expected fail, got fail"],
        results=[
            case("zz.other", "NotAnApi", Verdict.PASS),
            fail,
            case("grmdc.pass", grmdc, Verdict.PASS, check("topic", Verdict.PASS, "WS", "WS")),
            non_strict,
            case("skip.unimpl", skip, Verdict.UNIMPLEMENTED, detail="no reply", not_run=None),
            case("mdc.info", mdc, Verdict.INFORMATIONAL, info),
            case("mdc.notrun", mdc, Verdict.INFORMATIONAL, not_run="needs a call id", frames=[]),
            error,
        ],
    )


@pytest.fixture
def reports(tmp_path: Path) -> dict[str, str]:
    paths = write_reports(build_run(), tmp_path)
    return {name: path.read_text(encoding="utf-8") for name, path in paths.items()}


def test_writes_the_four_contract_files(tmp_path: Path) -> None:
    paths = write_reports(build_run(), tmp_path / "new" / "dir")
    names = {p.name for p in paths.values()}
    assert names == {"results.json", "junit.xml", "report.md", "report.html"}
    assert all(p.parent == tmp_path / "new" / "dir" for p in paths.values())


def test_results_json_is_exactly_the_contract_and_round_trips(reports: dict[str, str]) -> None:
    run = build_run()
    data = json.loads(reports["json"])
    assert data == json.loads(json.dumps(run.to_json()))
    assert {"summary", "target", "suite_version", "results"} <= set(data)
    assert data["summary"] == {
        "pass": 2,
        "non_strict": 1,
        "informational": 1,
        "unimplemented": 1,
        "fail": 1,
        "error": 1,
        "not_run": 1,
        "total": 8,
    }
    assert sum(v for k, v in data["summary"].items() if k != "total") == data["summary"]["total"]
    assert "incomplete" not in data
    for result in data["results"]:
        assert {"id", "api", "requirements", "verdict", "detail"} <= set(result)
    assert "🚀" in reports["json"]  # UTF-8, not \u escapes


def junit_cases(text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(text.encode("utf-8"))
    return {tc.get("name"): tc for tc in root.iter("testcase")}


def test_junit_one_suite_per_api_in_spec_order_then_the_rest(reports: dict[str, str]) -> None:
    root = ET.fromstring(reports["junit"].encode("utf-8"))
    names = [s.get("name") for s in root.iter("testsuite")]
    used = {c.api for c in build_run().results}
    assert names == [*(n for n in SPEC.apis if n in used), "NotAnApi"]
    for suite in root.iter("testsuite"):
        for tc in suite.iter("testcase"):
            assert tc.get("classname") == suite.get("name")
    counts = ("tests", "failures", "errors", "skipped")
    assert tuple(root.get(k) for k in counts) == ("8", "1", "1", "2")
    grmdc = root.find("testsuite[@name='GetReservedManualDialContact']")
    assert tuple(grmdc.get(k) for k in counts) == ("3", "1", "0", "0")
    scoc = root.find("testsuite[@name='SetCallOutcomeWithComments']")
    assert tuple(scoc.get(k) for k in counts) == ("1", "0", "1", "0")


def test_junit_outcome_per_verdict(reports: dict[str, str]) -> None:
    cases = junit_cases(reports["junit"])
    failure = cases["grmdc.fail"].find("failure")
    assert "type of Consent: expected a Boolean" in failure.get("message")
    assert "subtopic" not in failure.get("message")  # only the checks that failed
    assert "<script>" in failure.text and "\\x1b[31m" in failure.text  # frames, cleaned
    assert "lcm-conformance run --case grmdc.fail" in failure.text
    for ident in ("grmdc.pass", "grmdc.non_strict", "mdc.info", "zz.other"):
        assert cases[ident].find("failure") is None, ident
    assert cases["grmdc.pass"].find("system-out") is None
    out = cases["grmdc.non_strict"].find("system-out").text
    assert "D-08" in out and "D-09" in out and SPEC.discrepancies["D-08"].title in out
    assert "error" in cases["mdc.info"].find("system-out").text
    assert cases["skip.unimpl"].find("skipped").get("message") == "no reply"
    assert cases["mdc.notrun"].find("skipped").get("message") == "needs a call id"


def test_junit_strict_turns_non_strict_into_a_failure(tmp_path: Path) -> None:
    paths = write_reports(build_run(strict=True), tmp_path)
    cases = junit_cases(paths["junit"].read_text(encoding="utf-8"))
    failure = cases["grmdc.non_strict"].find("failure")
    assert failure is not None and "D-08" in failure.get("message")
    assert cases["grmdc.non_strict"].find("system-out") is not None
    assert ET.fromstring(paths["junit"].read_bytes()).get("failures") == "2"


def test_clean_leaves_nothing_xml_or_a_terminal_would_choke_on() -> None:
    cleaned = clean(HOSTILE)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]", cleaned)
    for shown in ("\\x00", "\\x1b", "\\x9b", "\\ufffe", "\\ud800", "é🚀"):
        assert shown in cleaned
    assert clean(cleaned) == cleaned


def outside_code(markdown: str) -> str:
    """The Markdown a renderer would interpret: fenced blocks and code spans removed."""
    prose, fence = [], None
    for line in markdown.splitlines():
        marker = re.match(r"\s*(`{3,})", line)
        if fence is None and marker:
            fence = marker.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            prose.append(re.sub(r"(`+).*?\1", "", line))
    assert fence is None, "a fence was left open"
    return "\n".join(prose)


def test_markdown_holds_every_case_and_the_facts_of_each(reports: dict[str, str]) -> None:
    md = reports["markdown"]
    for result in build_run().results:
        assert result.id in md
    assert "| API | PASS | NON-STRICT | INFORMATIONAL | NOT RUN | UNIMPLEMENTED | FAIL | ERROR | TOTAL |" in md
    assert "| GetReservedManualDialContact | 1 | 1 | 0 | 0 | 0 | 1 | 0 | 3 |" in md
    assert "| **total** | **2** | **1** | **1** | **1** | **1** | **1** | **1** | **8** |" in md
    assert "`grmdc.fail.req`" in md and "doc ref of grmdc.fail" in md
    assert "Dialect detected: `samples` (the replies are written as the doc samples write them)" in md
    assert "`ws://127.0.0.1:8765/`" in md
    assert "expected: *(empty)*" in md and "actual: `{}`" in md
    assert "expected: `a Boolean`" in md and "actual: `the string <b>yes</b>`" in md
    assert f'+    "note": "{SENTINEL}"' in md  # multi-line expected/actual become a diff
    assert "lcm-conformance run --case grmdc.fail" in md and "websocat" in md
    passed = md.split("### PASS (2)", 1)[1]
    assert "`grmdc.pass`" in passed and "`zz.other`" in passed and "grmdc.fail" not in passed
    assert re.findall(r"^## (.+)", md, re.MULTILINE) == [
        "Summary", "Legend", "Expectations", "Requirements not met", "Cases", "Discrepancies relied on",
        "Requirements met",
    ]
    buckets = re.findall(r"^### (.+) \(\d+\)$", md, re.MULTILINE)
    assert buckets == ["FAIL and ERROR", "NON-STRICT", "INFORMATIONAL, NOT RUN and UNIMPLEMENTED", "PASS"]


def test_markdown_discrepancy_titles_and_escaped_frames(reports: dict[str, str]) -> None:
    md = reports["markdown"]
    for ident in ("D-08", "D-09"):
        assert md_text(SPEC.discrepancies[ident].title) in md
    assert "<script>" in md  # verbatim, but only inside code
    prose = outside_code(md)
    assert "<script" not in prose and "<b>" not in prose
    assert "````" in md  # the frame's ``` cannot close the fence around it
    assert "\x1b" not in md and "\x00" not in md


def test_html_holds_every_case_and_the_facts_of_each(reports: dict[str, str]) -> None:
    page = reports["html"]
    shown = Page.of(page).text
    for result in build_run().results:
        assert f'id="case-{result.id}"' in page
    assert "the string &lt;b&gt;yes&lt;/b&gt;" in page and "a Boolean" in page
    assert f'<span class="add">+    "note": "{SENTINEL}"' in page
    for ident in ("D-08", "D-09"):
        assert f"{ident} {SPEC.discrepancies[ident].title}" in shown
    assert "lcm-conformance run --case grmdc.fail" in page
    assert "samples (the replies are written as the doc samples write them)" in shown
    assert "<code>grmdc.fail.req</code>" in page and "doc ref of grmdc.fail" in page
    assert "<code>samples</code>" in page and "ws://127.0.0.1:8765/" in page
    assert 'class="n v-fail">1<' in page  # counts coloured by verdict


class Page(HTMLParser):
    """What a browser would build from report.html: its elements (name, attributes) and its text."""

    VOID = frozenset({"meta", "br", "col", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.chunks: list[str] = []
        self.script: list[str] = []

    @classmethod
    def of(cls, page: str) -> Page:
        parsed = cls()
        parsed.feed(page)
        parsed.close()
        assert parsed.open == [], f"unclosed elements: {parsed.open}"
        return parsed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        inside = self.open[-1] if self.open else ""
        if inside == "script":
            self.script.append(data)
        elif inside != "style":
            self.chunks.append(data)

    @property
    def text(self) -> str:
        """The page's text, whitespace folded (what a reader sees with every <details> open)."""
        return " ".join(" ".join(self.chunks).split())

    def with_attr(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for _, attrs in self.elements if name in attrs]


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "nav", "main", "section", "h1", "h2", "h3", "h4",
    "ol", "ul", "li", "a", "code", "pre", "span", "small", "b", "strong", "p", "dl", "dt", "dd", "div", "details",
    "summary", "table", "colgroup", "col", "thead", "tbody", "tr", "th", "td", "br", "form", "fieldset", "legend",
    "label", "input", "select", "option", "output", "button", "script",
}


def hostile_run() -> RunResult:
    """Every text a target or a profile could shape, hostile: ids, titles, API, docs, checks, frames, commands."""
    bad = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    checks = [
        CheckResult(f"step 1 name{bad}", Verdict.FAIL, (f"R{bad}",), "documented", f"doc{bad}", f"exp{bad}",
                    f"act{bad}", (f"D{bad}",)),
        CheckResult(f"step 2 name{bad}", Verdict.NON_STRICT, (f"R{bad}",), "documented", f"doc{bad}",
                    f"exp{bad}", f"act{HOSTILE}", ("D-01",)),
    ]
    fail = case(f"c1{bad}", f"Api{bad}", Verdict.FAIL, *checks, title=f"title{bad}", doc=f"doc{bad}",
                requirements=(f"R{bad}",), detail=f"detail{bad}\nline 2{bad}",
                frames=[Frame("sent", 0.0, f"sent{bad}"), Frame("received", 0.1, HOSTILE)],
                reproduce={"frames": [f"f{bad}"], "command": f"cmd{bad}", "case_command": f"run{bad}"})
    other = case(f"c2{bad}", f"Api{bad}", Verdict.NON_STRICT, checks[1], frames=[Frame("received", 0, bad)])
    skipped = case(f"c3{bad}", f"Api{bad}", Verdict.INFORMATIONAL, not_run=f"why{bad}")
    return RunResult(target=f"ws://x/{bad}", suite_version=bad, dialect=bad, duration=1.0,
                     expectation_diffs=[f"diff{bad}"], results=[fail, other, skipped,
                                                                case(f"c4{bad}", f"Api{bad}", Verdict.PASS)])


def test_html_escapes_what_targets_send_and_is_self_contained(reports: dict[str, str], tmp_path: Path) -> None:
    from conformance.expectations import Expectations

    bad = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    run = hostile_run()
    reasons = Expectations({r.id: Verdict.FAIL for r in run.results}, {r.id: f"reason{bad}" for r in run.results})
    for page in (reports["html"], write_reports(run, tmp_path, expectations=reasons)["html"].read_text("utf-8")):
        parsed = Page.of(page)
        assert {tag for tag, _ in parsed.elements} <= ALLOWED_TAGS
        assert [tag for tag, _ in parsed.elements].count("script") == 1  # the page's own filter, nothing else
        assert "".join(parsed.script).strip() == html_report.SCRIPT
        assert not any(name.startswith("on") for _, attrs in parsed.elements for name in attrs)
        assert all(str(a["href"]).startswith("#") for a in parsed.with_attr("href"))  # no link leaves the page
        assert not parsed.with_attr("src")
        assert "<link" not in page and "@import" not in page and "url(" not in page
        assert "\x1b" not in page and "\x00" not in page
        csp = [a["content"] for _, a in parsed.elements if a.get("http-equiv") == "Content-Security-Policy"]
        assert csp == [html_report.CSP] and "default-src 'none'" in html_report.CSP
        digest = base64.b64encode(hashlib.sha256(html_report.SCRIPT.encode()).digest()).decode()
        assert f"script-src 'sha256-{digest}'" in html_report.CSP  # only that exact script may run
    # every hostile text is on the page as text, and each attribute holds exactly what it was given
    shown = parsed.text
    for text in (f"title{bad}", f"detail{bad}", f"line 2{bad}", f"exp{bad}", f"act{bad}", f"sent{bad}",
                 f"name{bad}", f"doc{bad}", f"cmd{bad}", f"run{bad}", f"why{bad}", f"reason{bad}", f"diff{bad}",
                 clean(HOSTILE).split("<script>")[0].strip()):
        assert text in shown, text
    ids = {attrs["id"] for attrs in parsed.with_attr("id")}
    assert {f"case-{r.id}" for r in run.results} <= ids
    assert {attrs["data-api"] for attrs in parsed.with_attr("data-api")} == {f"Api{bad}"}
    assert f"#disc-D{bad}" in {attrs["href"] for attrs in parsed.with_attr("href")}


def test_reports_are_byte_identical_across_writes(tmp_path: Path) -> None:
    first = write_reports(build_run(), tmp_path / "a")
    second = write_reports(build_run(), tmp_path / "b")
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name


def test_an_empty_run_still_writes_valid_reports(tmp_path: Path) -> None:
    paths = write_reports(RunResult(target="ws://x/", suite_version="1"), tmp_path)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["summary"]["total"] == 0
    assert ET.fromstring(paths["junit"].read_bytes()).get("tests") == "0"
    assert "PASSED" in paths["markdown"].read_text(encoding="utf-8")


def test_terminal_summary_prints_counts_failures_and_how_to_reproduce() -> None:
    text = render_summary(build_run(), SPEC)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert rows["GetReservedManualDialContact"] == ["1", "1", "0", "0", "0", "1", "0", "3"]
    assert rows["total"] == ["2", "1", "1", "1", "1", "1", "1", "8"]
    assert "dialect samples (the replies are written as the doc samples write them)" in text
    assert "run time 12.5 s" in text
    assert "FAILED (1 FAIL, 1 ERROR)" in text
    failing = text.split("Failing cases:")[1]
    assert 'frames to send:\n      {"data": {}}' in failing  # what to replay, not just how
    assert "grmdc.fail: title of grmdc.fail" in text
    assert "type of Consent: expected a Boolean" in text
    assert "re-run the case: lcm-conformance run --case grmdc.fail" in text
    assert "grmdc.non_strict" not in failing.split("could not judge")[0]
    assert "\x1b" not in text
    strict = render_summary(build_run(strict=True), SPEC)
    assert "grmdc.non_strict" in strict.split("Failing cases:")[1]


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_colour_only_on_a_tty_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain, tty = io.StringIO(), FakeTTY()
    print_summary(build_run(), plain, spec=SPEC)
    print_summary(build_run(), tty, spec=SPEC)
    assert "\x1b[" not in plain.getvalue() and "\x1b[" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    quiet = FakeTTY()
    print_summary(build_run(), quiet, spec=SPEC)
    assert quiet.getvalue() == plain.getvalue()


def test_each_case_has_the_mark_of_its_column() -> None:
    """The marks the progress display shows (its lines are tested in test_progress.py and
    test_run_command.py)."""
    cases = build_run().results
    grmdc = [c for c in cases if c.api == "GetReservedManualDialContact"]
    assert "".join(map(mark, grmdc)) == "F.N"
    mdc = [c for c in cases if c.api == "ManualDialCall"]
    assert "".join(map(mark, mdc)) == "Is"


FIXTURE = HealthCheck.function_scoped_fixture
ANY_TEXT = st.text(
    st.one_of(st.characters(), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
)


@settings(max_examples=40, deadline=None, suppress_health_check=[FIXTURE])
@given(ANY_TEXT, ANY_TEXT)
def test_any_frame_text_yields_valid_files(tmp_path: Path, frame: str, actual: str) -> None:
    run = build_run()
    run.results[1].frames.append(Frame("received", 1.0, frame))
    run.results[1].checks.append(check("fuzzed", Verdict.FAIL, "x", actual))
    paths = write_reports(run, tmp_path)
    written = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(run.to_json()))
    junit = ET.fromstring(paths["junit"].read_bytes())
    assert clean(frame) in junit.find(".//failure").text
    page = Page.of(paths["html"].read_text(encoding="utf-8"))
    assert [tag for tag, _ in page.elements].count("script") == 1 and {t for t, _ in page.elements} <= ALLOWED_TAGS
    assert "".join(clean(frame)[:FRAME_CHARS].split()) in "".join(page.text.split())  # shown, and shown as sent
    outside_code(paths["markdown"].read_text(encoding="utf-8"))


def summary_rows(text: str) -> dict[str, dict[str, int]]:
    """The terminal summary's table as {API: {heading: count}}."""
    lines = text.splitlines()
    head = re.split(r"\s{2,}", lines[0].strip())[1:]
    rows = {}
    for line in lines[2:]:
        if not line.strip() or line.startswith("NOT RUN:"):
            break
        name, *cells = line.split()
        rows[name] = dict(zip(head, map(int, cells), strict=True))
    return rows


def test_the_summary_columns_add_up_to_the_total_in_every_format(reports: dict[str, str]) -> None:
    verdicts = [v.label for v in Verdict]
    columns = [*verdicts[:3], "NOT RUN", *verdicts[3:]]
    rows = summary_rows(render_summary(build_run(), SPEC))
    assert list(rows["total"]) == [*columns, "TOTAL"]
    for name, row in rows.items():
        assert sum(row[c] for c in columns) == row["TOTAL"], name
    assert rows["total"]["NOT RUN"] == 1 and rows["total"]["INFORMATIONAL"] == 1
    assert "NOT RUN: cases the target could not feed" in render_summary(build_run(), SPEC)
    summary = reports["markdown"].split("## Summary", 1)[1].split("## Legend", 1)[0]
    md_rows = [line for line in summary.splitlines() if line.startswith("| ") and "---" not in line]
    for line in md_rows[1:]:
        cells = [int(c.strip("* ")) for c in line.strip("|").split("|")[1:]]
        assert sum(cells[:-1]) == cells[-1], line
    assert "NOT RUN: cases the target could not feed" in reports["markdown"]
    assert "<th>NOT RUN</th>" in reports["html"]


def test_error_is_shown_in_every_format(reports: dict[str, str]) -> None:
    error = junit_cases(reports["junit"])["scoc.error"].find("error")
    assert error is not None and error.get("type") == "ERROR"
    assert "KeyError: 'callid'" in error.get("message")
    assert "Traceback (most recent call last):" in error.text  # the exception
    assert '{"subtopic": "SetCallOutcomeWithComments"}' in error.text  # the frames so far
    assert junit_cases(reports["junit"])["scoc.error"].find("failure") is None
    md = reports["markdown"]
    assert "- Verdict: **ERROR**" in md and "never the target's fault" in md
    assert '  File "conformance/checks.py", line 12, in echo' in md  # the traceback, fenced
    page = reports["html"]
    assert '<span class="badge v-error">ERROR</span>' in page and 'class="n v-error">1<' in page
    [block] = [attrs for tag, attrs in Page.of(page).elements if attrs.get("id") == "case-scoc.error"]
    assert "open" in block and "Traceback (most recent call last):" in page
    text = render_summary(build_run(), SPEC)
    judged = text.split("Cases the suite could not judge (a bug of the suite")[1]
    assert "ERROR scoc.error: title of scoc.error" in judged and "KeyError: 'callid'" in judged
    scoc = [c for c in build_run().results if c.api == "SetCallOutcomeWithComments"]
    assert "".join(map(mark, scoc)) == "E"


def test_an_error_without_a_fail_is_the_outcome_error(tmp_path: Path) -> None:
    run = build_run()
    run.results = [r for r in run.results if r.verdict is not Verdict.FAIL]
    assert "\nERROR (1 ERROR: the suite could not judge; a bug of the suite" in render_summary(run, SPEC)
    paths = write_reports(run, tmp_path)
    assert "Outcome: **ERROR (1 ERROR" in paths["markdown"].read_text(encoding="utf-8")
    assert '<strong class="v-error">ERROR (1 ERROR' in paths["html"].read_text(encoding="utf-8")


def test_an_interrupted_run_is_marked_incomplete_everywhere(tmp_path: Path) -> None:
    why = "interrupted (Ctrl-C) after 8 of 80 cases"
    paths = write_reports(build_run(), tmp_path, incomplete=why)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["incomplete"] is True and data["incomplete_reason"] == why
    assert data["summary"]["total"] == 8
    line = f"INCOMPLETE: {why}; these are the 8 results finished before it stopped"
    assert line in paths["markdown"].read_text(encoding="utf-8")
    assert html.escape(line) in paths["html"].read_text(encoding="utf-8")
    props = ET.fromstring(paths["junit"].read_bytes()).findall(".//property[@name='incomplete']")
    assert props and all(p.get("value") == line for p in props)
    assert line in render_summary(build_run(), SPEC, incomplete=why)
    assert "INCOMPLETE" not in render_summary(build_run(), SPEC)


def test_expectation_reasons_are_shown_next_to_their_case(tmp_path: Path) -> None:
    from conformance.expectations import Expectations

    expected = Expectations({"grmdc.fail": Verdict.FAIL, "mdc.info": Verdict.INFORMATIONAL},
                            {"grmdc.fail": "vendor ticket <LCM-42>"})
    paths = write_reports(build_run(), tmp_path, expectations=expected)
    md = paths["markdown"].read_text(encoding="utf-8")
    assert r"- Expected: FAIL: vendor ticket \<LCM-42\>" in md  # a failing case, in full
    assert "`mdc.info` title of mdc.info: error (INFORMATIONAL); expected: INFORMATIONAL\n" in md  # one line
    page = paths["html"].read_text(encoding="utf-8")
    assert "<dt>Expected</dt><dd>FAIL: vendor ticket &lt;LCM-42&gt;</dd>" in page
    assert "<small>expected: INFORMATIONAL</small>" in page


def test_the_summary_says_once_why_most_cases_did_not_run() -> None:
    why = "3 requests in a row got no reply: the target stopped answering"
    cases = [case(f"c{n}", "ManualDialCall", Verdict.INFORMATIONAL, not_run=why) for n in range(4)]
    text = render_summary(RunResult("ws://127.0.0.1:9/", "0", results=cases), SPEC)
    assert f"4 cases not run: {why}" in text
    few = render_summary(RunResult("ws://127.0.0.1:9/", "0", results=cases[:2]), SPEC)
    assert "cases not run:" not in few


# --- the report people work from: order, grouping, legend, filter, size -------------------------

def positions(page: str, needles: list[str]) -> list[int]:
    """Where each needle first appears in ``page`` (all must)."""
    found = [page.find(n) for n in needles]
    assert -1 not in found, [n for n, at in zip(needles, found, strict=True) if at < 0]
    return found


def test_failures_and_errors_come_first_then_non_strict_then_the_rest(reports: dict[str, str]) -> None:
    order = ["grmdc.fail", "scoc.error", "grmdc.non_strict", "mdc.info", "mdc.notrun", "skip.unimpl", "grmdc.pass"]
    cases = reports["html"].split('<h2 id="cases">', 1)[1]
    at = positions(cases, [f'id="case-{ident}"' for ident in order])
    assert at[:2] < at[2:3] < at[3:6] < at[6:] and sorted(at[:2]) == at[:2]
    md_cases = reports["markdown"].split("\n## Cases", 1)[1]
    at = positions(md_cases, [f"`{ident}`" for ident in order])
    assert max(at[:2]) < at[2] < min(at[3:6]) and max(at[3:6]) < at[6]
    # requirement groups too: the FAIL group before the NON-STRICT one before the INFORMATIONAL one
    groups = reports["html"].split('<h2 id="requirements">', 1)[1].split('<h2 id="cases">', 1)[0]
    at = positions(groups, ["page row for type of Consent", "page row for response shape", "page row for error"])
    assert at == sorted(at)


def test_checks_are_grouped_by_requirement_ids_under_their_doc_reference(tmp_path: Path) -> None:
    def schema(step: int, verdict: Verdict, actual: str) -> CheckResult:
        return CheckResult(f"step {step} schema", verdict, ("MDC.response.envelope.topic",), "documented",
                           "Manual Dial Call: Response Parameters table, row topic", "the tables' form", actual,
                           ("D-01",) if verdict is Verdict.NON_STRICT else ())

    run = RunResult("ws://t/", "1", results=[
        case("a.one", "ManualDialCall", Verdict.NON_STRICT, schema(2, Verdict.NON_STRICT, "the samples' form")),
        case("a.two", "ManualDialCall", Verdict.NON_STRICT, schema(5, Verdict.NON_STRICT, "the samples' form")),
        case("a.three", "ManualDialCall", Verdict.PASS, schema(1, Verdict.PASS, "the tables' form")),
        case("a.four", "ManualDialCall", Verdict.PASS, check("echo", Verdict.PASS, "x", "x")),
    ])
    paths = write_reports(run, tmp_path)
    page = Page.of(paths["html"].read_text(encoding="utf-8"))
    assert len([a for t, a in page.elements if t == "section" and str(a.get("id", "")).startswith("req-")]) == 1
    text = page.text
    # the doc reference as the heading, then the ids
    assert "NON-STRICT Manual Dial Call: Response Parameters table, row topic MDC.response.envelope.topic" in text
    # one outcome of two cases is one finding listing both, with their steps; the passing check is only counted
    assert text.count("the samples' form") == 1
    assert "Cases (2) a.one step 2 , a.two step 5" in text and "passed 1 other check" in text
    assert "page row for echo R-1 1 in 1 case" in text.split("Requirements met")[-1]
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "### NON-STRICT: Manual Dial Call: Response Parameters table, row topic" in md
    assert "Requirement ids: `MDC.response.envelope.topic` (ManualDialCall)" in md
    assert md.count("actual: `the samples' form`") == 1
    assert "cases: `a.one` (step 2), `a.two` (step 5)" in md
    assert "- page row for echo: `R-1` (1 check in 1 case)" in md.split("## Requirements met")[1]


def test_a_legend_explains_every_verdict(reports: dict[str, str]) -> None:
    from conformance.report.common import LEGEND

    labels = [label for _, label, _, _ in LEGEND]
    assert labels == ["PASS", "NON-STRICT", "INFORMATIONAL", "NOT RUN", "UNIMPLEMENTED", "FAIL", "ERROR"]
    legend = Page.of(reports["html"]).text.split("Legend Verdict Meaning Fails the run", 1)[1]
    md = reports["markdown"].split("## Legend", 1)[1].split("##", 1)[0]
    for _, label, meaning, fails in LEGEND:
        assert f"{label} {meaning} {fails}" in legend
        assert f"| **{label}** | {md_text(meaning)} | {md_text(fails)} |" in md


def test_every_verdict_is_rendered_with_its_own_style(reports: dict[str, str]) -> None:
    page = Page.of(reports["html"])
    cases = {str(a["id"])[5:]: a["data-v"] for t, a in page.elements if str(a.get("id", "")).startswith("case-")}
    assert cases == {"zz.other": "pass", "grmdc.fail": "fail", "grmdc.pass": "pass", "grmdc.non_strict": "non_strict",
                     "skip.unimpl": "unimplemented", "mdc.info": "informational", "mdc.notrun": "not_run",
                     "scoc.error": "error"}
    for key in ("pass", "non_strict", "informational", "not_run", "unimplemented", "fail", "error"):
        assert f".v-{key} {{ --c:" in html_report.CSS
        assert f'<span class="badge v-{key}">' in reports["html"]
    assert "**INFORMATIONAL (not run)** `mdc.notrun`" in reports["markdown"]
    assert "**UNIMPLEMENTED** `skip.unimpl` title of skip.unimpl: no reply" in reports["markdown"]


def test_the_filter_covers_every_item_and_the_page_works_without_script(reports: dict[str, str]) -> None:
    page = Page.of(reports["html"])
    [form] = [attrs for tag, attrs in page.elements if tag == "form"]
    assert form["id"] == "filter" and "hidden" in form  # no dead controls when scripts are off
    boxes = {a["value"] for t, a in page.elements if t == "input" and a.get("type") == "checkbox"}
    assert boxes == {"pass", "non_strict", "informational", "not_run", "unimplemented", "fail", "error"}
    options = {a.get("value", "") for t, a in page.elements if t == "option"}
    [select] = [a for t, a in page.elements if t == "select"]
    assert select["name"] == "api" and "search" in {a.get("type") for t, a in page.elements if t == "input"}
    api_names = set(re.findall(r"<option>([^<]+)</option>", reports["html"]))
    assert api_names == {c.api for c in build_run().results} and options == {""}
    for attrs in page.with_attr("data-v"):  # every item the script can hide has a verdict and an API it knows
        assert attrs["data-v"] in boxes and attrs["data-api"] in api_names
    assert {str(a["id"])[5:] for a in page.with_attr("data-v") if str(a.get("id", "")).startswith("case-")} == {
        r.id for r in build_run().results}
    # without script: nothing hidden but the form, failing cases open, every fact and frame in the page itself
    assert [t for t, a in page.elements if "hidden" in a] == ["form"]
    opened = {str(a["id"]) for t, a in page.elements if t == "details" and "open" in a}
    assert {"case-grmdc.fail", "case-scoc.error"} <= opened
    for href in {str(a["href"]) for a in page.with_attr("href")}:
        assert href[1:] in {str(a["id"]) for a in page.with_attr("id")}, href
    assert "ctl \\x00\\x08\\x0b\\x1b[31m\\x7f\\x9b\\ufffe <script>alert(\"x\")</script>" in page.text
    assert "the string <b>yes</b>" in page.text and "Traceback (most recent call last):" in page.text


def test_frames_are_shown_for_failures_and_once_per_other_finding(tmp_path: Path) -> None:
    huge = "x" * 300_000
    shared = check("step 1 schema", Verdict.NON_STRICT, "tables", "samples")
    run = RunResult("ws://t/", "1", results=[
        case("f.one", "ManualDialCall", Verdict.FAIL, check("echo", Verdict.FAIL, "1", "2"),
             frames=[Frame("sent", 0.0, "REQUEST-ONE"), Frame("received", 0.1, huge)]),
        case("n.big", "ManualDialCall", Verdict.NON_STRICT, shared,
             frames=[Frame("received", 0.0, "BIG-EXCHANGE" + "y" * 500)]),
        case("n.small", "ManualDialCall", Verdict.NON_STRICT, shared, frames=[Frame("received", 0.0, "SMALL-ONE")]),
    ])
    paths = write_reports(run, tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "REQUEST-ONE" in page and "x" * FRAME_CHARS in page and "x" * (FRAME_CHARS + 1) not in page
    assert "[300000 characters]" in page and "results.json holds every frame whole" in page
    assert page.count("SMALL-ONE") == 1 and "BIG-EXCHANGE" not in page  # one exchange per finding, the shortest
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "REQUEST-ONE" in md and "[300000 characters]" in md and "SMALL-ONE" not in md
    assert len(page) < 30_000 and len(md) < 20_000
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["results"][0]["frames"][1]["text"] == huge


HTML_KB = 200
MD_KB = 100


@pytest.fixture(scope="module")
def realistic_run() -> RunResult:
    """A default run (cases and property runs) against a server with one fault: the reports' real content."""
    from conformance.mutants import TARGETS
    from conformance.mutants.serving import running_target
    from conformance.runner import RunOptions, run_suite

    async def go() -> RunResult:
        async with running_target(TARGETS["fields.callid-number"]) as url:
            return await asyncio.wait_for(run_suite(RunOptions(target=url)), 120)

    return asyncio.run(go())


def test_a_realistic_run_makes_small_reports(realistic_run: RunResult, tmp_path: Path) -> None:
    run = realistic_run
    assert len(run.results) > 80 and any(r.verdict is Verdict.FAIL for r in run.results)
    paths = write_reports(run, tmp_path)
    page, md = paths["html"].read_text(encoding="utf-8"), paths["markdown"].read_text(encoding="utf-8")
    assert len(page.encode()) < HTML_KB * 1024, len(page.encode()) // 1024
    assert len(md.encode()) < MD_KB * 1024, len(md.encode()) // 1024
    shown = Page.of(page).text
    for failed in (r for r in run.results if r.verdict is Verdict.FAIL):  # each failure still shows everything
        for c in (c for c in failed.checks if c.verdict is Verdict.FAIL):
            assert c.doc in shown and clean(c.expected) in shown and clean(c.actual) in shown
        for f in failed.frames:
            assert "".join(clean(f.text)[:FRAME_CHARS].split()) in "".join(shown.split())
