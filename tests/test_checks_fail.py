"""Every check can fail: each one is shown failing on a faulty target, through a real case.

"A check that cannot fail is a defect." For every name in ``conformance.checks.CHECKS``
a test runs a case of ``cases/*.yaml`` through :class:`CaseRunner` against a loopback
:class:`FaultyTarget` whose replies are computed from the request and the doc samples
with one fault injected, and asserts that

* the case is FAIL (INFORMATIONAL for an inferred check, which must never FAIL),
* the failing check says what was expected, what arrived and where the doc says so,
* the case result carries the frames exchanged, and a FAIL carries a reproduction;

then runs the same case against the same fake with the fault switched off and against
the reference server, where it does not fail: the injected fault is what failed it.
Transport faults (close, non-JSON, flood, wrong subtopic, late) and a hanging target are
covered too: the case FAILs with the reason, the next case still runs, the run is bounded.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from conformance.cases import load_cases
from conformance.checks import CHECKS
from conformance.engine import CaseRunner
from conformance.messages import TRUE_WORDS, member
from conformance.profile import Timeouts, default_profile, load_profile
from conformance.results import CaseResult, CheckResult, Verdict
from conformance.server import running_server
from conformance.spec import load_spec
from faulty_targets import FaultyTarget

SPEC = load_spec()
CASES = {case.id: case for case in load_cases(SPEC)}

GRMDC = SPEC.api("GetReservedManualDialContact")
SMDC = SPEC.api("SkipManualDialContact")
MDC = SPEC.api("ManualDialCall")
SNPC = SPEC.api("SkipNonPEWCContact")
SCOC = SPEC.api("SetCallOutcomeWithComments")

RESPONSE_TIMEOUT = 0.3
BOUND = 20.0
"""No test coroutine may run longer than this: a regression fails instead of hanging."""

LABELS = {name: name for name in CHECKS}
"""Check name in the case files -> the name its CheckResult carries (they differ for most)."""

COVERED: set[str] = set()
"""The checks a test below shows failing (filled at import, asserted complete)."""


def shows_failing(check: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    assert check in CHECKS, check
    COVERED.add(check)
    return lambda test: test


# --------------------------------------------------------------- replies from the samples


def sample_reply(api, index: int = 0, message: Any = None) -> dict[str, Any]:
    """A doc sample response (envelope and message), with its message replaced if given."""
    reply = copy.deepcopy(api.sample_responses[index].message)
    if message is not None:
        reply["message"] = message
    return reply


def data(request: dict[str, Any]) -> dict[str, Any]:
    return request.get("data") if isinstance(request.get("data"), dict) else {}


def flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().casefold() in TRUE_WORDS


SAMPLE_CONTACT = GRMDC.sample_responses[0].message["message"]["response"]
YES = SAMPLE_CONTACT["Consent"]  # the sample contact gives its consent as "Yes"
NO = "No"


def contact(number: int, consent: bool = True) -> dict[str, Any]:
    """The sample contact made distinct by ``number`` (the last part of its account number)."""
    out = copy.deepcopy(SAMPLE_CONTACT)
    head = SAMPLE_CONTACT["AccountNumber"].rsplit("|", 1)[0]
    out["AccountNumber"] = f"{head}|{number}"
    out["ContactId"] = number
    out["Consent"] = YES if consent else NO
    return out


def contacts_reply(contacts: list[dict[str, Any]]) -> dict[str, Any]:
    return sample_reply(GRMDC, message={"response": contacts})


def asked(request: dict[str, Any]) -> tuple[int, bool, bool]:
    """(NumberOfContactsRequired, Consent, ReservedContacts) of a GRMDC request, any spelling."""
    d = data(request)
    return (int(member(d, "NumberOfContactsRequired")), flag(member(d, "Consent")),
            flag(member(d, "ReservedContacts")))


def mdc_echo(request: dict[str, Any], *, phone: Any = None) -> dict[str, Any]:
    """ManualDialCall's answer as the sample shows it: the request repeated (``phone``: a lie)."""
    sent = copy.deepcopy(data(request))
    if phone is not None:
        sent["PhoneNumber"] = phone
    message = {"subtopic": request.get("subtopic"), "topic": request.get("topic"),
               "channel": request.get("channel"), "data": sent}
    return sample_reply(MDC, message=message)


def in_tables_form(api, reply: dict[str, Any]) -> dict[str, Any]:
    """A reply reworded as the tables write it: their envelope and their member names."""
    names = {f.path.casefold(): f.path.rsplit(".", 1)[1] for f in api.fields() if f.path.startswith("response.")}

    def reword(value: Any, path: str) -> Any:
        if isinstance(value, list):
            return [reword(v, path) for v in value]
        if isinstance(value, dict):
            renamed = {names.get(f"{path}.{k}".casefold(), k): v for k, v in value.items()}
            return {k: reword(v, f"{path}.{k}") for k, v in renamed.items()}
        return value

    envelope = {k: v for k, v in api.response_envelope.items() if k != "message"}
    return {**envelope, "message": reword(reply.get("message"), "response.message")}


def mdc_tables(request: dict[str, Any]) -> dict[str, Any]:
    """ManualDialCall's answer as the Response and Message Parameters tables write it."""
    return in_tables_form(MDC, mdc_echo(request))


SCOC_ERRORS = {e.id: e for e in SCOC.errors}


def scoc_answer(request: dict[str, Any]) -> dict[str, Any]:
    """SetCallOutcomeWithComments: the sample answer for a call id, the error reply otherwise."""
    callid = member(data(request), "callid")
    if callid == SCOC.sample_requests[0].message["data"]["callid"]:
        return sample_reply(SCOC, message={"callid": callid, "response": {"success": True}})
    error = SCOC_ERRORS["SCOC.error.1" if callid == "" else "SCOC.error.2"]
    return sample_reply(SCOC, message={"callid": callid,
                                       "response": {"success": False, "msg": error.message},
                                       "error": {"type": error.type, "message": error.message}})


def honest() -> dict[str, Any]:
    """Stateless correct replies for the APIs a fault test does not target."""
    return {
        MDC.name: mdc_echo,
        SMDC.name: sample_reply(SMDC),
        SCOC.name: scoc_answer,
    }


# ------------------------------------------------------------------------------ running


def fast_profile(url: str, response: float = RESPONSE_TIMEOUT):
    return replace(default_profile(url), timeouts=Timeouts(connect=2, response=response, run=60))


TOKEN_VARIABLE, TOKEN = "LCM_TEST_TOKEN", "s3cret-token"


def credentialed_profile(url: str, response: float = RESPONSE_TIMEOUT):
    """A profile that declares credentials: a bearer token taken from the environment."""
    headers = {"Authorization": f"Bearer ${{{TOKEN_VARIABLE}}}"}
    profile = load_profile(None, {"url": url, "headers": headers}, env={TOKEN_VARIABLE: TOKEN})
    return replace(profile, timeouts=Timeouts(connect=2, response=response, run=60))


async def _run_against(target: FaultyTarget, case_ids, response: float, make_profile) -> tuple[str, list[CaseResult]]:
    async with target as url:
        runner = CaseRunner(SPEC, make_profile(url, response))
        return url, [await runner.run(CASES[case_id]) for case_id in case_ids]


def against(target: FaultyTarget, *case_ids: str, response: float = RESPONSE_TIMEOUT, make_profile=fast_profile):
    """Run cases, in order and with one runner, against a fake target: (url, results)."""
    return asyncio.run(asyncio.wait_for(_run_against(target, case_ids, response, make_profile), BOUND))


def two_agents(url: str, response: float = RESPONSE_TIMEOUT):
    """A profile naming two distinct agents (the reference seed's two sample spellings)."""
    profile = load_profile(None, {"url": url, "agents": ["testagent@domain.com", "testagent"]}, env={})
    return replace(profile, timeouts=Timeouts(connect=2, response=response, run=60))


async def _run_reference(dialect: str, case_id: str, make_profile) -> CaseResult:
    async with running_server(dialect=dialect) as url:
        return await CaseRunner(SPEC, make_profile(url)).run(CASES[case_id])


def assert_reference_passes(case_id: str, check: str, make_profile=default_profile) -> None:
    """The case passes on the reference server in both dialects, the check included."""
    for dialect, allowed in (("tables", {Verdict.PASS}), ("samples", {Verdict.PASS, Verdict.NON_STRICT})):
        result = asyncio.run(asyncio.wait_for(_run_reference(dialect, case_id, make_profile), BOUND))
        assert result.not_run is None, (dialect, result.detail)
        assert result.verdict in allowed, (dialect, result.detail)
        judged = [c for c in result.checks if LABELS[check] in c.name]
        assert judged and all(c.verdict is Verdict.PASS for c in judged), (dialect, judged)


def assert_reference_allows(case_id: str, check: str) -> None:
    """The reference server, in both dialects, gets no FAIL from the case (where the check
    judges a choice the docs leave open, it may be INFORMATIONAL)."""
    for dialect in ("tables", "samples"):
        result = asyncio.run(asyncio.wait_for(_run_reference(dialect, case_id, default_profile), BOUND))
        assert result.not_run is None and result.verdict is not Verdict.FAIL, (dialect, result.detail)
        assert [c for c in result.checks if LABELS[check] in c.name], (dialect, result.checks)


def assert_not_failed(result: CaseResult, check: str) -> None:
    """The fake with the fault off: the case runs and the check passes."""
    assert result.not_run is None, result.detail
    assert result.verdict in (Verdict.PASS, Verdict.NON_STRICT), result.detail
    judged = [c for c in result.checks if LABELS[check] in c.name]
    assert judged and all(c.verdict is Verdict.PASS for c in judged), judged
    assert result.reproduce is None


def assert_fails(
    result: CaseResult,
    check: str,
    url: str,
    *,
    expected: tuple[str, ...],
    actual: tuple[str, ...],
    verdict: Verdict = Verdict.FAIL,
    only: bool = True,
) -> CheckResult:
    """The case has ``verdict`` because of ``check``; its message is complete; frames kept.

    ``only``: no other check got that verdict (the injected fault is the only fault).
    """
    case = CASES[result.id]
    assert result.not_run is None, result.detail
    assert result.verdict is verdict, result.detail
    if verdict is not Verdict.FAIL:  # an inferred check never fails, whatever arrived
        assert all(c.verdict is not Verdict.FAIL for c in result.checks), result.checks
    hits = [c for c in result.checks if c.verdict is verdict]
    assert hits, result.checks
    if only:
        assert all(LABELS[check] in c.name for c in hits), [c.name for c in hits]
    failing = next((c for c in hits if LABELS[check] in c.name), None)
    assert failing is not None, [c.name for c in hits]

    text = failing.message()
    for part in expected:
        assert part in failing.expected, (part, failing.expected)
        assert part in text, (part, text)
    for part in actual:
        assert part in failing.actual, (part, failing.actual)
        assert part in text, (part, text)
    assert failing.doc and failing.doc in text  # where the doc says so
    assert failing.requirements and failing.basis in ("documented", "inferred")
    assert result.detail.startswith(hits[0].message())  # then, maybe, the frames that answered nothing

    assert result.frames, "the case result carries no frames"
    assert [f for f in result.frames if f.direction == "sent"]
    if verdict is Verdict.FAIL:
        assert result.reproduce is not None
        assert result.reproduce["frames"] and all(isinstance(f, str) for f in result.reproduce["frames"])
        assert case.id in result.reproduce["case_command"] and url in result.reproduce["case_command"]
        assert url in result.reproduce["command"]
    else:
        assert result.reproduce is None
    return failing


def received(result: CaseResult) -> list[str]:
    return [f.text for f in result.frames if f.direction == "received"]


# ------------------------------------------------------------------------ the registry


def test_every_check_has_a_failing_test():
    assert set(LABELS) == set(CHECKS), "a check without a label here has no test showing it fail"
    assert set(CHECKS) == COVERED, sorted(set(CHECKS) - COVERED)


_UNNAMED = sorted(name for name, label in LABELS.items() if name not in label)


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(name, marks=pytest.mark.xfail(
            strict=True,
            reason=f"{name} reports as {LABELS[name]!r}: its CheckResult.name does not carry the "
                   "check's name from the case files, so a report cannot be traced to the YAML check",
        )) if name in _UNNAMED else name
        for name in CHECKS
    ],
)
def test_check_result_names_the_check(check):
    """The standard asks that the failing CheckResult's name contain the check's name."""
    assert check in LABELS[check]


# --------------------------------------------------------------------------- answered


@shows_failing("answered")
def test_answered_fails_when_the_target_is_silent():
    url, [result] = against(FaultyTarget(honest(), fault="hang"), "MDC.form.tables")
    assert_fails(result, "answered", url, only=False,
                 expected=(f"a reply with subtopic {MDC.response_subtopic!r}",),
                 actual=(f"no {MDC.response_subtopic!r} reply within {RESPONSE_TIMEOUT:g}s",))
    assert received(result) == []
    _, [ok] = against(FaultyTarget(honest()), "MDC.form.tables")
    assert_not_failed(ok, "answered")
    assert_reference_passes("MDC.form.tables", "answered")


def test_an_inferred_answered_check_never_fails():
    """frame.not-json: no reply to a non-JSON frame is INFORMATIONAL (inferred); the next
    request on a documented basis is answered."""
    url, [result] = against(FaultyTarget({MDC.name: mdc_tables}), "frame.not-json")
    step1 = assert_fails(result, "answered", url, verdict=Verdict.INFORMATIONAL,
                         expected=("a reply",), actual=("no reply on an undocumented subtopic within",))
    assert step1.name == "step 1 answered" and step1.basis == "inferred"
    assert [c.verdict for c in result.checks if c.name == "step 2 answered"] == [Verdict.PASS]


# ----------------------------------------------------------------------------- schema


@shows_failing("schema")
def test_schema_fails_on_a_reply_of_the_wrong_type():
    """GRMDC's contacts in the tables' form, with CallType as the text "0", not a Number."""
    def wrong_type(request):
        reply = in_tables_form(GRMDC, contacts_reply([contact(1)]))
        reply["message"]["response"][0]["CallType"] = "0"
        return reply

    url, [result] = against(FaultyTarget({GRMDC.name: wrong_type}), "GRMDC.form.tables")
    failing = assert_fails(result, "schema", url,
                           expected=("a reply as the response tables write it",),
                           actual=("$.message.response[0].CallType",))
    assert "number" in failing.actual and '"0"' in failing.actual, failing.actual
    assert '"CallType": "0"' in received(result)[0]
    _, [ok] = against(FaultyTarget({GRMDC.name: lambda request: in_tables_form(GRMDC, contacts_reply([contact(1)]))}),
                      "GRMDC.form.tables")
    assert_not_failed(ok, "schema")
    assert_reference_allows("GRMDC.form.tables", "schema")


# ---------------------------------------------------------------------------- success


def snpc_target(*, msg: str | None = None, first_success: bool = True,
                always_success: bool = False) -> FaultyTarget:
    """GRMDC hands out one non-PEWC contact; SNPC answers sample 1 for an agent that holds
    one (``first_success=False``: sample 2 instead), sample 2 (``msg``: reworded) for one
    that fetched none (``always_success``: sample 1, a fault)."""
    holders: set[str] = set()

    def grmdc(request):
        n, consent, _ = asked(request)
        holders.add(member(data(request), "AgentID"))
        return contacts_reply([contact(500 + i, consent) for i in range(min(n, 1))])

    def snpc(request):
        holds = member(data(request), "UserId") in holders
        if always_success or (holds and first_success):
            return sample_reply(SNPC, 0)
        reply = sample_reply(SNPC, 1)
        if msg is not None:
            reply["message"]["response"]["msg"] = msg
        return reply

    return FaultyTarget({GRMDC.name: grmdc, SNPC.name: snpc})


@shows_failing("success")
def test_success_fails_when_the_skip_of_a_held_contact_says_no():
    """SMDC.skip.tables, step 3: the agent holds the contact, yet the skip is refused."""
    url, [result] = against(skip_target(refuses=True), "SMDC.skip.tables")
    failing = assert_fails(result, "success", url, only=False, expected=("response.success true",),
                           actual=("false",))
    assert failing.name == "step 3 success"
    _, [ok] = against(skip_target(), "SMDC.skip.tables")
    assert_not_failed(ok, "success")
    assert_reference_passes("SMDC.skip.tables", "success")


def test_a_success_resting_on_our_reading_is_informational():
    """SNPC.skip.tables: a non-consent contact not skipped as a non-PEWC one (D-25 is ours)."""
    _, [result] = against(snpc_target(first_success=False), "SNPC.skip.tables")
    check = next(c for c in result.checks if c.name == "step 3 success")
    assert check.verdict is Verdict.INFORMATIONAL and check.basis == "inferred" and "D-25" in check.doc
    assert result.verdict is not Verdict.FAIL


def test_an_agent_that_fetched_nothing_cannot_skip_a_non_pewc_contact():
    """SNPC.nothing-fetched: success for an agent that fetched nothing fails (sample 2)."""
    url, [result] = against(snpc_target(always_success=True), "SNPC.nothing-fetched")
    failing = assert_fails(result, "not_success", url, only=False, expected=("a reply that is not a success",),
                           actual=("a success reply",))
    assert failing.requirements == ("SNPC.sample.response.2",)
    _, [ok] = against(snpc_target(), "SNPC.nothing-fetched")
    assert_not_failed(ok, "not_success")
    assert_reference_allows("SNPC.nothing-fetched", "not_success")


# ------------------------------------------------------------------------ not_success


def mandatory_rows(api) -> list[str]:
    return [row.name for row in api.request_data if row.mandatory]


def smdc_success_always(request):
    return sample_reply(SMDC)


def smdc_checks_mandatory(request):
    complete = all(member(data(request), name) is not None for name in mandatory_rows(SMDC))
    return sample_reply(SMDC, message={"response": {"success": complete}})


@shows_failing("not_success")
def test_not_success_fails_when_a_request_missing_a_mandatory_row_succeeds():
    """SMDC.missing.OutcomeId: the target answers the incomplete skip with success true."""
    assert "OutcomeId" in mandatory_rows(SMDC)
    url, [result] = against(FaultyTarget({**honest(), SMDC.name: smdc_success_always}),
                            "SMDC.missing.OutcomeId")
    failing = assert_fails(result, "not_success", url,
                           expected=("a reply that is not a success",),
                           actual=('a success reply: {"response": {"success": true}}',))
    assert failing.name == "step 1 not_success"
    assert failing.requirements == (SMDC.field("request.data.OutcomeId").id,)
    assert failing.doc == "Skip Manual Dial Contact: Data Parameters table, row OutcomeId"
    assert "OutcomeId" not in result.reproduce["frames"][0]
    # step 2 (the next valid request) still passed: only the fault failed the case
    assert all(c.verdict is not Verdict.FAIL for c in result.checks if c.name.startswith("step 2"))
    _, [ok] = against(FaultyTarget({**honest(), SMDC.name: smdc_checks_mandatory}), "SMDC.missing.OutcomeId")
    assert_not_failed(ok, "not_success")
    assert_reference_passes("SMDC.missing.OutcomeId", "not_success")


def test_not_success_fails_when_an_api_without_a_success_flag_serves_an_incomplete_request():
    """GRMDC's answer has no success flag: the documented answer itself is the success."""
    def grmdc_any(request):
        return contacts_reply([contact(1)])

    def grmdc_checks_agent(request):
        if member(data(request), "AgentID") is None:
            return sample_reply(GRMDC, message={"error": {"type": "WS_Error", "message": "AgentID is missing"}})
        return grmdc_any(request)

    url, [result] = against(FaultyTarget({**honest(), GRMDC.name: grmdc_any}), "GRMDC.missing.AgentID")
    failing = assert_fails(result, "not_success", url, expected=("a reply that is not a success",),
                           actual=("the documented answer, as to a valid request: ", '"ContactId": 1'))
    assert failing.requirements == (GRMDC.field("request.data.AgentID").id,)
    _, [ok] = against(FaultyTarget({**honest(), GRMDC.name: grmdc_checks_agent}), "GRMDC.missing.AgentID")
    assert_not_failed(ok, "not_success")
    assert_reference_passes("GRMDC.missing.AgentID", "not_success")


def test_a_second_skip_of_a_closed_contact_must_not_succeed():
    """SMDC.skip.tables, last step: the contact is closed, so skipping it again is refused."""
    url, [result] = against(skip_target(once=False), "SMDC.skip.tables")
    failing = assert_fails(result, "not_success", url, expected=("a reply that is not a success",),
                           actual=('a success reply: {"response": {"success": true}}',))
    assert failing.name == "step 6 not_success" and "Pre-requisite" in failing.doc


def test_not_success_takes_silence_as_no_success_informational():
    """No page says a request the tables forbid is answered: silence is no success."""
    _url, [result] = against(FaultyTarget(honest(), fault="hang", times=1), "SMDC.missing.OutcomeId")
    check = next(c for c in result.checks if "not_success" in c.name)
    assert check.verdict is Verdict.INFORMATIONAL and result.verdict is not Verdict.FAIL, result.detail
    assert "reply within" in check.actual, check.actual


def test_not_success_says_what_arrived_when_the_reply_is_not_json():
    _, [result] = against(FaultyTarget(honest(), fault="non_json", times=1), "SMDC.missing.OutcomeId")
    refused = next(c for c in result.checks if LABELS["not_success"] in c.name)
    assert "not JSON" in refused.actual or "this is not JSON {" in refused.actual, refused.message()


# ----------------------------------------------------------------------- sample_value


@shows_failing("sample_value")
def test_sample_value_is_informational_when_the_refusal_is_worded_otherwise():
    """SNPC.nothing-fetched: success false as sample 2, another msg than the sample's: the
    sample's wording illustrates (msg is not even mandatory), so it is never a FAIL."""
    want = SNPC.sample_responses[1].message["message"]["response"]["msg"]
    url, [result] = against(snpc_target(msg="Nothing to skip"), "SNPC.nothing-fetched")
    failing = assert_fails(result, "sample_value", url, verdict=Verdict.INFORMATIONAL,
                           expected=(repr(want),), actual=("'Nothing to skip'",))
    assert failing.name == "step 1 sample_value response.msg" and failing.basis == "inferred"
    assert failing.requirements == ("SNPC.sample.response.2",)
    assert SNPC.sample_responses[1].heading in failing.doc
    _, [ok] = against(snpc_target(), "SNPC.nothing-fetched")
    assert_not_failed(ok, "sample_value")
    assert_reference_allows("SNPC.nothing-fetched", "sample_value")


# ------------------------------------------------------------------------------- echo


def test_echo_of_a_number_written_otherwise_is_informational():
    """data is "the details of the phone number": only the sample repeats it as sent."""
    def other_number(request):
        return in_tables_form(MDC, mdc_echo(request, phone=data(request)["PhoneNumber"] + "9"))

    url, [result] = against(FaultyTarget({MDC.name: other_number}), "MDC.echo.tables")
    check = assert_fails(result, "echo", url, verdict=Verdict.INFORMATIONAL, expected=("message.data = ",),
                         actual=("9\"}",))
    assert check.name == "step 1 echo data" and check.basis == "inferred"


def test_echo_allows_members_the_reply_adds():
    def more(request):
        reply = mdc_echo(request)
        reply["message"]["data"]["Extra"] = 1
        reply["message"]["extra"] = True
        return reply

    _, [result] = against(FaultyTarget({MDC.name: more}), "MDC.echo.tables")
    assert_not_failed(result, "echo")


@shows_failing("echo")
def test_echo_fails_when_the_manual_dial_answer_drops_the_number():
    def no_number(request):
        reply = mdc_echo(request)
        del reply["message"]["data"]["PhoneNumber"]
        return reply

    url, [result] = against(FaultyTarget({MDC.name: no_number}), "MDC.echo.tables")
    failing = assert_fails(result, "echo", url, only=False, expected=("message.data = ",),
                           actual=("no 'PhoneNumber'",))
    assert failing.name == "step 1 echo data" and failing.basis == "documented"
    sent = result.reproduce["frames"][0]
    phone = default_profile("ws://127.0.0.1:1/").fixtures.phone_number
    assert f'{{"PhoneNumber": "{phone}"}}' in failing.expected and phone in sent
    assert failing.requirements == (MDC.field("response.message.data").id,)
    _, [ok] = against(FaultyTarget(honest()), "MDC.echo.tables")
    assert_not_failed(ok, "echo")
    assert_reference_passes("MDC.echo.tables", "echo")


def test_echo_fails_when_the_outcome_answer_omits_the_call_id():
    def no_callid(request):
        return sample_reply(SCOC, message={"response": {"success": True}})

    url, [result] = against(FaultyTarget({SCOC.name: no_callid}), "SCOC.outcome.tables")
    callid = default_profile(url).fixtures.call_id
    failing = assert_fails(result, "echo", url, only=False,
                           expected=(f"message.callid = {callid!r}",), actual=("null",))
    assert failing.name == "step 1 echo data.callid"
    assert failing.requirements == (SCOC.field("response.message.callid").id,)


def test_an_answer_for_another_call_is_no_answer():
    """The call id pairs answer and request: an answer for call 999 leaves ours unanswered."""
    def other_call(request):
        return sample_reply(SCOC, message={"callid": "999", "response": {"success": True}})

    url, [result] = against(FaultyTarget({SCOC.name: other_call}), "SCOC.outcome.tables")
    callid = default_profile(url).fixtures.call_id
    assert_fails(result, "answered", url, only=False,
                 expected=(f"a reply (on {SCOC.response_subtopic!r}",),
                 actual=(f"no {SCOC.response_subtopic!r} reply for callid {callid!r} within 0.3s",
                         "1 other frame(s) received"))
    assert '"callid": "999"' in received(result)[0]


# ---------------------------------------------------------------- at_most and consent


def grmdc_target(*, extra: int = 0, consent_flip: bool = False) -> FaultyTarget:
    def grmdc(request):
        n, consent, _ = asked(request)
        return contacts_reply([contact(i, consent ^ consent_flip) for i in range(n + extra)])

    return FaultyTarget({GRMDC.name: grmdc})


@shows_failing("at_most")
def test_at_most_fails_when_more_contacts_come_than_asked_for():
    url, [result] = against(grmdc_target(extra=1), "GRMDC.count")
    failing = assert_fails(result, "at_most", url, expected=("at most 1 contact(s)",), actual=("2 contact(s)",))
    assert failing.requirements == (GRMDC.field("request.data.NumberOfContactsRequired").id,)
    assert "row NumberOfContactsRequired" in failing.doc
    assert received(result)[0].count('"AccountNumber"') == 2
    _, [ok] = against(grmdc_target(), "GRMDC.count")
    assert_not_failed(ok, "at_most")
    assert_reference_passes("GRMDC.count", "at_most")


@shows_failing("consent")
def test_consent_fails_when_contacts_of_the_other_consent_type_come():
    url, [result] = against(grmdc_target(consent_flip=True), "GRMDC.count")
    failing = assert_fails(result, "consent", url, expected=("only contacts with Consent True",),
                           actual=("1 other: ", f'"Consent": "{NO}"'))
    assert set(failing.requirements) == {GRMDC.field("request.data.Consent").id,
                                         GRMDC.field("response.message.response.Consent").id}
    _, [ok] = against(grmdc_target(), "GRMDC.count")
    assert_not_failed(ok, "consent")
    assert_reference_passes("GRMDC.count", "consent")


def test_consent_fails_for_non_pewc_contacts_too():
    """SNPC.skip.tables, step 1 asks for Consent false; the fake hands out consenting ones."""
    def grmdc(request):
        return contacts_reply([contact(7, consent=True)])

    url, [result] = against(FaultyTarget({GRMDC.name: grmdc, SNPC.name: sample_reply(SNPC, 0)}),
                            "SNPC.skip.tables")
    assert_fails(result, "consent", url, only=False, expected=("only contacts with Consent False",),
                 actual=("1 other: ", f'"Consent": "{YES}"'))


# ------------------------------------------------------- held_again, disjoint, not_returned


def refetch_target(*, forget: bool) -> FaultyTarget:
    """GRMDC: a new contact per request; the re-fetch returns them (or, faulty, new ones:
    ReservedContacts ignored)."""
    held: list[dict[str, Any]] = []
    fresh = itertools.count()

    def grmdc(request):
        n, consent, reserved = asked(request)
        if reserved and not forget:
            return contacts_reply(held[:n])
        if reserved:
            return contacts_reply([contact(next(fresh), consent)])
        new = [contact(next(fresh), consent) for _ in range(min(n, 1))]
        held.extend(new)
        return contacts_reply(new)

    return FaultyTarget({GRMDC.name: grmdc})


@shows_failing("held_again")
def test_held_again_fails_when_the_refetch_omits_the_held_contact():
    url, [result] = against(refetch_target(forget=True), "GRMDC.refetch")
    held = contact(1)["AccountNumber"]
    failing = assert_fails(result, "held_again", url, expected=(f'the contacts reserved earlier ["{held}"]',),
                           actual=(f'missing: ["{held}"]', "the agent did not hold"))
    assert failing.name == "step 3 held_again"
    assert failing.doc == "Get Reserved Manual Dial Contact: Data Parameters table, row ReservedContacts"
    assert len(result.reproduce["frames"]) == 3


def test_held_again_is_informational_when_a_capped_refetch_shows_older_contacts():
    """A target capping a re-fetch at one contact, oldest first: the new one is not shown."""
    held: list[dict[str, Any]] = [contact(50)]
    fresh = itertools.count()

    def grmdc(request):
        _n, consent, reserved = asked(request)
        if reserved:
            return contacts_reply(held[:1])
        held.append(contact(next(fresh), consent))
        return contacts_reply(held[-1:])

    _, [result] = against(FaultyTarget({GRMDC.name: grmdc}), "GRMDC.refetch")
    check = next(c for c in result.checks if "held_again" in c.name)
    assert check.verdict is Verdict.INFORMATIONAL and "a cap may apply" in check.actual
    _, [ok] = against(refetch_target(forget=False), "GRMDC.refetch")
    assert_not_failed(ok, "held_again")
    assert_reference_passes("GRMDC.refetch", "held_again")


def exclusive_target(*, share: bool) -> FaultyTarget:
    """GRMDC: each agent gets contacts keyed by its id (or, faulty, everyone the same)."""
    agents: dict[str, int] = {}

    def grmdc(request):
        n, consent, _ = asked(request)
        base = 0 if share else 100 * agents.setdefault(member(data(request), "AgentID"), len(agents))
        return contacts_reply([contact(base + i, consent) for i in range(min(n, 3))])

    return FaultyTarget({GRMDC.name: grmdc})


@shows_failing("disjoint")
def test_disjoint_fails_when_two_agents_get_the_same_contact():
    url, [result] = against(exclusive_target(share=True), "GRMDC.exclusive", make_profile=two_agents)
    shared = contact(0)["AccountNumber"]
    failing = assert_fails(result, "disjoint", url, expected=("no contact held by both agents",),
                           actual=("held by both: ", shared))
    assert failing.name == "step 2 disjoint"
    assert [c.name for c in result.checks if c.verdict is Verdict.FAIL] == [
        "step 2 disjoint", "step 3 disjoint"]
    assert len(result.reproduce["frames"]) == 3
    _, [ok] = against(exclusive_target(share=False), "GRMDC.exclusive", make_profile=two_agents)
    assert_not_failed(ok, "disjoint")
    assert_reference_passes("GRMDC.exclusive", "disjoint", make_profile=two_agents)


def test_two_agent_cases_are_not_run_with_one_agent():
    _, [result] = against(exclusive_target(share=True), "GRMDC.exclusive")
    assert result.verdict is Verdict.INFORMATIONAL and "two distinct agents" in result.not_run


def test_disjoint_does_not_call_different_contacts_without_an_account_the_same():
    agents: dict[str, int] = {}

    def grmdc(request):
        n, consent, _ = asked(request)
        base = 100 * agents.setdefault(member(data(request), "AgentID"), len(agents))
        out = [contact(base + i, consent) for i in range(min(n, 3))]
        for c in out:
            c.pop("AccountNumber")
        return contacts_reply(out)

    _, [result] = against(FaultyTarget({GRMDC.name: grmdc}), "GRMDC.exclusive", make_profile=two_agents)
    disjoint = [c for c in result.checks if LABELS["disjoint"] in c.name]
    assert disjoint and all(c.verdict is Verdict.PASS for c in disjoint), [c.message() for c in disjoint]


def skip_target(*, closes: bool = True, once: bool = True, refuses: bool = False) -> FaultyTarget:
    """GRMDC and SMDC: a skipped contact is closed (or, faulty, handed out again); a second
    skip of it is refused (or, faulty, succeeds again; ``refuses``: even the first)."""
    skipped: set[str] = set()
    pool = [contact(i) for i in range(3)]

    def grmdc(request):
        n, _consent, _ = asked(request)
        return contacts_reply([c for c in pool if not closes or c["AccountNumber"] not in skipped][:n])

    def smdc(request):
        account = member(data(request), "AccountNumber")
        success = (account not in skipped or not once) and not refuses
        skipped.add(account)
        return sample_reply(SMDC, message={"response": {"success": success}})

    return FaultyTarget({GRMDC.name: grmdc, SMDC.name: smdc})


@shows_failing("not_returned")
def test_not_returned_fails_when_a_skipped_contact_is_handed_out_again():
    url, [result] = against(skip_target(closes=False), "SMDC.skip.tables")
    closed = contact(0)["AccountNumber"]
    failing = assert_fails(result, "not_returned", url,
                           expected=(f'none of the closed contacts ["{closed}"]',),
                           actual=(f'handed out again: ["{closed}"]',))
    assert failing.name == "step 4 not_returned"
    assert failing.doc == "Skip Manual Dial Contact: Overview (the skipped contact is closed)"
    assert [c.name for c in result.checks if c.verdict is Verdict.FAIL] == [
        "step 4 not_returned", "step 5 not_returned"]
    _, [ok] = against(skip_target(closes=True), "SMDC.skip.tables")
    assert_not_failed(ok, "not_returned")
    assert_reference_passes("SMDC.skip.tables", "not_returned")


# ------------------------------------------------------------ error_case, reply_subtopic


def scoc_success_for_any_call(request):
    return sample_reply(SCOC, message={"callid": member(data(request), "callid"), "response": {"success": True}})


@shows_failing("error_case")
def test_error_case_fails_when_an_empty_call_id_gets_a_success():
    error = SCOC_ERRORS["SCOC.error.1"]
    url, [result] = against(FaultyTarget({SCOC.name: scoc_success_for_any_call}), "SCOC.error.empty-callid")
    failing = assert_fails(result, "error_case", url,
                           expected=(f"a refusal carrying the message {error.message!r}",),
                           actual=("it reports success", f"no {error.message!r} in it",
                                   '"success": true'))
    assert failing.requirements == ("SCOC.error.1",)
    assert "Possible Error Cases table" in failing.doc and error.condition in failing.doc
    _, [ok] = against(FaultyTarget(honest()), "SCOC.error.empty-callid")
    assert_not_failed(ok, "error_case")
    assert_reference_passes("SCOC.error.empty-callid", "error_case")


def test_error_case_fails_when_the_refusal_lacks_the_documented_text():
    def silent_refusal(request):
        return sample_reply(SCOC, message={"callid": "", "response": {"success": False}})

    error = SCOC_ERRORS["SCOC.error.1"]
    url, [result] = against(FaultyTarget({SCOC.name: silent_refusal}), "SCOC.error.empty-callid")
    failing = assert_fails(result, "error_case", url, expected=(repr(error.message),),
                           actual=(f"no {error.message!r} in it",))
    assert "it reports success" not in failing.actual


def test_error_case_fails_when_no_reply_comes():
    url, [result] = against(FaultyTarget(honest(), fault="hang"), "SCOC.error.empty-callid")
    assert_fails(result, "error_case", url, only=False, expected=("a WS_Error reply",),
                 actual=("reply for callid '' within 0.3s",))


def test_error_case_says_what_arrived_when_the_reply_is_not_json():
    _url, [result] = against(FaultyTarget(honest(), fault="non_json"), "SCOC.error.empty-callid")
    failing = next(c for c in result.checks if LABELS["error_case"] in c.name)
    assert failing.verdict is Verdict.FAIL
    assert "not JSON" in failing.actual or "this is not JSON {" in failing.actual, failing.message()


@shows_failing("refused")
def test_refused_fails_when_a_connection_without_the_credentials_is_served():
    """auth.without-credentials: the profile declares a token; the fake serves anyone."""
    target = FaultyTarget(honest())
    url, [result] = against(target, "auth.without-credentials", make_profile=credentialed_profile)
    failing = assert_fails(result, "refused", url, expected=("the request not served without the credentials",),
                           actual=("served: ", '"PhoneNumber"'))
    assert failing.requirements == ("profile.headers",) and failing.doc.startswith("target profile:")
    assert [h.get("Authorization") for h in target.handshake_headers] == [None]
    assert TOKEN not in str(result.to_json())
    _, [ok] = against(FaultyTarget(honest(), reject=401), "auth.without-credentials", make_profile=credentialed_profile)
    assert_not_failed(ok, "refused")
    assert "HTTP 401" in next(c.actual for c in ok.checks)

    async def reference() -> CaseResult:
        async with running_server(token=TOKEN) as ref:
            return await CaseRunner(SPEC, credentialed_profile(ref)).run(CASES["auth.without-credentials"])

    assert_not_failed(asyncio.run(asyncio.wait_for(reference(), BOUND)), "refused")


def test_the_credentials_case_is_not_run_without_credentials_in_the_profile():
    target = FaultyTarget(honest())
    _, [result] = against(target, "auth.without-credentials")
    assert result.verdict is Verdict.INFORMATIONAL and "credentials" in result.not_run
    assert target.received == []


@shows_failing("reply_subtopic")
def test_reply_subtopic_is_informational_when_the_error_reply_comes_on_another_subtopic():
    """The error_case, on another subtopic: inferred, so INFORMATIONAL, never FAIL."""
    url, [result] = against(FaultyTarget(honest(), fault="wrong_subtopic"), "SCOC.error.empty-callid")
    wrong = f"{SCOC.response_subtopic}Wrong"
    failing = assert_fails(result, "reply_subtopic", url, verdict=Verdict.INFORMATIONAL,
                           expected=(repr(SCOC.response_subtopic),), actual=(repr(wrong),))
    assert failing.basis == "inferred" and failing.doc.startswith("inferred:")
    assert [c.verdict for c in result.checks if LABELS["error_case"] in c.name] == [Verdict.PASS]
    assert f'"subtopic": "{wrong}"' in received(result)[0]
    _, [ok] = against(FaultyTarget(honest()), "SCOC.error.empty-callid")
    assert_not_failed(ok, "reply_subtopic")
    assert_reference_passes("SCOC.error.empty-callid", "reply_subtopic")


def test_an_inferred_case_never_fails_on_a_data_check():
    """SMDC.skip.wrong-phone is inferred: a success for a mismatched phone is INFORMATIONAL."""
    def grmdc(request):
        return in_tables_form(GRMDC, contacts_reply([contact(1)]))

    url, [result] = against(FaultyTarget({GRMDC.name: grmdc, SMDC.name: smdc_success_always}),
                            "SMDC.skip.wrong-phone")
    failing = assert_fails(result, "not_success", url, verdict=Verdict.INFORMATIONAL,
                           expected=("a reply that is not a success",), actual=("a success reply",))
    assert failing.basis == "inferred"


# ------------------------------------------------------------------ transport faults


TRANSPORT_FAULTS = {
    # fault: (FaultyTarget options, response timeout, words of the reason, a received frame)
    "close": ({}, RESPONSE_TIMEOUT,
              (f"connection closed before {MDC.response_subtopic!r} reply", "1011", "fault injected"), None),
    "non_json": ({}, RESPONSE_TIMEOUT,
                 (f"no {MDC.response_subtopic!r} reply within 0.3s", "1 other frame(s) received"),
                 "this is not JSON {"),
    "flood": ({"flood": 1100}, 5.0,
              (f"1000 frames without {MDC.response_subtopic!r} reply; stopped reading",), '"subtopic": "Noise"'),
    "wrong_subtopic": ({}, RESPONSE_TIMEOUT,
                       (f"no {MDC.response_subtopic!r} reply within 0.3s", "1 other frame(s) received"),
                       f'"subtopic": "{MDC.response_subtopic}Wrong"'),
    "late": ({"delay": 3.0}, RESPONSE_TIMEOUT, (f"no {MDC.response_subtopic!r} reply within 0.3s",), None),
}


@pytest.mark.parametrize("fault", sorted(TRANSPORT_FAULTS))
def test_a_transport_fault_fails_the_case_and_the_next_case_still_runs(fault):
    options, response, reason, frame = TRANSPORT_FAULTS[fault]
    target = FaultyTarget(honest(), fault=fault, times=1, **options)
    started = time.perf_counter()
    url, [broken, following] = against(target, "MDC.echo.tables", "MDC.form.page", response=response)
    assert time.perf_counter() - started < 5
    failing = assert_fails(broken, "answered", url, only=False,
                           expected=(f"a reply with subtopic {MDC.response_subtopic!r}",), actual=reason)
    assert failing.name == "step 1 answered"
    if frame is None:
        assert received(broken) == []
    else:
        assert any(frame in text for text in received(broken)), received(broken)[:3]
    assert_not_failed(following, "answered")
    assert target.connections == 2  # the next case got a connection of its own


def test_a_run_against_a_hanging_target_stays_bounded():
    ids = ("MDC.form.tables", "SMDC.missing.OutcomeId", "SCOC.error.empty-callid")
    target = FaultyTarget(honest(), fault="hang")
    started = time.perf_counter()
    _url, results = against(target, *ids)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, elapsed
    assert [r.verdict for r in results] == [Verdict.FAIL] * 3
    for r in results:
        assert r.frames and r.reproduce and r.reproduce["frames"]
        assert "within 0.3s" in r.detail
    assert len(target.received) == 4  # SMDC.missing.OutcomeId sends two requests


# --------------------------------------------------------------- none_withheld, only_own


def withholding_target(*, withholds: bool) -> FaultyTarget:
    """GRMDC: contacts for a request in the tables' form; for the page's form none (a fault)."""
    def grmdc(request):
        n, consent, reserved = asked(request)
        page = "NumberofContactsRequired" in data(request)
        if reserved or (page and withholds):
            return contacts_reply([])
        return contacts_reply([contact(700 + i, consent) for i in range(min(n, 1))])

    return FaultyTarget({**honest(), GRMDC.name: grmdc})


@shows_failing("none_withheld")
def test_none_withheld_fails_when_the_page_form_gets_nothing_while_contacts_remain():
    url, [result] = against(withholding_target(withholds=True), "GRMDC.count.page")
    failing = assert_fails(result, "none_withheld", url, expected=("the earlier request served as this one is",),
                           actual=("the earlier request got none; this one got 1",))
    assert failing.name == "step 2 none_withheld" and failing.requirements == ("GRMDC.sample.request.1",)
    _, [ok] = against(withholding_target(withholds=False), "GRMDC.count.page")
    assert ok.verdict is not Verdict.FAIL and ok.not_run is None, ok.detail
    assert_reference_allows("GRMDC.count.page", "answered")


def test_a_target_with_no_contact_at_all_is_not_run_not_passed():
    def grmdc(request):
        return contacts_reply([])

    _, [result] = against(FaultyTarget({GRMDC.name: grmdc}), "GRMDC.count")
    assert result.verdict is Verdict.INFORMATIONAL and "no contact" in result.not_run, result.detail


def broadcasting_target(*, broadcasts: bool) -> FaultyTarget:
    """ManualDialCall answered on the asking connection (and, a fault, on every other one)."""
    target = FaultyTarget(honest())
    if broadcasts:
        target.broadcast = True
    return target


@shows_failing("only_own")
def test_only_own_is_informational_when_a_reply_goes_to_every_connection():
    """No page says where a reply may not go (the source row speaks of broadcasting): seen
    and shown, never a FAIL on its own."""
    url, [result] = against(broadcasting_target(broadcasts=True), "MDC.own-connection")
    seen = assert_fails(result, "only_own", url, verdict=Verdict.INFORMATIONAL, only=False,
                        expected=("no reply to the other connection",), actual=("such frame(s)",))
    assert seen.name == "step 3 only_own" and seen.basis == "inferred"
    _, [ok] = against(broadcasting_target(broadcasts=False), "MDC.own-connection")
    assert_not_failed(ok, "only_own")
    assert_reference_passes("MDC.own-connection", "only_own")


@shows_failing("not_error")
def test_not_error_fails_when_the_profiles_call_is_called_invalid():
    """SCOC.outcome.tables: the profile's call refused as an unknown call id."""
    def unknown_everything(request):
        callid = member(data(request), "callid")
        error = SCOC_ERRORS["SCOC.error.2"]
        return sample_reply(SCOC, message={"callid": callid, "response": {"success": False, "msg": error.message}})

    url, [result] = against(FaultyTarget({SCOC.name: unknown_everything}), "SCOC.outcome.tables")
    failing = assert_fails(result, "not_error", url, only=False, expected=("no 'Invalid Call ID.'",),
                           actual=("refused as 'Invalid Call ID.'",))
    assert failing.requirements == ("SCOC.error.2", "profile.fixtures")
    success = next(c for c in result.checks if c.name == "step 1 success")
    assert success.verdict is Verdict.INFORMATIONAL  # a refusal of another kind the pages leave open
    _, [ok] = against(FaultyTarget(honest()), "SCOC.outcome.tables")
    assert_not_failed(ok, "not_error")
    assert_reference_passes("SCOC.outcome.tables", "not_error")


def test_a_refused_repeat_outcome_is_no_fail():
    """A long-lived target may refuse a second outcome for one call, in a shape of its own."""
    def once(request):
        return {"channel": "LCM", "topic": "Webservice", "subtopic": "CallError",
                "message": {"error": {"type": "WS_Error", "message": "outcome already set"}}}

    _, [result] = against(FaultyTarget({SCOC.name: once}), "SCOC.outcome.tables")
    assert result.verdict is Verdict.INFORMATIONAL and result.not_run is None, result.detail


def test_held_again_takes_a_refused_shortfall_as_a_choice_but_not_an_empty_answer():
    """Asked for 1000 reserved contacts: refusing (the agent holds fewer) is the target's
    choice; answering with none at all, though the agent holds one, is a FAIL."""
    def target(shortfall: Any) -> FaultyTarget:
        fresh = itertools.count()

        def grmdc(request):
            _n, consent, reserved = asked(request)
            if reserved:
                return shortfall
            return contacts_reply([contact(next(fresh), consent)])

        return FaultyTarget({GRMDC.name: grmdc})

    refusal = sample_reply(GRMDC, message={"error": {"type": "WS_Error", "message": "fewer contacts held"}})
    _, [refused] = against(target(refusal), "GRMDC.refetch")
    assert refused.verdict is not Verdict.FAIL, refused.detail
    url, [empty] = against(target(contacts_reply([])), "GRMDC.refetch")
    assert_fails(empty, "held_again", url, expected=("the contacts reserved earlier",), actual=("missing",))
