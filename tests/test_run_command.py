"""``lcm-conformance run``: verdicts on the reference server, exit codes, gating, redaction."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from conformance.cli import main
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


def test_a_stateless_target_fails_with_exit_1(canned_url: str, tmp_path: Path) -> None:
    assert main(["run", "--target", canned_url, "--quiet", "--response-timeout", "0.3", "--hypothesis-profile", "off",
                 "--report-dir", str(tmp_path)]) == 1
    failed = {r["id"]: r for r in _results(tmp_path)["results"] if r["verdict"] == "fail"}
    assert "GRMDC.exclusive" in failed and "SCOC.error.empty-callid" in failed
    assert failed["GRMDC.exclusive"]["reproduce"]["case_command"].startswith("lcm-conformance run --case GRMDC.exclusive")


def test_expectations_gate_only_on_differences(canned_url: str, tmp_path: Path) -> None:
    report = tmp_path / "first"
    main(["run", "--target", canned_url, "--quiet", "--response-timeout", "0.3", "--hypothesis-profile", "off", "--report-dir", str(report)])
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
