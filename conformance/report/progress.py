"""Progress of a long run: a mark per result in a stable order, a legend, what remains.

:class:`Progress` serves any command that waits on many results (``run``, ``mutate``,
``audit``): ``Progress(total, legend)``, then ``advance(mark)`` as each result comes
(``slot`` places it when results finish out of order), then ``close()``. Results may be
laid out in named groups; a group's line (``label  marks  count noun``) is printed once
it is complete and every group before it is, so the output reads the same whatever
finishes first.

At a terminal a status line below the group lines is redrawn in place (at most ten times
a second, from the first second on): how many are in, their marks, and an estimate of
what remains. Elsewhere (a CI log, a file) nothing is redrawn: a plain status line every
:data:`EVERY` seconds, so a short run prints none and a long one a few. Colour only at a
terminal, and only when NO_COLOR is unset (no-color.org).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

PENDING = "-"
"""The mark of a result not in yet."""
DELAY = 1.0
"""Seconds before a terminal's status line first shows: a quick run stays uncluttered."""
REDRAW = 0.1
"""Seconds between two redraws of the terminal's status line, at the least."""
EVERY = 10.0
"""Seconds between two status lines where nothing can be redrawn."""


def use_colour(stream: TextIO) -> bool:
    """Colour only for a person at a terminal who has not asked for none."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, sgr: str | None, colour: bool) -> str:
    """``text`` in the SGR style ``sgr`` (e.g. ``"1;31"``) when colour is on."""
    return f"\x1b[{sgr}m{text}\x1b[0m" if colour and sgr else text


def group_line(label: str, marks: str, count: int, noun: str, *, width: int = 0) -> str:
    """``label  marks  count noun(s)``: one group's results, the label padded to ``width``."""
    plural = noun if count == 1 else f"{noun}s"
    return f"{label:<{width}}  {marks}  {count} {plural}"


def duration(seconds: float) -> str:
    """``about 40 s``, ``about 3 min``: an estimate, said as one."""
    return f"about {seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.0f} min"


@dataclass(frozen=True)
class Group:
    """A run of consecutive slots shown as one line once all are in."""

    label: str
    size: int
    noun: str = "result"


class Progress:
    """A live count of results (see the module docstring). Thread-safe."""

    def __init__(self, total: int, legend: Mapping[str, str], *, groups: Sequence[Group] = (),
                 stream: TextIO | None = None, styles: Mapping[str, str] | None = None, noun: str = "result",
                 weights: Sequence[float] = (), clock: Callable[[], float] = time.monotonic) -> None:
        """``weights``: each slot's expected cost (say, the requests it sends), so the estimate
        of what remains does not take a slow result for a quick one; all equal by default."""
        if groups and sum(g.size for g in groups) != total:
            raise ValueError("the groups' sizes must add up to the total")
        if weights and len(weights) != total:
            raise ValueError("one weight per slot")
        self.weights = list(weights) or [1.0] * total
        self.total, self.legend, self.groups, self.noun = total, dict(legend), list(groups), noun
        self.stream = stream or sys.stdout
        self.live = is_terminal(self.stream)
        self.colour = use_colour(self.stream)
        self.styles = dict(styles or {})
        self.clock = clock
        self.started = clock()
        self.marks: list[str | None] = [None] * total
        self.extra: list[str] = []
        """Marks of results beyond the total (not placed in any slot)."""
        self.done = 0
        self._printed = 0
        """Groups printed so far."""
        self._drawn = 0.0
        self._shown = False
        self._said = self.started
        self._lock = threading.Lock()
        self._width = max((len(g.label) for g in self.groups), default=0)
        if self.live:
            self._write(self.legend_line() + "\n")

    def legend_line(self) -> str:
        """``legend: . PASS  F FAIL ...``"""
        keys = "  ".join(f"{self._paint(mark)} {meaning}" for mark, meaning in self.legend.items())
        return f"legend: {keys}"

    def advance(self, mark: str, slot: int | None = None) -> None:
        """One result is in: ``mark`` (a key of the legend) at ``slot`` (default: the first
        free one; a slot past the total only counts)."""
        with self._lock:
            if slot is None:
                slot = next((i for i, m in enumerate(self.marks) if m is None), self.total)
            if slot < self.total and self.marks[slot] is None:
                self.marks[slot] = mark
            else:
                self.extra.append(mark)
            self.done += 1
            self._print_groups()
            self._status()

    def close(self) -> None:
        """Clear the status line; the legend where it was not shown yet (if any mark was)."""
        with self._lock:
            self._clear()
            if not self.live and self.done:
                self._write(self.legend_line() + "\n")

    # ---------------------------------------------------------------- drawing

    def _paint(self, mark: str) -> str:
        return paint(mark, self.styles.get(mark), self.colour)

    def _print_groups(self) -> None:
        start = sum(g.size for g in self.groups[:self._printed])
        while self._printed < len(self.groups):
            group = self.groups[self._printed]
            marks = self.marks[start:start + group.size]
            if any(m is None for m in marks):
                return
            self._clear()
            text = "".join(self._paint(m) for m in marks if m is not None)
            self._write(group_line(group.label, text, group.size, group.noun, width=self._width) + "\n")
            self._printed += 1
            start += group.size

    def _estimate(self, now: float) -> str:
        done = sum(w for w, m in zip(self.weights, self.marks, strict=True) if m is not None)
        if not done or self.done >= self.total:
            return ""
        left = (now - self.started) / done * (sum(self.weights) - done)
        return f", {duration(left)} left"

    def _status(self) -> None:
        now = self.clock()
        counts = f"{self.done}/{self.total} {self.noun}s"
        if not self.live:
            if now - self._said >= EVERY and self.done < self.total:
                self._said = now
                self._write(f"progress: {counts} in{self._estimate(now)}\n")
            return
        if now - self.started < DELAY or (self._shown and now - self._drawn < REDRAW):
            return
        self._drawn = now
        columns = shutil.get_terminal_size((80, 24)).columns
        head = f"{counts}{self._estimate(now)}  "
        room = max(0, columns - len(head) - 1)
        marks = [m or PENDING for m in self.marks]
        if len(marks) > room:  # the latest results that fit
            finished = max((i for i, m in enumerate(self.marks) if m is not None), default=0)
            first = max(0, min(finished + 1, len(marks)) - room)
            marks = marks[first:first + room]
        bar = "".join(PENDING if m == PENDING else self._paint(m) for m in marks)
        self._write(f"\r\x1b[K{head}{bar}")
        self._shown = True

    def _clear(self) -> None:
        if self._shown:
            self._write("\r\x1b[K")
            self._shown = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
