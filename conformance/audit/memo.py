"""A bounded memo for pure judgements that a long trace repeats (pure; no I/O).

An application sends the same request text again and again (a re-fetch, a dial), and an
endpoint answers alike (a skip's success, an echo): judging a text against a schema is
the audit's dearest step and depends on nothing but the text, so each verdict is kept
for the next identical frame. Long texts are not kept, and the oldest go first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

SIZE = 4096
"""Entries kept."""
LONGEST = 4096
"""Characters of the longest text kept as a key: at most SIZE * LONGEST characters held."""


class Memo(Generic[V]):
    """``memo.get(key, text, make)``: ``make()`` once per (key, text), while it is kept."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[Hashable, str], V] = OrderedDict()

    def get(self, key: Hashable, text: str, make: Callable[[], V]) -> V:
        if len(text) > LONGEST:
            return make()
        slot = (key, text)
        found = self._kept.get(slot)
        if found is not None:
            self._kept.move_to_end(slot)
            return found
        value = self._kept[slot] = make()
        if len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return value
