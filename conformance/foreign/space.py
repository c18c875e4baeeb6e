"""The space of the foreign target's open choices, for a Hypothesis sampler.

Each field of :class:`~conformance.foreign.target.Choices` maps to the values an implementation
may pick where the pages are silent (docs/open-choices.md). A draw combines them; the
suite must give every combination 0 FAIL and 0 ERROR. Timing choices stay small so a
draw takes seconds: a slow target is the hostile targets' business.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import strategies as st

from .target import Choices

OPTIONS: dict[str, tuple[Any, ...]] = {
    "topic": ("echo", "table", "Webservice", "WebService"),
    "key_order": ("doc", "reversed", "sorted"),
    "extra_members": ("none", "envelope", "all"),
    "greeting": (False, True),
    "broadcast_every": (0.0, 0.5),
    "reply_delay": (0.0, 0.01),
    "envelope_check": (False, True),
    "coerce_types": (False, True),
    "binary": ("decode", "invalid"),
    "agents": ("any", "known"),
    "max_frame": (64 * 1024, 4 * 2**20),
    "not_request": ("reply", "silent", "close"),
    "bad_request": ("reply", "silent"),
    "refusal": ("error", "result"),
    "error_subtopic": ("WS_Error", "response"),
    "error_body": ("flat", "string", "object", "success"),
    "error_detail": (False, True),
    "error_echo_callid": (False, True),
    "contact_id_key": ("ContactID", "ContactId"),
    "single_as": ("array", "object"),
    "empty_as": ("array", "refuse"),
    "zero_count": ("empty", "refuse"),
    "max_per_request": (0, 1, 5),
    "consent_values": ("truefalse", "yesno"),
    "time_format": ("iso", "doc", "epoch"),
    "phone_format": ("e164", "digits"),
    "account_format": ("key", "pipe"),
    "call_type_base": (0, 1),
    "callback_when_none": ("empty", "time"),
    "skip_scope": ("own", "own-or-open"),
    "skip_phone_check": (False, True),
    "outcome_check": (False, True),
    "mdc_channel": ("LCM", "UI"),
    "mdc_topic": ("general", "InboundCall", "request"),
    "mdc_echo_case": ("title", "lower"),
    "mdc_echo_extra": (False, True),
    "mdc_phone_check": ("none", "nonempty", "digits"),
    "snpc_msg": ("Contact not found", "No reserved non-PEWC contact for this agent"),
    "snpc_response_as": ("array", "object"),
    "snpc_which": ("oldest", "newest", "all"),
    "snpc_effect": ("release", "close"),
    "scoc_account_check": (False, True),
    "scoc_repeat": ("accept", "refuse"),
}
"""Field -> the values a draw picks from (``snpc_offered`` stays on: withdrawal is the
version variants' business)."""


def choices() -> st.SearchStrategy[Choices]:
    """Any combination of the open choices."""
    fields = {f.name for f in dataclasses.fields(Choices)}
    unknown = set(OPTIONS) - fields
    if unknown:
        raise ValueError(f"OPTIONS names no Choices field: {sorted(unknown)}")
    return st.fixed_dictionaries({name: st.sampled_from(values) for name, values in OPTIONS.items()}).map(
        lambda drawn: Choices(**drawn))
