"""The reference server's state model on its own: no sockets, no spec, no event loop."""

from __future__ import annotations

import pytest

from conformance.server.state import (
    Call,
    Contact,
    ContactNotFound,
    InvalidCallId,
    State,
    Status,
    UnknownAgent,
    UnknownOutcome,
    WrongAccount,
    outcome_key,
)


def contact(cid: int, *, consent: bool = True, agent: str | None = None, closed: bool = False) -> Contact:
    status = Status.CLOSED if closed else Status.RESERVED if agent else Status.OPEN
    return Contact(cid, f"acct-{cid}", f"phone-{cid}", consent, {"id": cid}, status, agent)


def world(*contacts: Contact) -> State:
    return State(
        agents=["ann", "bob"],
        contacts=contacts or [contact(i, consent=i % 2 == 0) for i in range(1, 11)],
        calls=[Call("c1", "acct-1")],
        telephony_outcomes=[1, "2"],
        business_outcomes=[100],
    )


def statuses(state: State) -> dict[int, tuple[Status, str | None]]:
    return {c.contact_id: (c.status, c.agent) for c in state.contacts.values()}


def ids(contacts: list[Contact]) -> list[int]:
    return [c.contact_id for c in contacts]


def test_reserve_hands_at_most_count_open_contacts_of_the_consent_type_in_order():
    state = world()
    got = state.reserve("ann", 3, consent=True, reserved=False)
    assert ids(got) == [2, 4, 6]
    assert all(c.status is Status.RESERVED and c.agent == "ann" for c in got)
    assert ids(state.reserve("ann", 9, consent=False, reserved=False)) == [1, 3, 5, 7, 9]


def test_reserved_true_re_sends_what_the_agent_holds_and_takes_nothing_new():
    state = world()
    held = state.reserve("ann", 2, consent=True, reserved=False)
    before = statuses(state)
    assert ids(state.reserve("ann", 50, consent=True, reserved=True)) == ids(held)
    assert ids(state.reserve("ann", 1, consent=True, reserved=True)) == ids(held)[:1]
    assert state.reserve("ann", 50, consent=False, reserved=True) == []
    assert statuses(state) == before


def test_a_contact_is_never_reserved_to_two_agents_and_an_empty_pool_gives_none():
    state = world()
    ann = state.reserve("ann", 4, consent=True, reserved=False)
    bob = state.reserve("bob", 4, consent=True, reserved=False)
    assert not set(ids(ann)) & set(ids(bob))
    assert len(ann) + len(bob) == 5  # five consent contacts in all
    assert state.reserve("bob", 1, consent=True, reserved=False) == []
    assert state.reserve("ann", 0, consent=False, reserved=False) == []


def test_an_unknown_agent_is_refused_and_changes_nothing():
    state = world()
    before = statuses(state)
    for call in (
        lambda: state.reserve("eve", 1, consent=True, reserved=False),
        lambda: state.skip("eve", "1", account="acct-1", phone="phone-1"),
        lambda: state.skip_non_consent("eve"),
        lambda: state.set_call_outcome("c1", agent="eve", account="acct-1", outcome="1", details={}),
    ):
        with pytest.raises(UnknownAgent, match="eve"):
            call()
    assert statuses(state) == before


def test_skip_closes_the_agents_contact_and_a_closed_contact_never_comes_back():
    state = world()
    [first, second] = state.reserve("ann", 2, consent=True, reserved=False)
    closed = state.skip("ann", "100", account=first.account, phone=first.phone)
    assert closed is first and first.status is Status.CLOSED and first.agent is None and first.outcome == "100"
    assert ids(state.reserve("ann", 50, consent=True, reserved=True)) == [second.contact_id]
    assert first.contact_id not in ids(state.reserve("bob", 50, consent=True, reserved=False))
    with pytest.raises(ContactNotFound):
        state.skip("ann", "100", account=first.account, phone=first.phone)


@pytest.mark.parametrize(
    "agent, outcome, field, error",
    [
        ("ann", "1", "phone", ContactNotFound),
        ("ann", "1", "account", ContactNotFound),
        ("bob", "1", None, ContactNotFound),  # another agent's contact
        ("ann", "7", None, UnknownOutcome),
    ],
)
def test_a_skip_that_does_not_match_is_refused_and_changes_nothing(agent, outcome, field, error):
    state = world()
    [held] = state.reserve("ann", 1, consent=True, reserved=False)
    before = statuses(state)
    named = {"account": held.account, "phone": held.phone}
    if field:
        named[field] = "other"
    with pytest.raises(error):
        state.skip(agent, outcome, **named)
    assert statuses(state) == before


def test_skip_accepts_telephony_and_business_outcomes():
    state = world()
    a, b = state.reserve("ann", 2, consent=True, reserved=False)
    state.skip("ann", outcome_key(100), account=a.account, phone=a.phone)
    state.skip("ann", outcome_key(2.0), account=b.account, phone=b.phone)
    assert a.status is b.status is Status.CLOSED


def test_an_open_contact_cannot_be_skipped_before_it_is_handed_out():
    state = world()
    with pytest.raises(ContactNotFound):
        state.skip("ann", "1", account="acct-2", phone="phone-2")


def test_skip_non_consent_closes_the_agents_non_consent_contact_once():
    state = world(contact(1, consent=True, agent="ann"), contact(2, consent=False, agent="ann"),
                  contact(3, consent=False))
    assert state.skip_non_consent("ann").contact_id == 2
    with pytest.raises(ContactNotFound):
        state.skip_non_consent("ann")
    assert statuses(state) == {1: (Status.RESERVED, "ann"), 2: (Status.CLOSED, None), 3: (Status.OPEN, None)}


def test_set_call_outcome_records_the_request_for_a_known_call():
    state = world()
    details = {"comments": "fine", "lead": 3}
    call = state.set_call_outcome("c1", agent="bob", account="acct-1", outcome="2", details=details)
    assert call.outcome == details


@pytest.mark.parametrize(
    "callid, account, outcome, error",
    [
        ("", "acct-1", "1", InvalidCallId),
        ("c9", "acct-1", "1", InvalidCallId),
        ("c1", "acct-2", "1", WrongAccount),
        ("c1", "acct-1", "100", UnknownOutcome),  # a business outcome is no telephony outcome
    ],
)
def test_set_call_outcome_refusals_record_nothing(callid, account, outcome, error):
    state = world()
    with pytest.raises(error) as raised:
        state.set_call_outcome(callid, agent="ann", account=account, outcome=outcome, details={})
    assert state.calls["c1"].outcome is None
    if error is InvalidCallId:
        assert raised.value.empty == (callid == "")


def test_outcome_ids_compare_as_text():
    assert outcome_key(100) == outcome_key(100.0) == outcome_key("100") == "100"
    assert outcome_key(1.5) == "1.5"


@pytest.mark.parametrize(
    "contacts, message",
    [
        ([contact(1), contact(1)], "two contacts have id 1"),
        ([contact(1, agent="eve")], "unknown agent"),
        ([Contact(1, "a", "p", True, {}, Status.RESERVED, None)], "reserved exactly when"),
    ],
)
def test_an_inconsistent_world_is_rejected(contacts, message):
    with pytest.raises(ValueError, match=message):
        State(agents=["ann"], contacts=contacts)


def test_the_seeded_order_decides_who_is_handed_out_first():
    state = world(contact(30), contact(10), contact(20, closed=True), contact(5, agent="bob"))
    assert ids(state.reserve("ann", 5, consent=True, reserved=False)) == [30, 10]
    assert ids(state.held_by("bob")) == [5]
