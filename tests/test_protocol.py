"""The sans-I/O core: no sockets, no clock; every time below is a plain number."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.protocol import (
    DEFAULT_SOURCE,
    OMIT,
    Correlator,
    FrameLog,
    Message,
    MissingKeys,
    NotJson,
    NotObject,
    NotText,
    ProtocolStateError,
    Redactor,
    Status,
    build_request,
    default_envelope,
    expected_reply,
    parse_frame,
    response_keys,
)
from conformance.spec import load_spec

SPEC = load_spec()
SCOC = SPEC.api("SetCallOutcomeWithComments")
MDC = SPEC.api("ManualDialCall")


def reply(api, message=None, **envelope):
    """A well-formed answer to ``api`` built from its sample response."""
    obj = {**api.sample_responses[0].message, **envelope}
    if message is not None:
        obj["message"] = message
    return json.dumps(obj)


# ---------------------------------------------------------------- building


@pytest.mark.parametrize("api", SPEC.apis.values(), ids=lambda a: a.name)
def test_tables_envelope_is_the_request_table_with_source_filled(api):
    env = default_envelope(api)
    table = {k: v for k, v in api.request_envelope.items() if k != "data"}
    assert env == {**table, "source": DEFAULT_SOURCE}


@pytest.mark.parametrize("api", SPEC.apis.values(), ids=lambda a: a.name)
def test_page_envelope_is_the_sample_request_without_data(api):
    sample = api.sample_requests[0].message
    assert default_envelope(api, "page") == {k: v for k, v in sample.items() if k != "data"}


def test_unknown_form_is_refused():
    with pytest.raises(ValueError, match="unknown form"):
        default_envelope(MDC, "dialect")


def test_build_request_is_compact_json_of_envelope_then_data():
    req = build_request("ManualDialCall", {"PhoneNumber": "+1 555"})
    assert req.api == "ManualDialCall"
    assert req.text == json.dumps(req.message, separators=(",", ":"), ensure_ascii=False)
    assert list(req.message) == [*default_envelope(MDC), "data"]
    assert req.message["data"] == {"PhoneNumber": "+1 555"}


def test_overrides_replace_add_and_omit_keys():
    req = build_request(MDC, OMIT, envelope={"topic": "Other", "source": OMIT, "extra": 1})
    assert req.message["topic"] == "Other"
    assert "source" not in req.message and "data" not in req.message
    assert req.message["extra"] == 1


def test_sample_form_round_trips_the_sample():
    sample = MDC.sample_requests[0].message
    assert build_request(MDC, sample["data"], form="page").message == sample


def test_nan_is_not_sent_as_json():
    with pytest.raises(ValueError):
        build_request(MDC, {"PhoneNumber": float("nan")})


def test_expected_reply_uses_the_response_subtopic_and_echoed_callid():
    req = build_request(SCOC, {"callid": 12345})
    assert expected_reply(SCOC, req) == (SCOC.response_subtopic, "12345")
    # Without a call id, the answer echoes none: a reply for some call is not this one's.
    assert expected_reply(SCOC, build_request(SCOC, {})) == (SCOC.response_subtopic, "")
    c = Correlator()
    c.send(build_request(SCOC, {}), SCOC.response_subtopic, "", now=100.0, timeout=5.0)
    assert c.receive(json.dumps({"subtopic": SCOC.response_subtopic, "message": {"callid": "other"}}), 100.1) is None
    assert c.receive(json.dumps({"subtopic": SCOC.response_subtopic, "message": {"callid": ""}}), 100.2).answered
    # ManualDialCall has no call id: only the subtopic pairs its answer.
    assert expected_reply(MDC, build_request(MDC, {"callid": "1"})) == (MDC.response_subtopic, None)


# ----------------------------------------------------------------- parsing


def test_response_keys_come_from_the_spec():
    assert set(response_keys()) == set(SCOC.response_envelope)


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("", NotJson),
        ("not json", NotJson),
        ('{"a":', NotJson),
        ("NaN", NotJson),
        ('{"a": Infinity}', NotJson),
        ("1" * 5000, NotJson),
        ("[" * 100_000, NotJson),
        ("[]", NotObject),
        ('"text"', NotObject),
        ("null", NotObject),
        ("{}", MissingKeys),
        (b"\x00\x01", NotText),
    ],
)
def test_every_bad_frame_class_is_an_event_not_an_exception(text, cls):
    event = parse_frame(text)
    assert isinstance(event, cls)
    assert event.problem and event.kind
    assert isinstance(event.text, str)


def test_missing_keys_names_them_and_keeps_the_object():
    event = parse_frame('{"subtopic":"X","channel":"LCM"}')
    assert isinstance(event, MissingKeys)
    assert event.missing == ("topic", "message")
    assert event.obj["subtopic"] == "X"


def test_a_full_envelope_is_a_message():
    text = reply(SCOC)
    event = parse_frame(text)
    assert isinstance(event, Message) and event.text == text and event.problem is None


@given(st.one_of(st.text(), st.binary()))
def test_parse_never_raises(data):
    assert parse_frame(data).kind


# ----------------------------------------------------------------- pairing


def started(expect_subtopic=SCOC.response_subtopic, expect_callid=None, **kw):
    c = Correlator(**kw)
    req = build_request(SCOC, {"callid": "12345"})
    c.send(req, expect_subtopic, expect_callid, now=100.0, timeout=5.0)
    return c


def test_answer_is_the_frame_with_the_response_subtopic():
    c = started()
    assert c.receive(reply(MDC), 100.1) is None  # another API's answer
    assert c.receive("garbage", 100.2) is None
    ex = c.receive(reply(SCOC), 100.3)
    assert ex.status is Status.ANSWERED and ex.answered
    assert ex.message["subtopic"] == SCOC.response_subtopic
    assert ex.unmatched_count == 2 and [e.kind for e in ex.unmatched] == ["message", "not_json"]
    assert ex.received == 3
    assert (ex.started, ex.elapsed) == (100.0, pytest.approx(0.3))
    assert c.in_sync and not c.awaiting


def test_callid_pairs_when_echoed():
    c = started(expect_callid="12345")
    other = reply(SCOC, {"callid": "999", "response": {"success": True}})
    assert c.receive(other, 100.1) is None
    ex = c.receive(reply(SCOC, {"callid": 12345, "response": {"success": True}}), 100.2)
    assert ex.answered and ex.unmatched_count == 1


def test_answer_without_callid_is_still_the_answer():
    c = started(expect_callid="12345")
    assert c.receive(reply(SCOC, {"response": {"success": False}}), 100.1).answered


def test_answer_missing_envelope_keys_still_matches_by_subtopic():
    c = started()
    ex = c.receive(json.dumps({"subtopic": SCOC.response_subtopic}), 100.1)
    assert ex.answered and isinstance(ex.response, MissingKeys)


def test_no_expected_subtopic_takes_only_a_refusal_on_an_undocumented_subtopic():
    c = started(expect_subtopic=None)
    assert c.receive("Invalid Call ID.", 100.1) is None  # not a message: recorded, not the reply
    assert c.receive(json.dumps({"subtopic": SCOC.response_subtopic, "message": {}}), 100.2) is None
    assert c.receive(json.dumps({"subtopic": "Welcome", "message": {"server": "x"}}), 100.3) is None
    ex = c.receive(json.dumps({"subtopic": "WS_Error", "message": {"msg": "not JSON"}}), 100.4)
    assert ex.answered and ex.message["subtopic"] == "WS_Error" and ex.unmatched_count == 3


def test_a_frame_on_an_undocumented_subtopic_answers_only_if_it_refuses():
    greeting = json.dumps({"channel": "LCM", "topic": "x", "subtopic": "Connected", "message": {"server": "x"}})
    refusal = json.dumps({"channel": "LCM", "topic": "x", "subtopic": "Problem",
                          "message": {"error": {"type": "WS_Error", "message": "Invalid Call ID."}}})
    for forbidden in (False, True):
        c = Correlator()
        c.send(build_request(SCOC, {}), SCOC.response_subtopic, now=100.0, timeout=5.0, refusal=forbidden)
        assert c.receive(greeting, 100.1) is None
        assert c.receive(json.dumps({"subtopic": "DownloadContactsForDialing"}), 100.2) is None
        ex = c.receive(refusal, 100.3)
        assert ex.answered and ex.refusal is forbidden


def test_frames_read_before_the_request_are_never_its_answer():
    c = Correlator()
    c.send(build_request(SCOC, {}), SCOC.response_subtopic, now=100.0, timeout=5.0)
    c.early(json.dumps({"subtopic": SCOC.response_subtopic, "message": {}}), 100.0)
    ex = c.expire(105.0)
    assert ex.early == 1 and "1 of them before the request" in ex.reason


def test_deadline_is_data():
    c = started()
    assert c.deadline == 105.0
    c.receive("noise", 101.0)
    ex = c.expire(105.0)
    assert ex.status is Status.TIMEOUT and not ex.answered
    assert "within 5s" in ex.reason and "1 other frame" in ex.reason
    assert c.deadline is None


def test_timeout_leaves_the_connection_out_of_sync_until_reset():
    c = started()
    c.expire(105.0)
    assert not c.in_sync
    with pytest.raises(ProtocolStateError, match="reconnect"):
        c.send("x", None, now=106.0, timeout=1.0)
    c.reset()
    assert c.send("x", None, now=106.0, timeout=1.0) == "x"


def test_closed_ends_the_exchange_with_the_reason():
    c = started()
    ex = c.closed(101.0, "received 1011")
    assert ex.status is Status.CLOSED and "1011" in ex.reason and not c.in_sync


def test_flood_is_cut_at_max_frames_and_memory_is_bounded():
    c = started(keep=5, max_frames=1000)
    results = [c.receive(reply(MDC), 100.0 + i / 10_000) for i in range(1000)]
    ex = results[-1]
    assert results[:-1] == [None] * 999
    assert ex.status is Status.FLOODED and ex.received == 1000
    assert ex.unmatched_count == 1000 and len(ex.unmatched) == 5
    assert len(ex.log.frames) == 6 and ex.log.dropped == 995 and len(ex.log) == 1001


def test_misuse_is_a_state_error():
    c = Correlator()
    with pytest.raises(ProtocolStateError):
        c.receive("x", 0.0)
    c.send("x", None, now=0.0, timeout=1.0)
    with pytest.raises(ProtocolStateError, match="in flight"):
        c.send("y", None, now=0.0, timeout=1.0)


def test_exchange_log_has_both_directions_with_relative_times():
    c = started()
    ex = c.receive(reply(SCOC), 100.25)
    sent, got = ex.log.frames
    assert (sent.direction, sent.at, got.direction, got.at) == ("sent", 0.0, "received", 0.25)
    assert sent.text == ex.request
    assert "+0.250s ←" in ex.log.render()


# --------------------------------------------------------------- recording


def test_redactor_masks_every_occurrence_longest_first():
    r = Redactor(["tok", "token-123", ""])
    assert r("a token-123 b tok tok") == "a *** b *** ***"
    assert r.secrets == {"tok", "token-123"}
    assert r.value({"k": ["tok", 1, {"tok": "x"}]}) == {"k": ["***", 1, {"***": "x"}]}


def test_redactor_masks_the_json_escaped_form():
    secret = 'pa"ss\\word'
    assert secret not in Redactor([secret])(json.dumps({"p": secret}))
    assert Redactor([secret])(json.dumps({"p": secret})) == '{"p": "***"}'


def test_empty_redactor_is_falsy_and_identity():
    r = Redactor()
    assert not r and r("abc") == "abc"


def test_frame_log_redacts_bounds_and_renders():
    log = FrameLog(10.0, limit=3, redact=Redactor(["s3cret"]))
    log.record("sent", '{"auth":"s3cret"}', 10.0)
    for i in range(5):
        log.record("received", f"frame {i}", 10.5 + i)
    assert [f.text for f in log.frames] == ['{"auth":"***"}', "frame 0", "frame 4"]
    assert log.dropped == 3
    text = log.render(max_chars=8)
    assert "s3cret" not in text and "3 more frame(s) not kept" in text
    assert text.splitlines()[-1] == "+4.500s ← frame 4"
    assert log.to_json()["dropped"] == 3


def test_exchange_reason_and_log_are_redacted():
    c = Correlator(redact=Redactor(["12345"]))
    req = build_request(SCOC, {"callid": "12345"})
    c.send(req, SCOC.response_subtopic, "12345", now=0.0, timeout=1.0)
    ex = c.expire(1.0)
    assert "12345" not in ex.reason and "12345" not in ex.log.render()


def test_frames_read_before_the_request_count_towards_a_flood():
    c = Correlator(max_frames=10)
    c.send(build_request(SCOC, {}), SCOC.response_subtopic, now=100.0, timeout=5.0)
    for n in range(9):
        c.early(json.dumps({"subtopic": "Noise", "message": {"n": n}}), 100.0)
    ex = c.receive(json.dumps({"subtopic": "Noise", "message": {}}), 100.1)
    assert ex is not None and ex.status is Status.FLOODED and "flood" in ex.reason
