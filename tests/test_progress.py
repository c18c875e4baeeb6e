"""The progress display: stable lines whatever finishes first, a legend, an estimate, and
nothing redrawn where nothing can be (a CI log)."""

from __future__ import annotations

import io

import pytest

from conformance.report.progress import DELAY, EVERY, Group, Progress

LEGEND = {".": "PASS", "F": "FAIL"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def groups() -> list[Group]:
    return [Group("First", 2, "case"), Group("Second", 1, "case"), Group("Third", 2, "property run")]


def test_group_lines_come_in_order_whatever_finishes_first() -> None:
    outputs = []
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        stream = io.StringIO()
        progress = Progress(5, LEGEND, groups=groups(), stream=stream, clock=Clock())
        for slot in order:
            progress.advance("F" if slot == 3 else ".", slot)
        progress.close()
        outputs.append(stream.getvalue())
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].splitlines() == [
        "First   ..  2 cases",
        "Second  .  1 case",
        "Third   F.  2 property runs",
        "legend: . PASS  F FAIL",
    ]


def test_a_line_waits_for_the_groups_before_it() -> None:
    stream = io.StringIO()
    progress = Progress(5, LEGEND, groups=groups(), stream=stream, clock=Clock())
    progress.advance(".", 2)  # Second is complete, First is not
    assert stream.getvalue() == ""
    progress.advance(".", 0)
    progress.advance(".", 1)
    assert stream.getvalue().splitlines() == ["First   ..  2 cases", "Second  .  1 case"]


def test_no_carriage_returns_where_nothing_can_be_redrawn() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(4, LEGEND, stream=stream, weights=[1, 1, 1, 5], clock=clock)
    progress.advance(".")
    clock.now += EVERY / 2
    progress.advance(".")
    assert stream.getvalue() == ""  # a short run prints no status line
    clock.now += EVERY
    progress.advance(".")
    progress.close()
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    # 3 of 8 units of work in 15 s: 25 s left
    assert text.splitlines() == ["progress: 3/4 results in, about 25 s left", "legend: . PASS  F FAIL"]


def test_a_terminal_gets_the_legend_first_and_a_status_line_redrawn_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    clock, stream = Clock(), FakeTTY()
    progress = Progress(5, LEGEND, groups=groups(), stream=stream, clock=clock)
    assert stream.getvalue() == "legend: . PASS  F FAIL\n"
    progress.advance(".", 0)
    assert stream.getvalue().count("\r") == 0  # nothing drawn in the first second
    clock.now += DELAY
    progress.advance("F", 3)
    assert stream.getvalue().endswith("\r\x1b[K2/5 results, about 2 s left  .--F-")
    progress.advance(".", 1)  # First is complete: its line goes above the status line
    assert "\r\x1b[KFirst   ..  2 cases\n" in stream.getvalue()
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")
    assert "legend" not in stream.getvalue().split("First")[1]  # said once, first


def test_colour_only_at_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty, plain = FakeTTY(), io.StringIO()
    for stream in (tty, plain):
        progress = Progress(1, LEGEND, groups=[Group("G", 1)], stream=stream, styles={"F": "1;31"}, clock=Clock())
        progress.advance("F", 0)
        progress.close()
    assert "\x1b[1;31mF\x1b[0m" in tty.getvalue() and "\x1b[1;31m" not in plain.getvalue()


def test_results_beyond_the_total_only_count() -> None:
    stream = io.StringIO()
    progress = Progress(1, LEGEND, groups=[Group("G", 1)], stream=stream, clock=Clock())
    progress.advance(".", 0)
    progress.advance("F", 7)
    progress.close()
    assert progress.done == 2 and progress.extra == ["F"]
    assert stream.getvalue().splitlines()[0] == "G  .  1 result"


def test_mutate_marks_each_target_as_the_score_counts_it() -> None:
    from conformance.commands.mutate import display, outcome
    from conformance.mutants import MUTANTS, VARIANTS
    from conformance.mutants.driver import Run

    mutant, variant = MUTANTS[0], VARIANTS[0]
    caught = Run(mutant.name, failed=(("GRMDC.count", "why"),))
    assert outcome(mutant, caught) == "K"
    assert outcome(mutant, Run(mutant.name)) == "S"
    assert outcome(variant, Run(variant.name)) == "."
    assert outcome(variant, Run(variant.name, failed=(("GRMDC.count", "why"),))) == "F"
    assert outcome(mutant, Run(mutant.name, error="the worker process broke")) == "!"
    progress = display([MUTANTS[0], MUTANTS[1], VARIANTS[0]], quiet=False)
    assert progress is not None and [(g.label, g.size) for g in progress.groups] == [
        ("reference mutants", 2), ("reference variants", 1)]
    assert display([mutant], quiet=True) is None
