"""Usage errors exit 2 before anything runs: no connection opened, nothing sent.

Each run is pointed at a loopback socket that listens but never accepts: a connection
attempt would wait in its backlog, where the test finds it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conformance.cases import load_cases
from conformance.cli import main
from conformance.expectations import parse_verdict
from conformance.hypo.suite import all_runs
from conformance.results import Verdict
from conformance.runner import RunOptions, UsageError, load_expectations, plan_run
from conformance.spec import load_spec

SPEC = load_spec()
CASES = [c.id for c in load_cases(SPEC)]
ONE, TWO, THREE, FOUR, FIVE, SIX = CASES[:6]


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A ws:// URL whose socket records every connection attempt (none is accepted)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/", sock


def nothing_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


def run_exits_2(args: list[str], listener: tuple[str, socket.socket], capsys: pytest.CaptureFixture[str]) -> str:
    """Run against the listener; assert exit 2 with nothing connected; return stderr."""
    url, sock = listener
    assert main(["run", "--target", url, "--quiet", *args]) == 2
    assert nothing_connected(sock)
    err = capsys.readouterr().err
    assert err.startswith("lcm-conformance run: ")
    return err


def expectations(tmp_path: Path, doc: object) -> str:
    path = tmp_path / "expected.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def test_the_listener_does_see_a_run(tmp_path: Path, listener, capsys) -> None:
    """The fixture works: a run that goes ahead connects (then finds no WebSocket: exit 3)."""
    url, sock = listener
    profile = tmp_path / "target.yaml"
    profile.write_text(yaml.safe_dump({"url": url, "timeouts": {"connect": 0.3, "response": 0.3}}))
    assert main(["run", "--profile", str(profile), "--quiet", "--hypothesis-profile", "off", "--case", ONE]) == 3
    assert not nothing_connected(sock)


def test_a_report_dir_that_is_a_file_exits_2(tmp_path: Path, listener, capsys) -> None:
    file = tmp_path / "taken"
    file.write_text("x")
    assert "--report-dir" in run_exits_2(["--report-dir", str(file)], listener, capsys)
    assert "--report-dir" in run_exits_2(["--report-dir", str(file / "below")], listener, capsys)
    assert file.read_text() == "x"


def test_an_unwritable_report_dir_exits_2(tmp_path: Path, listener, capsys, monkeypatch) -> None:
    from conformance import report

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(args[0]))

    monkeypatch.setattr(report, "open", refuse, raising=False)
    err = run_exits_2(["--report-dir", str(tmp_path / "r")], listener, capsys)
    assert "cannot write reports there" in err and "Permission denied" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_report_dir_exits_2(tmp_path: Path, listener, capsys) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        run_exits_2(["--report-dir", str(locked / "r")], listener, capsys)
        run_exits_2(["--report-dir", str(locked)], listener, capsys)
    finally:
        locked.chmod(0o755)


def test_a_good_report_dir_is_created_and_left_clean(tmp_path: Path, listener, capsys) -> None:
    target = tmp_path / "new" / "reports"
    run_exits_2(["--report-dir", str(target), "--api", "NoSuchApi"], listener, capsys)  # the check runs first
    assert target.is_dir() and list(target.iterdir()) == []


def test_an_unknown_api_exits_2_naming_the_documented_ones(listener, capsys) -> None:
    err = run_exits_2(["--api", "ManualDialCall", "--api", "ManualDialCal"], listener, capsys)
    assert "'ManualDialCal'" in err
    assert all(name in err for name in SPEC.apis)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_response_timeout_that_is_not_positive_exits_2(value: str, listener, capsys) -> None:
    assert "--response-timeout" in run_exits_2([f"--response-timeout={value}"], listener, capsys)


def test_plan_run_rejects_bad_timeouts_too() -> None:
    with pytest.raises(UsageError, match="positive"):
        plan_run(SPEC, RunOptions(overrides={"timeouts.response": 0}))


def test_unknown_case_ids_in_the_expectations_file_exit_2(tmp_path: Path, listener, capsys) -> None:
    path = expectations(tmp_path, {ONE: "PASS", ONE + "x": "FAIL", "property.nope": "FAIL"})
    err = run_exits_2(["--expectations", path], listener, capsys)
    assert f"{ONE}x" in err and "property.nope" in err and f"{ONE}," not in err


@pytest.mark.parametrize("doc", [
    {ONE: "FIAL"},
    {ONE: "NOT RUN"},
    {ONE: None},
    {ONE: 1},
    {ONE: {"verdict": "FAIL", "reson": "typo"}},
    {ONE: {"reason": "no verdict"}},
    [ONE],
], ids=["misspelled", "not-a-verdict", "empty", "number", "unknown-key", "no-verdict", "a-list"])
def test_bad_verdicts_in_the_expectations_file_exit_2(doc: object, tmp_path: Path, listener, capsys) -> None:
    err = run_exits_2(["--expectations", expectations(tmp_path, doc)], listener, capsys)
    assert "expectations file" in err


def test_every_bad_entry_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        load_expectations(Path(expectations(tmp_path, {"a": "FIAL", "b": "PASS", "c": "pas"})))
    assert "a: 'FIAL'" in str(caught.value) and "c: 'pas'" in str(caught.value) and "b:" not in str(caught.value)


def test_every_spelling_the_reports_print_is_accepted(tmp_path: Path) -> None:
    for verdict in Verdict:
        for spelling in {verdict.value, verdict.label, verdict.value.upper(), verdict.label.lower(),
                         verdict.value.title(), verdict.label.replace("-", " ")}:
            assert parse_verdict(spelling) is verdict, spelling
    ids = [r.id for r in all_runs(SPEC)]
    doc = {
        ONE: "FAIL", TWO: "NON-STRICT", THREE: "NON_STRICT", FOUR: "non_strict", FIVE: "INFORMATIONAL",
        ids[0]: "ERROR", ids[-1]: "Unimplemented", SIX: {"verdict": "FAIL", "reason": "vendor ticket 42"},
    }
    path = Path(expectations(tmp_path, doc))
    loaded = load_expectations(path)
    assert loaded[TWO] is loaded[THREE] is loaded[FOUR] is Verdict.NON_STRICT
    assert loaded[ids[0]] is Verdict.ERROR and loaded[SIX] is Verdict.FAIL
    assert loaded.reasons == {SIX: "vendor ticket 42"}
    known = {c for c in doc if not c.startswith(("property.", "stateful."))}
    cases, _ = plan_run(SPEC, RunOptions(expectations=path, hypothesis_profile="off"))
    assert known <= {c.id for c in cases}  # the ids exist, and property run ids are known even when off
