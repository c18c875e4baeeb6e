"""``lcm-conformance run``: verdicts on the reference server, exit codes, gating, redaction."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import rerun
from conformance.cli import main
from conformance.commands import run as run_command
from conformance.results import CaseResult, RunResult, Verdict
from conformance.runner import (
    RunOptions,
    exit_code,
    expectation_diffs,
    load_expectations,
)
from conformance.spec import load_spec
from faulty_targets import FaultyTarget

SPEC = load_spec()


def _results(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def canned_url() -> Iterator[str]:
    """A target that answers every request with its API's first doc sample response:
    well-formed, but stateless, so the suite must catch it."""
    replies = {a.name: a.sample_responses[0].message for a in SPEC.apis.values()}
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    target = FaultyTarget(replies)
    url = asyncio.run_coroutine_threadsafe(target.__aenter__(), loop).result(10)
    yield url
    asyncio.run_coroutine_threadsafe(target.__aexit__(None, None, None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.mark.parametrize(("dialect", "non_strict"), [("samples", True), ("tables", False)])
def test_reference_server_has_no_fail_in_either_dialect(tmp_path: Path, dialect: str, non_strict: bool) -> None:
    assert main(["run", "--dialect", dialect, "--quiet", "--report-dir", str(tmp_path)]) == 0
    results = _results(tmp_path)
    summary = results["summary"]
    assert summary["fail"] == 0 and summary["total"] > 50
    assert (summary["non_strict"] > 0) is non_strict
    assert results["dialect"] == dialect
    assert set(results) >= {"summary", "target", "suite_version", "results"}
    assert set(results["results"][0]) >= {"id", "api", "requirements", "verdict", "detail"}
    for name in ("junit.xml", "report.md", "report.html"):
        assert (tmp_path / name).stat().st_size > 0


def test_samples_dialect_fails_under_strict() -> None:
    assert main(["run", "--strict", "--quiet", "--api", "SkipNonPEWCContact"]) == 1


def test_a_stateless_target_fails_with_exit_1(canned_url: str, tmp_path: Path, capsys) -> None:
    assert main(["run", "--target", canned_url, "--quiet", "--response-timeout", "0.3", "--hypothesis-profile", "off",
                 "--report-dir", str(tmp_path)]) == 1
    failed = {r["id"]: r for r in _results(tmp_path)["results"] if r["verdict"] == "fail"}
    out = capsys.readouterr().out.split("Failing cases:")[1]
    for ident, result in failed.items():
        command = f"lcm-conformance run --case {ident} --target {canned_url} --response-timeout 0.3"
        assert result["reproduce"]["case_command"] == command
        assert f"re-run the case: {command}" in out
        frames = result["reproduce"]["frames"]
        assert not frames or "frames to send:\n" + "".join(f"      {f}\n" for f in frames) in out
    assert "SCOC.error.empty-callid" in failed  # (GRMDC.exclusive needs a second agent: not run by default)


def test_a_run_with_a_profile_is_re_run_with_that_profile(canned_url: str, tmp_path: Path) -> None:
    profile = tmp_path / "target.yaml"
    profile.write_text(yaml.safe_dump({"url": canned_url, "timeouts": {"response": 0.3}}), encoding="utf-8")
    assert main(["run", "--profile", str(profile), "--quiet", "--hypothesis-profile", "off", "--api",
                 "GetReservedManualDialContact", "--report-dir", str(tmp_path / "r")]) == 1
    failed = [r for r in _results(tmp_path / "r")["results"] if r["verdict"] == "fail"]
    assert failed
    for result in failed:
        assert result["reproduce"]["case_command"] == f"lcm-conformance run --case {result['id']} --profile {profile}"


def _fake_run(*results: CaseResult) -> Any:
    """A run_blocking that reports ``results`` without sending anything."""

    def run_blocking(options: Any, progress: Any) -> RunResult:
        for result in results:
            progress(result)
        run = RunResult(target="ws://127.0.0.1:9/ (embedded reference server)", suite_version="0",
                        results=list(results), strict=options.strict)
        if options.expectations:  # as run_suite does
            run.expectation_diffs = expectation_diffs(run.results, load_expectations(options.expectations))
        return run

    return run_blocking


def _result(ident: str, verdict: Verdict, **extra: Any) -> CaseResult:
    fields: dict[str, Any] = {"detail": f"detail of {ident}", **extra}
    return CaseResult(ident, f"title of {ident}", "ManualDialCall", ("R",), "doc", "documented", verdict, **fields)


def test_the_embedded_server_is_re_run_with_no_target(tmp_path: Path, monkeypatch, capsys) -> None:
    dead = "ws://127.0.0.1:54321/"
    failing = _result("MDC.x", Verdict.FAIL, reproduce={
        "frames": ['{"subtopic": "ManualDialCall"}'], "command": f"python -m websockets {dead}",
        "case_command": f"lcm-conformance run --case MDC.x --target {dead}"})
    monkeypatch.setattr(run_command, "run_blocking", _fake_run(failing))
    assert main(["run", "--dialect", "tables", "--response-timeout", "2", "--report-dir", str(tmp_path)]) == 1
    reproduce = _results(tmp_path)["results"][0]["reproduce"]
    assert reproduce["case_command"] == "lcm-conformance run --case MDC.x --dialect tables --response-timeout 2"
    assert reproduce["serve_command"] == "lcm-conformance serve --port 54321 --dialect tables"
    out = capsys.readouterr().out
    assert "start the reference server: lcm-conformance serve --port 54321 --dialect tables" in out
    assert '      {"subtopic": "ManualDialCall"}' in out
    assert rerun.case_command("MDC.x", RunOptions(strict=True)) == "lcm-conformance run --case MDC.x --strict"


def test_an_error_without_a_fail_exits_4_and_a_fail_wins(tmp_path: Path, monkeypatch, capsys) -> None:
    error = _result("MDC.e", Verdict.ERROR, detail="the suite could not judge: KeyError: 'x'")
    monkeypatch.setattr(run_command, "run_blocking", _fake_run(_result("MDC.p", Verdict.PASS), error))
    assert main(["run", "--quiet", "--report-dir", str(tmp_path)]) == 4
    assert _results(tmp_path)["summary"]["error"] == 1
    assert "KeyError: 'x'" in capsys.readouterr().out
    monkeypatch.setattr(run_command, "run_blocking", _fake_run(_result("MDC.f", Verdict.FAIL), error))
    assert main(["run", "--quiet"]) == 1


def test_exit_codes() -> None:
    def run(*verdicts: Verdict, strict: bool = False, diffs: tuple[str, ...] = ()) -> RunResult:
        results = [_result(f"c{i}", v) for i, v in enumerate(verdicts)]
        return RunResult("t", "0", results=results, strict=strict, expectation_diffs=list(diffs))

    assert exit_code(run(Verdict.PASS, Verdict.NON_STRICT, Verdict.INFORMATIONAL, Verdict.UNIMPLEMENTED),
                     gated=False) == 0
    assert exit_code(run(Verdict.PASS, Verdict.FAIL, Verdict.ERROR), gated=False) == 1
    assert exit_code(run(Verdict.PASS, Verdict.ERROR), gated=False) == 4
    assert exit_code(run(Verdict.NON_STRICT), gated=False) == 0
    assert exit_code(run(Verdict.NON_STRICT, strict=True), gated=False) == 1
    assert exit_code(run(Verdict.NON_STRICT, Verdict.ERROR, strict=True), gated=False) == 1
    assert exit_code(run(Verdict.FAIL), gated=True) == 0  # an expected failure
    assert exit_code(run(Verdict.FAIL, Verdict.ERROR), gated=True) == 4
    assert exit_code(run(Verdict.PASS, diffs=("c0: expected FAIL, got PASS",)), gated=True) == 1


def test_an_error_is_no_expectation_difference_but_still_exits_4() -> None:
    results = [_result("a", Verdict.ERROR), _result("b", Verdict.ERROR), _result("c", Verdict.PASS)]
    expected = load_expectations_from({"a": "FAIL", "c": {"verdict": "FAIL", "reason": "ticket 7"}})
    assert expectation_diffs(results, expected) == ["c: expected FAIL (ticket 7), got PASS"]


def load_expectations_from(doc: dict[str, Any]) -> Any:
    from conformance.expectations import parse

    return parse(doc, "test")


def test_the_plugin_fails_an_error_item_even_when_expected() -> None:
    from types import SimpleNamespace

    from conformance import plugin

    error = _result("MDC.e", Verdict.ERROR, detail="the suite could not judge: KeyError: 'x'")
    for expected in ({}, {"MDC.e": Verdict.ERROR}):
        state = SimpleNamespace(results=[], expected=expected, options=SimpleNamespace(strict=False),
                                result=lambda item: error)
        item = SimpleNamespace(config=SimpleNamespace(stash={plugin._KEY: state}), name="MDC.e",
                               user_properties=[])
        with pytest.raises(plugin.CaseFailed, match="KeyError: 'x'"):
            plugin._ResultItem.runtest(item)  # type: ignore[arg-type]


def test_expectations_gate_only_on_differences(canned_url: str, tmp_path: Path) -> None:
    report = tmp_path / "first"
    main(["run", "--target", canned_url, "--quiet", "--response-timeout", "0.3", "--hypothesis-profile", "off",
          "--report-dir", str(report)])
    verdicts = {r["id"]: r["verdict"] for r in _results(report)["results"]}
    expectations = tmp_path / "expected.yaml"
    expectations.write_text(yaml.safe_dump(verdicts), encoding="utf-8")
    args = ["run", "--target", canned_url, "--quiet", "--response-timeout", "0.3", "--hypothesis-profile", "off",
            "--expectations", str(expectations)]
    assert main(args) == 0  # known failures only
    passing = next(case for case, v in verdicts.items() if v == "pass")
    expectations.write_text(yaml.safe_dump({**verdicts, passing: "fail"}), encoding="utf-8")
    assert main(args) == 1  # an unexpected pass is a difference too


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--case", "no.such.case"],
        ["run", "--expectations", "/nonexistent/expected.yaml"],
        ["run", "--target", "http://127.0.0.1:1/"],
    ],
    ids=["unknown-case", "missing-expectations", "not-a-websocket-url"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert main(args) == 2


def test_a_profile_with_an_unknown_key_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    profile = tmp_path / "target.yaml"
    profile.write_text("url: ws://127.0.0.1:9/\nno_such_key: 1\n", encoding="utf-8")
    assert main(["run", "--profile", str(profile)]) == 2
    assert "no_such_key" in capsys.readouterr().err


def test_an_unreachable_target_exits_3(capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the run: nothing listens
    assert main(["run", "--target", f"ws://127.0.0.1:{port}/", "--quiet"]) == 3
    assert "unreachable" in capsys.readouterr().err


def test_secrets_from_the_environment_never_reach_a_report(tmp_path: Path, monkeypatch) -> None:
    secret = "s3cr3t-token-value"
    monkeypatch.setenv("LCM_TEST_TOKEN", secret)
    ms = SPEC.api("ManualDialCall")

    def leak(request: dict[str, Any]) -> dict[str, Any]:
        reply = dict(ms.sample_responses[0].message)
        return {**reply, "message": {"data": {"PhoneNumber": secret}}}

    async def scenario() -> None:
        async with FaultyTarget({ms.name: leak}) as url:
            profile = tmp_path / "target.yaml"
            profile.write_text(yaml.safe_dump({"url": url, "headers": {"Authorization": "Bearer ${LCM_TEST_TOKEN}"}}))
            await asyncio.to_thread(main, ["run", "--profile", str(profile), "--api", "ManualDialCall",
                                           "--quiet", "--response-timeout", "0.3", "--hypothesis-profile", "off",
                                           "--report-dir", str(tmp_path / "r")])

    asyncio.run(scenario())
    texts = [p.read_text(encoding="utf-8") for p in (tmp_path / "r").iterdir()]
    assert texts and all(secret not in t for t in texts)
    assert any("***" in t for t in texts)


def test_an_expected_failure_with_a_reason_gates_and_shows_the_reason(tmp_path: Path, monkeypatch) -> None:
    ident = "MDC.echo.page"
    monkeypatch.setattr(run_command, "run_blocking", _fake_run(_result(ident, Verdict.FAIL)))
    expectations = tmp_path / "expected.yaml"
    expectations.write_text(yaml.safe_dump({ident: {"verdict": "FAIL", "reason": "vendor ticket 9"}}), encoding="utf-8")
    assert main(["run", "--quiet", "--expectations", str(expectations), "--report-dir", str(tmp_path / "r")]) == 0
    assert "- Expected: FAIL: vendor ticket 9" in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    expectations.write_text(yaml.safe_dump({ident: {"verdict": "PASS", "reason": "fixed in 2.1"}}), encoding="utf-8")
    assert main(["run", "--quiet", "--expectations", str(expectations), "--report-dir", str(tmp_path / "r")]) == 1
    diffs = _results(tmp_path / "r")["expectation_diffs"]
    assert diffs == [f"{ident}: expected PASS (fixed in 2.1), got FAIL"]


def test_progress_lines_are_in_a_stable_order_and_quiet_prints_the_summary_only(monkeypatch, capsys) -> None:
    """Results finishing out of order print the same lines; --quiet prints none of them."""
    def made(ident: str, api: str) -> CaseResult:
        return CaseResult(ident, "t", api, ("R",), "doc", "documented", Verdict.PASS, "ok")

    ids = [("MDC.echo.page", "ManualDialCall"), ("MDC.echo.tables", "ManualDialCall"),
           ("SCOC.error.empty-callid", "SetCallOutcomeWithComments")]
    outputs = []
    for order in (ids, ids[::-1]):
        monkeypatch.setattr(run_command, "run_blocking", _fake_run(*(made(*pair) for pair in order)))
        assert main(["run", "--case", "MDC.echo.page", "--case", "MDC.echo.tables", "--case",
                     "SCOC.error.empty-callid", "--hypothesis-profile", "off"]) == 0
        outputs.append(capsys.readouterr().out.split("API ")[0])
    assert outputs[0] == outputs[1]
    assert outputs[0].splitlines()[:2] == ["ManualDialCall              ..  2 cases",
                                           "SetCallOutcomeWithComments  .  1 case"]
    assert "legend: . PASS" in outputs[0]
    assert main(["run", "--quiet", "--case", "MDC.echo.page", "--hypothesis-profile", "off"]) == 0
    quiet = capsys.readouterr().out
    assert quiet.startswith("API ") and "legend" not in quiet


def test_the_embedded_samples_dialect_says_why_it_is_non_strict(capsys) -> None:
    assert main(["run", "--quiet", "--case", "MDC.echo.page", "--hypothesis-profile", "off"]) == 0
    assert "NON-STRICT is expected here: the embedded reference server answers as the doc samples do" \
        in capsys.readouterr().out
    assert main(["run", "--quiet", "--dialect", "tables", "--case", "MDC.echo.page",
                 "--hypothesis-profile", "off"]) == 0
    assert "NON-STRICT is expected" not in capsys.readouterr().out


def test_the_dialect_found_says_what_it_means() -> None:
    from conformance.report.terminal import dialect_line

    assert dialect_line("mixed") == "dialect mixed (some replies are written as the tables say, others as the " \
                                    "samples do)"


def test_an_unreachable_target_is_said_once(capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["run", "--target", f"ws://127.0.0.1:{port}/", "--quiet"]) == 3
    err = capsys.readouterr().err
    assert err.count("unreachable") == 1 and f"ws://127.0.0.1:{port}/" in err, err


def test_jobs_must_be_at_least_one(capsys) -> None:
    assert main(["run", "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err
