"""The importer: facts read off pages in the export format, merged with the overlay."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.cli import main
from conformance.importer import PageFormatError, build_spec, dump_spec, import_page, parse_page
from conformance.paths import SOURCE_ROOT, data_dir

PAGES = Path(__file__).parent / "pages"
SEEDS = SOURCE_ROOT.parent / "shared" / "seeds"


def _expected(name: str) -> str:
    text = (PAGES / f"{name}.expected.yaml").read_text(encoding="utf-8")
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def test_test_page_imports_exactly_as_expected() -> None:
    assert import_page(PAGES / "PingWidget.txt", PAGES / "overlay") == _expected("PingWidget")


def test_parse_reads_nested_rows_errors_note_and_both_samples() -> None:
    facts = parse_page((PAGES / "PingWidget.txt").read_text(encoding="utf-8"))
    assert [r["name"] for r in facts.request_rows] == ["WidgetId", "Loud"]
    assert facts.request_rows[1]["mandatory"] is False
    assert facts.response_rows[0]["children"] == [
        {"name": "ok", "mandatory": True, "type": "Boolean"}
    ]
    assert facts.errors == [
        {"type": "WS_Error", "condition": "Widget is missing", "message": "No such widget."}
    ]
    assert facts.max_cm_version == 2101
    assert len(facts.sample_requests) == 1 and len(facts.sample_responses) == 2
    # the non-breaking spaces and the "Request:" prefix do not reach the data
    assert facts.sample_requests[0]["message"]["data"]["WidgetID"] == "w-1"


def test_vendor_description_text_never_reaches_the_spec() -> None:
    text = import_page(PAGES / "PingWidget.txt", PAGES / "overlay")
    assert "Made-up text" not in text


@pytest.mark.parametrize(
    ("mutilate", "message"),
    [
        (lambda t: t.replace("Data Parameters", "Data Params"), "no 'Data Parameters' table"),
        (lambda t: t.replace("    No\n", "    Maybe\n", 1), "not Yes/No"),
        (lambda t: t.replace('"WidgetID": "w-1",', '"WidgetID": "w-1",,'), "not valid JSON"),
        (lambda t: "", "empty page"),
    ],
)
def test_malformed_pages_are_rejected_with_a_reason(mutilate, message: str) -> None:
    text = mutilate((PAGES / "PingWidget.txt").read_text(encoding="utf-8"))
    with pytest.raises(PageFormatError, match=message):
        parse_page(text)


def test_overlay_for_another_api_is_refused() -> None:
    facts = parse_page((PAGES / "PingWidget.txt").read_text(encoding="utf-8"))
    with pytest.raises(PageFormatError, match="overlay is for"):
        build_spec(facts, {"api": "Other", "abbr": "O", "ref": "x"})


def test_cli_writes_the_file_and_exits_1_on_unregistered_mismatches(tmp_path: Path, capsys) -> None:
    out = tmp_path / "PingWidget.yaml"
    code = main(["import-doc", str(PAGES / "PingWidget.txt"), "--overlay-dir",
                 str(PAGES / "overlay"), "-o", str(out)])
    assert code == 1  # its samples contradict its tables, and the suite's registry does not know it
    assert "NOT REGISTERED" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == _expected("PingWidget")


def test_cli_reports_an_unreadable_page_as_usage_error(tmp_path: Path) -> None:
    assert main(["import-doc", str(tmp_path / "missing.txt")]) == 2


def test_dump_is_deterministic() -> None:
    doc = yaml.safe_load(_expected("PingWidget"))
    assert dump_spec(doc) == dump_spec(yaml.safe_load(dump_spec(doc)))


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the doc pages are not beside this checkout")
@pytest.mark.parametrize("entry", yaml.safe_load((data_dir("spec") / "index.yaml").read_text())["apis"],
                         ids=lambda e: e["api"])
def test_the_doc_pages_reimport_to_the_committed_spec(entry: dict) -> None:
    spec_dir = data_dir("spec")
    committed = (spec_dir / "apis" / f"{entry['api']}.yaml").read_text(encoding="utf-8")
    assert import_page(SEEDS / entry["page"], spec_dir / "overlay") == committed
