"""``results.json``: the public contract, exactly :meth:`RunResult.to_json`, in stable bytes."""

from __future__ import annotations

import json
import re

from ..results import RunResult

# A lone surrogate (a frame decoded with surrogateescape) cannot be written as UTF-8;
# it can only sit inside a JSON string, where its \u escape means the same thing.
_SURROGATE = re.compile("[\ud800-\udfff]")


def render(run: RunResult) -> str:
    """The run as pretty-printed UTF-8 JSON, keys sorted: two writes of one run are identical."""
    text = json.dumps(run.to_json(), indent=2, sort_keys=True, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"
