"""No frame crashes the service core or leaves its state inconsistent (Hypothesis)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.server import build_service
from conformance.server.state import State, Status
from server_helpers import APIS, sample_request

SERVICE = build_service()  # shared on purpose: state carried across examples is part of the test

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def damaged_samples(draw) -> str:
    """A doc sample request with some data fields dropped, replaced or added."""
    message = sample_request(draw(st.sampled_from(APIS)))
    for key in list(message["data"]):
        action = draw(st.sampled_from(["keep", "keep", "drop", "replace"]))
        if action == "drop":
            del message["data"][key]
        elif action == "replace":
            message["data"][key] = draw(json_values)
    if draw(st.booleans()):
        message[draw(st.sampled_from(["channel", "topic", "source", "data", "extra"]))] = draw(json_values)
    return json.dumps(message)


frames = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=50),
    json_values.map(json.dumps),
    damaged_samples(),
)


def consistent(state: State) -> bool:
    """Every contact is in exactly the index its status says, and nowhere else."""
    for contact in state.contacts.values():
        in_pool = contact.contact_id in state._open[contact.consent]
        holders = [agent for agent, held in state._held.items() if contact.contact_id in held]
        expected = [contact.agent] if contact.status is Status.RESERVED else []
        if in_pool != (contact.status is Status.OPEN) or holders != expected:
            return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_any_frame_gets_exactly_one_json_reply_and_the_state_stays_consistent(frame):
    exchange = SERVICE.handle(frame)
    [reply] = exchange.frames
    message = json.loads(reply)
    assert set(message) == {"channel", "topic", "subtopic", "message"}
    assert (exchange.error is None) == ("error" not in message["message"])
    assert consistent(SERVICE.state)
