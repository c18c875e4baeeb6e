"""What makes a message a refusal, whatever its shape (pure; no I/O).

The pages give a refusal's shape only as an error type and a text (Set Telephony
Outcome: Possible Error Cases table) and, for two APIs, ``success: false`` in a sample.
So the suite recognises a refusal by any of its signs: ``success: false``, an error
member, or an error text where a result should be. A frame on an undocumented subtopic
that bears such a sign refuses the request outstanding on its connection; one that bears
none (a greeting, a heartbeat) answers nothing.
"""

from __future__ import annotations

import re
from typing import Any

from .messages import items, member

ERROR_MEMBERS = frozenset({"error", "errors", "errormessage", "errorcode", "fault"})
"""Member names (any case) that make a message a refusal."""
ERROR_WORDS = re.compile(r"error|invalid|not found|fail|refus|denied|unknown|missing|required|not offered"
                         r"|unsupported|not supported|not allowed", re.IGNORECASE)
"""Words that make a text an error text."""


def strings(value: Any) -> list[str]:
    """Every string in a nested value, however deep (iteratively: a reply may nest 10⁵ deep)."""
    found: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return found


def successes(message: Any) -> list[Any]:
    """``response.success`` of a message, in each result object."""
    return [member(i, "success") for i in items(member(message, "response"))]


def succeeded(message: Any) -> bool:
    """Whether a message says ``success: true`` in every result object (and has one)."""
    found = successes(message)
    return bool(found) and all(f is True for f in found)


def error_sign(message: Any) -> str | None:
    """How a message's body says it refuses, or None: ``success: false``, an error member
    that says something, or an empty result with an error text. A message that says
    ``success: true`` refuses nothing, whatever else it holds."""
    found = successes(message)
    if any(f is False for f in found):
        return "success: false"
    if any(f is True for f in found):
        return None
    if _error_member(message):
        return "an error member"
    if member(message, "response") in (None, [], {}, "") and any(ERROR_WORDS.search(t) for t in strings(message)):
        return "an error text"
    return None


def _error_member(message: Any) -> bool:
    """An error member with something in it (``"error": null``, ``"errorCode": 0``,
    ``"errors": []`` say there is none)."""
    return isinstance(message, dict) and any(
        isinstance(k, str) and k.lower() in ERROR_MEMBERS and v not in (None, 0, "0", "", False, [], {})
        for k, v in message.items())


def is_refusal_frame(obj: dict[str, Any]) -> bool:
    """Whether a frame on a subtopic no page documents refuses the request outstanding: a
    structural sign only (``success: false``, an error member that says something, or an
    error subtopic such as ``WS_Error``); words in a broadcast's text are no sign."""
    message = obj.get("message")
    subtopic = obj.get("subtopic")
    if any(f is False for f in successes(message)) or _error_member(message) or _error_member(obj):
        return True
    return isinstance(subtopic, str) and "error" in subtopic.lower()
