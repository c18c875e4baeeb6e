"""``results.json``: the public contract, exactly :meth:`RunResult.to_json`, in stable bytes."""

from __future__ import annotations

import json
import re

from ..results import RunResult

# A lone surrogate (a frame decoded with surrogateescape) cannot be written as UTF-8;
# it can only sit inside a JSON string, where its \u escape means the same thing.
_SURROGATE = re.compile("[\ud800-\udfff]")


def render(run: RunResult, *, incomplete: str | None = None) -> str:
    """The run as pretty-printed UTF-8 JSON, keys sorted: two writes of one run are identical.

    A run that stopped early (``incomplete`` says why) has ``"incomplete": true`` and
    ``"incomplete_reason"``; a whole run has neither key.
    """
    data = run.to_json()
    if incomplete:
        data.update(incomplete=True, incomplete_reason=incomplete)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"
