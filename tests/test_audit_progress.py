"""``audit``'s progress display: a mark per hundredth of the trace, shown only on a long audit.

A fake clock makes the audit "long" without waiting: every reading of it is a quarter of
a second later than the one before.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.audit import Auditor
from conformance.commands import audit as audit_command
from conformance.commands.audit import PARTS, QUIET_FOR, Watch
from test_audit import PROFILE, SPEC, Script, audit, contact, contacts, download

PAIRS = 150


def ticking(step: float = 0.25) -> Callable[[], float]:
    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    return clock


def trace_file(tmp_path: Path, *, faulty_last: bool = False) -> Path:
    """PAIRS downloads answered as asked; with ``faulty_last``, the last one gets two contacts for one."""
    script = Script().open()
    for n in range(PAIRS):
        script.send(download()).answer(contacts(contact(n)))
    if faulty_last:
        script.send(download(count=1)).answer(contacts(contact(PAIRS), contact(PAIRS + 1)))
    return script.close().write(tmp_path / "long.jsonl")


def watched(path: Path, *, quiet: bool = False, clock: Callable[[], float] | None = None) -> tuple[Watch, str]:
    stream = io.StringIO()
    watch = Watch(Auditor(SPEC, PROFILE), path.stat().st_size, stream=stream, quiet=quiet,
                  **({"clock": clock} if clock else {}))
    with open(path, "rb") as lines:
        watch.feed(lines)
    return watch, stream.getvalue()


def test_a_long_audit_to_a_log_prints_plain_status_lines_only(tmp_path: Path) -> None:
    watch, out = watched(trace_file(tmp_path), clock=ticking())
    lines = out.splitlines()
    assert "\r" not in out and "\x1b" not in out  # nothing redrawn, no colour: not a terminal
    assert lines, out
    assert all(re.fullmatch(r"progress: \d+/100 parts in, about \d+ (s|min) left", s) for s in lines), lines
    assert watch.display is not None and watch.display.done == PARTS


def test_each_mark_is_the_worst_verdict_judged_in_its_part(tmp_path: Path) -> None:
    watch, _ = watched(trace_file(tmp_path, faulty_last=True), clock=ticking())
    assert len(watch.marks) == PARTS
    assert watch.marks[-1] == "F"  # the faulty reply is in the last part
    assert "F" not in watch.marks[:90]  # every earlier reply is right (in the samples' form: N)


def test_quiet_and_short_audits_print_no_progress(tmp_path: Path) -> None:
    path = trace_file(tmp_path)
    watch, out = watched(path, clock=ticking(), quiet=True)
    assert out == "" and watch.display is None and len(watch.marks) == PARTS
    # Read once per part after the start: a short audit's clock never reaches QUIET_FOR.
    _, out = watched(path, clock=ticking(QUIET_FOR / (2 * PARTS)))
    assert out == ""


def test_the_command_with_quiet_prints_the_outcome_line_only(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = trace_file(tmp_path)
    monkeypatch.setattr(audit_command, "Watch", functools.partial(Watch, clock=ticking()))
    assert audit(str(path), "--quiet") == 0
    assert re.fullmatch(r"\d+ results from \d+ trace events\n", capsys.readouterr().out)
    assert audit(str(path)) == 0
    out = capsys.readouterr().out
    assert out.startswith("progress: ") and "legend" not in out and "run time" in out  # then the summary
