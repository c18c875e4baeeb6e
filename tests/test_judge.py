"""``serve --judge`` and ``audit`` judge an agent application's requests alike.

Four scripted apps (tests/agent_apps.py): requests as the tables write them, as the
samples show them, one without AgentID, one on an undocumented subtopic. Each is judged
live by the reference server and offline from a recorded trace; both must say PASS,
NON-STRICT (naming the discrepancy), FAIL and FAIL, per requirement id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent_apps import APPS, use
from conformance.audit import Auditor
from conformance.commands import serve as serve_command
from conformance.judging import LiveJudge
from conformance.profile import default_profile
from conformance.proxy import ProxySettings, recording
from conformance.server import running_server
from conformance.spec import load_spec
from conformance.trace import read
from hostile import readline_within

SPEC = load_spec()
BOUND = 20.0
ROOT = Path(__file__).resolve().parent.parent


def _verdicts(results: Any) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in results}


def _expect(app: str, results: dict[str, dict[str, Any]]) -> None:
    """What each app's requests must get, per requirement id."""
    client = {k: v for k, v in results.items() if k.startswith("client.")}
    assert client, "no client-side result"
    if app == "tables":
        assert {v["verdict"] for v in client.values()} == {"pass"}, {k: v["detail"] for k, v in client.items()
                                                                      if v["verdict"] != "pass"}
        assert all(f"client.{a.abbr}.request.envelope.subtopic" in client for a in SPEC.apis.values())
    elif app == "samples":
        count = client["client.GRMDC.request.data.NumberOfContactsRequired"]
        assert count["verdict"] == "non_strict"
        assert "D-05" in count["discrepancies"]
        assert client["client.SMDC.request.data.UserId"]["verdict"] == "non_strict"
        assert "D-04" in client["client.SMDC.request.data.UserId"]["discrepancies"]
        assert "fail" not in {v["verdict"] for v in client.values()}
    elif app == "no-agent":
        agent = client["client.GRMDC.request.data.AgentID"]
        assert agent["verdict"] == "fail"
        assert re.search(r"(request|line) \d+ GRMDC.request.data.AgentID", agent["detail"]), agent["detail"]
        assert client["client.GRMDC.request.data.Consent"]["verdict"] == "pass"
    elif app == "unknown-subtopic":
        assert client["client.subtopic"]["verdict"] == "fail"
        assert "GetAllTheContacts" in client["client.subtopic"]["detail"]


async def _judged_live(app: str, report_dir: Path) -> dict[str, dict[str, Any]]:
    judge = LiveJudge(report_dir)
    async with running_server(observer=judge) as url:
        await use(url, app)
        after_requests = json.loads((report_dir / "results.json").read_text())  # written after every request
    judge.finish()
    assert after_requests["summary"]["total"] == judge.run().summary()["total"]
    return _verdicts(json.loads((report_dir / "results.json").read_text())["results"])


async def _recorded(app: str, out: Path) -> None:
    async with running_server() as upstream, recording(ProxySettings(upstream=upstream), out) as url:
        await use(url, app)


def _audited(trace_file: Path) -> dict[str, dict[str, Any]]:
    auditor = Auditor(SPEC, default_profile("ws://127.0.0.1/"))
    with open(trace_file, "rb") as lines:
        auditor.feed_all(read(lines))
    return _verdicts(r.to_json() for r in auditor.finish())


@pytest.mark.parametrize("app", APPS)
def test_serve_judge_and_audit_give_each_app_its_verdicts(app: str, tmp_path: Path) -> None:
    live = asyncio.run(asyncio.wait_for(_judged_live(app, tmp_path / "live"), BOUND))
    _expect(app, live)
    asyncio.run(asyncio.wait_for(_recorded(app, tmp_path / "app.jsonl"), BOUND))
    offline = _audited(tmp_path / "app.jsonl")
    _expect(app, offline)
    same = {k: v["verdict"] for k, v in offline.items() if k.startswith("client.")}
    assert same == {k: v["verdict"] for k, v in live.items()}, "live and offline judges disagree"
    for name in ("results.json", "junit.xml", "report.md", "report.html"):
        assert (tmp_path / "live" / name).is_file()


def test_a_failing_request_is_shown_with_its_frame_in_the_reports(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(_judged_live("no-agent", tmp_path), BOUND))
    report = (tmp_path / "report.md").read_text()
    assert "client.GRMDC.request.data.AgentID" in report
    assert "request 1 GRMDC.request.data.AgentID" in report  # where: the request's number in the session
    assert '"NumberOfContactsRequired"' in report  # the frame the app sent


def _serve(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    serve_command.add_arguments(parser)
    return serve_command.run(parser.parse_args(list(argv)))


def test_judge_needs_a_report_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _serve("--judge") == 2
    assert "--report-dir" in capsys.readouterr().err
    assert _serve("--report-dir", str(tmp_path)) == 2
    assert _serve("--judge", "--report-dir", str(tmp_path), "--mutant", "state.over-delivery") == 2


def test_the_serve_command_judges_until_sigterm_then_writes_the_reports(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", "--judge", "--report-dir", str(tmp_path), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        url = readline_within(process, BOUND).split()[1]
        asyncio.run(asyncio.wait_for(use(url, "unknown-subtopic"), BOUND))
        deadline = time.monotonic() + BOUND
        while not (tmp_path / "results.json").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert json.loads((tmp_path / "results.json").read_text())["summary"]["fail"] == 1
        assert not (tmp_path / "report.md").exists()  # the full reports come on stop
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=BOUND)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "1 requests judged" in out
    assert (tmp_path / "report.md").is_file() and (tmp_path / "junit.xml").is_file()


def test_print_seed_into_a_reader_that_stops_early_exits_quietly() -> None:
    process = subprocess.run(f"set -o pipefail; {sys.executable} -m conformance serve --print-seed | head -n 2",
                             shell=True, capture_output=True, text=True, cwd=ROOT, timeout=BOUND,
                             executable="/bin/bash")
    assert process.stdout.startswith("agents:")
    assert process.stderr == "", process.stderr  # no BrokenPipeError traceback
    assert process.returncode == 0
