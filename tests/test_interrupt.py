"""Ctrl-C during ``lcm-conformance run``: "interrupted", the reports of what finished, exit 130.

A real process and a real SIGINT against the embedded reference server (loopback only);
every wait is bounded.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")


def _lines(stream: object) -> queue.Queue[str | None]:
    """The stream's lines as they come, read on a daemon thread (None at its end)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_ctrl_c_writes_the_finished_results_marked_incomplete_and_exits_130(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    # thorough: the property tests after the first progress line take seconds, so the
    # SIGINT surely lands mid-run however fast the machine
    command = [sys.executable, "-m", "conformance", "run", "--report-dir", str(reports),
               "--hypothesis-profile", "thorough"]
    env = {**os.environ, "NO_COLOR": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          cwd=tmp_path) as child:
        try:
            out = _lines(child.stdout)
            first = out.get(timeout=120)
            assert first and first.split()[0] in {"GetReservedManualDialContact", "SkipManualDialContact",
                                                  "ManualDialCall", "SkipNonPEWCContact",
                                                  "SetCallOutcomeWithComments"}, first
            child.send_signal(signal.SIGINT)
            code = child.wait(timeout=60)
            stderr = child.stderr.read() if child.stderr else ""
            rest = []
            while (line := out.get(timeout=10)) is not None:
                rest.append(line)
        finally:
            if child.poll() is None:
                child.kill()
    assert code == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    stdout = first + "".join(rest)
    assert "INCOMPLETE: interrupted" in stdout

    data = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    assert data["incomplete"] is True and "interrupted" in data["incomplete_reason"]
    finished = len(data["results"])
    assert 0 < finished == data["summary"]["total"]
    planned = int(data["incomplete_reason"].split(" of ")[1].split()[0])
    assert finished < planned
    assert len({r["id"] for r in data["results"]}) == finished  # each result once, none after Ctrl-C
    assert "INCOMPLETE: interrupted" in (reports / "report.md").read_text(encoding="utf-8")
    assert "INCOMPLETE: interrupted" in (reports / "report.html").read_text(encoding="utf-8")
    junit = ET.fromstring((reports / "junit.xml").read_bytes())
    assert junit.get("tests") == str(finished)
    assert junit.find(".//property[@name='incomplete']") is not None


def test_an_interrupt_in_process_also_writes_the_partial_reports(tmp_path: Path, monkeypatch, capsys) -> None:
    """KeyboardInterrupt however it arrives: what the progress callback saw is reported."""
    from conformance.cli import main
    from conformance.commands import run as run_command

    def interrupted(options, progress):
        from conformance.results import CaseResult, Verdict

        progress(CaseResult("SMDC.sample", "t", "SkipManualDialContact", ("R",), "doc", "documented",
                            Verdict.PASS, "ok"))
        raise KeyboardInterrupt

    monkeypatch.setattr(run_command, "run_blocking", interrupted)
    assert main(["run", "--quiet", "--report-dir", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert data["incomplete"] is True and [r["id"] for r in data["results"]] == ["SMDC.sample"]
