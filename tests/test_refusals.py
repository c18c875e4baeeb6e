"""What counts as a refusal, and what a late one may not take (pure: no sockets)."""

from __future__ import annotations

import json

from conformance.engine import withdrawal
from conformance.profile import default_profile
from conformance.protocol import Correlator, build_request
from conformance.refusals import error_sign, is_refusal_frame
from conformance.spec import load_spec

SPEC = load_spec()
SMDC = SPEC.api("SkipManualDialContact")
SNPC = SPEC.api("SkipNonPEWCContact")


def test_an_error_member_counts_only_when_it_says_something() -> None:
    contacts = {"response": [{"AccountNumber": "1"}]}
    for empty in ({"errorCode": 0}, {"error": None}, {"errors": []}, {"error": ""}):
        assert error_sign({**contacts, **empty}) is None, empty
    assert error_sign({"error": {"type": "WS_Error", "message": "Invalid Call ID."}}) == "an error member"
    assert error_sign({"response": {"success": True}, "error": {"message": "ignored"}}) is None


def test_a_broadcast_with_error_words_is_no_refusal_but_an_error_subtopic_is() -> None:
    assert not is_refusal_frame({"subtopic": "CampaignStatus", "message": {"lastDial": "failed"}})
    assert not is_refusal_frame({"subtopic": "Welcome", "message": {"server": "unknown version"}})
    assert is_refusal_frame({"subtopic": "WS_Error", "message": {"msg": "no"}})
    assert is_refusal_frame({"subtopic": "Problem", "message": {"error": {"message": "bad"}}})
    assert is_refusal_frame({"subtopic": "Problem", "message": {"response": {"success": False}}})


def test_a_late_refusal_never_takes_the_next_requests_own_documented_answer() -> None:
    c = Correlator()
    c.send(build_request(SMDC, {}), SMDC.response_subtopic, now=0.0, timeout=1.0, refusal=True)
    c.expire(1.0)  # silence: a refusal may still come late
    c.send(build_request(SMDC, {"AccountNumber": "1"}), SMDC.response_subtopic, now=2.0, timeout=5.0)
    own = json.dumps({"subtopic": SMDC.response_subtopic, "message": {"response": {"success": False}}})
    assert c.receive(own, 2.1).answered  # its own refusal, on its documented subtopic
    late = json.dumps({"subtopic": "WS_Error", "message": {"error": {"message": "missing AccountNumber"}}})
    c.send(build_request(SMDC, {}), SMDC.response_subtopic, now=3.0, timeout=1.0, refusal=True)
    c.expire(4.0)
    c.send(build_request(SMDC, {"AccountNumber": "1"}), SMDC.response_subtopic, now=5.0, timeout=5.0)
    assert c.receive(late, 5.1) is None  # the earlier request's refusal, come late
    assert c.receive(own, 5.2).answered


def test_withdrawal_is_read_from_the_reply_only() -> None:
    profile = default_profile("ws://127.0.0.1:1/")
    c = Correlator()
    c.send(build_request(SNPC, {"UserId": "a"}), SNPC.response_subtopic, now=0.0, timeout=1.0)
    notice = json.dumps({"subtopic": "AgentNotice", "message": {"text": "SkipNonPEWCContact: contact not available"}})
    assert c.receive(notice, 0.1) is None
    assert not withdrawal(SNPC, c.expire(1.0), profile)  # silence: a FAIL, not a withdrawal
    c = Correlator()
    c.send(build_request(SNPC, {"UserId": "a"}), SNPC.response_subtopic, now=0.0, timeout=1.0)
    refusal = {"subtopic": "WS_Error", "message": {"error": {"message": "subtopic SkipNonPEWCContact is not offered"}}}
    exchange = c.receive(json.dumps(refusal), 0.1)
    assert exchange is not None and withdrawal(SNPC, exchange, profile)
