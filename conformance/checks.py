"""The checks a case step can run on a reply: pure functions, no I/O.

Each check takes the step's context and its parameters from the case file and
returns one :class:`CheckResult` that names the requirement ids, says whether the
requirement is documented or inferred, where the docs say so, what was expected and
what arrived. Doc facts (names, messages, sample values) come from the spec.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .messages import items, lookup, member, to_table_type
from .protocol import Exchange, Status
from .refusals import error_sign, strings, successes
from .results import CheckResult, Verdict
from .spec import Api, Spec
from .validation import judge

Check = Callable[["StepContext", Any], CheckResult]
SUCCESS_PATH = "response.message.response.success"
PROFILE_CREDENTIALS = "profile.headers"
"""The requirement a credentials check names: the target profile's declaration, not a page."""
PROFILE_FIXTURES = "profile.fixtures"
"""The requirement a fixture names: the target profile says the call exists."""


@dataclass
class StepContext:
    """What a check may look at: the spec, the API, the request sent and the exchange."""

    spec: Spec
    api: Api
    request: Any
    exchange: Exchange
    basis: str
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> Any:
        """The reply's ``message`` member (None when there was no parsed reply)."""
        reply = self.exchange.message
        return reply.get("message") if isinstance(reply, dict) else None

    def result(
        self,
        name: str,
        ok: bool,
        requirements: tuple[str, ...] | list[str],
        doc: str,
        expected: str,
        actual: str,
        *,
        basis: str | None = None,
        verdict: Verdict | None = None,
        discrepancies: tuple[str, ...] = (),
    ) -> CheckResult:
        basis = basis or self.basis
        if verdict is None:
            verdict = Verdict.PASS if ok else Verdict.FAIL
        if verdict is Verdict.FAIL and basis == "inferred":
            verdict = Verdict.INFORMATIONAL  # an inferred requirement never fails on its own
        return CheckResult(name, verdict, tuple(requirements), basis, doc, expected, actual, discrepancies)


def _show(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _arrived(ctx: StepContext) -> str:
    """What came back, in words: no reply (and why, with the first other frame), or a frame
    that is no JSON message."""
    ex = ctx.exchange
    if not ex.answered:
        other = ex.unmatched[0] if ex.unmatched else None
        return ex.reason + (f"; the first: {_frame(other)}" if other is not None else "")
    return _frame(ex.response)


def _frame(event: Any) -> str:
    problem = getattr(event, "problem", None)
    text = getattr(event, "text", "")
    if problem is None:
        return _show(text)
    return f"a frame that is not a JSON message ({problem}): {_show(text)}"


def _page(ctx: StepContext, where: str) -> str:
    return f"{ctx.api.title}: {where}"


def answered(ctx: StepContext, params: Any = None) -> CheckResult:
    """The request got a reply on the documented response subtopic, in time (a request the
    tables forbid: a reply of any shape, a refusal on a subtopic of its own included)."""
    ex = ctx.exchange
    wanted = ex.expect_subtopic
    reply = ex.message or {}
    elsewhere = ex.answered and not ex.refusal and wanted is not None and reply.get("subtopic") != wanted
    if ex.refusal or wanted is None:
        expected = f"a reply (on {wanted!r} or a refusal of its own)" if wanted else "a reply"
    else:
        expected = f"a reply with subtopic {wanted!r}"
    if not ex.answered:
        actual = _arrived(ctx)
    elif elsewhere:
        actual = f"a refusal on the subtopic {reply.get('subtopic')!r}: {_show(reply)}"
    else:
        actual = "it did"
    return ctx.result(
        "answered",
        ex.answered and not elsewhere,
        [ctx.api.envelope_id("response", "subtopic")],
        _page(ctx, "Response Parameters table, row subtopic"),
        expected,
        actual,
        basis=(params or {}).get("basis") if isinstance(params, dict) else None,
    )


def schema(ctx: StepContext, params: Any = None) -> CheckResult:
    """The reply follows the response tables (PASS), only the samples (NON-STRICT), or neither.

    A value that departs only from a format generalised from sample values (a time, a
    phone number, an LCM key: the tables say String) is INFORMATIONAL.
    """
    reply = ctx.exchange.message
    j = judge(reply, ctx.api.name, "response")
    verdict = {"pass": Verdict.PASS, "non_strict": Verdict.NON_STRICT, "fail": Verdict.FAIL}[j.verdict]
    if verdict is Verdict.PASS and j.inferred:
        verdict = Verdict.INFORMATIONAL
    shown = j.lenient if j.verdict == "fail" else j.strict or j.inferred
    reqs = sorted({v.requirement for v in shown if v.requirement}) or [
        ctx.api.envelope_id("response", "message")
    ]
    actual = "; ".join(f"{v.path}: {v.message}" for v in shown[:6]) or "a conforming reply"
    return ctx.result(
        "schema",
        True,
        reqs,
        _page(ctx, "Response Parameters and Message Parameters tables, Sample Response"),
        "a reply as the response tables write it",
        actual,
        verdict=verdict,
        discrepancies=j.discrepancies,
    )


def _success_requirement(ctx: StepContext) -> tuple[list[str], str]:
    try:
        return [ctx.api.field(SUCCESS_PATH).id], _page(
            ctx, "Message Parameters table, row success"
        )
    except KeyError:
        sample = ctx.api.sample_responses[0]
        return [sample.id], _page(ctx, f"{sample.heading} (message.response.success)")


def success(ctx: StepContext, expected: bool) -> CheckResult:
    """message.response.success is the expected Boolean (in every result object)."""
    found = successes(ctx.message)
    reqs, doc = _success_requirement(ctx)
    ok = bool(found) and all(f is expected for f in found)
    return ctx.result(
        "success", ok, reqs, doc, f"response.success {json.dumps(expected)}",
        _show(found[0] if len(found) == 1 else found) if found else "no response.success member",
    )


def _flagged(api: Api) -> bool:
    """Whether the page gives its answer a success flag, in a table row or a sample."""
    return any(f.path == SUCCESS_PATH for f in api.fields()) or any(
        lookup(s.message.get("message"), "response.success") is not None for s in api.sample_responses
    )


def refusal_sign(api: Api, reply: Any) -> str | None:
    """How a reply says it refuses the request, whatever its shape, or None.

    A reply on a subtopic other than the API's response subtopic, or a message with a
    sign of refusal (:func:`conformance.refusals.error_sign`).
    """
    if not isinstance(reply, dict):
        return None
    if reply.get("subtopic") != api.response_subtopic:
        return f"a reply on the subtopic {_show(reply.get('subtopic'))}"
    return error_sign(reply.get("message"))


def _served(ctx: StepContext) -> bool:
    """Whether the reply serves the request: no sign of refusal, and a success flag that is
    true or, for an API whose answer carries no success flag, the API's documented answer."""
    if refusal_sign(ctx.api, ctx.exchange.message) is not None:
        return False
    flags = [f for f in successes(ctx.message) if f is not None]
    if flags or _flagged(ctx.api):
        return any(f is True for f in flags)
    return judge(ctx.exchange.message, ctx.api.name, "response").verdict != "fail"


def not_success(ctx: StepContext, params: dict[str, Any]) -> CheckResult:
    """A request the tables forbid is refused: a reply comes, and it does not serve the request."""
    reqs = params.get("requirements", [ctx.api.envelope_id("request", "data")])
    doc = params.get("doc", _page(ctx, "Data Parameters table"))
    if not isinstance(ctx.exchange.message, dict):
        # Silence or a close is no success (no page says such a request is answered; whether
        # the channel went on serving is the next request's check); a frame that is no
        # message is.
        silent = ctx.exchange.refusal and ctx.exchange.status in (Status.TIMEOUT, Status.CLOSED)
        return ctx.result(
            "not_success", False, reqs, doc, "a reply refusing the request", _arrived(ctx),
            verdict=Verdict.INFORMATIONAL if silent else None,
            basis="inferred" if silent else None,
        )
    ok = not _served(ctx)
    served = "a success reply: " if _flagged(ctx.api) else "the documented answer, as to a valid request: "
    return ctx.result(
        "not_success", ok, reqs, doc, "a reply that is not a success",
        served + _show(ctx.message) if not ok else "refused",
    )


def sample_value(ctx: StepContext, params: dict[str, Any]) -> CheckResult:
    """A member of the reply holds the value a doc sample shows for the same situation.

    A sample value illustrates (a table row gives only the member's type and meaning), so
    another value, or none where the row is not mandatory, is INFORMATIONAL at worst.
    """
    sample = next(s for s in ctx.api.sample_responses if s.id == params["sample"])
    path = params["path"]
    want = lookup(sample.message.get("message"), path)
    got = lookup(ctx.message, path)
    return ctx.result(
        f"sample_value {path}", got == want, [sample.id],
        f"inferred: {_page(ctx, f'{sample.heading}, message.{path}')} shows this value as an example",
        _show(want), _show(got), basis="inferred",
    )


def echo(ctx: StepContext, params: dict[str, Any]) -> CheckResult:
    """A member of the reply repeats a member of the request.

    Members the reply adds are allowed (no table forbids them). A row of type JSON Object
    (ManualDialCall's ``data``: "the details of the phone number") names what it holds, not
    how it is written: only the sample repeats the values as sent, so a value written
    otherwise (a phone number normalised, say) is INFORMATIONAL, while a member sent and
    not echoed at all FAILs.
    """
    sent = lookup(ctx.request, params["request"])
    got = lookup(ctx.message, params["reply"])
    row = ctx.api.field(f"response.message.{params['reply']}")
    missing = _absent(sent, got)
    basis = "inferred" if row.json_type == "object" else None
    doc = _page(ctx, f"Message Parameters table, row {row.name}; Sample Response")
    if missing is None and basis == "inferred":
        doc = f"inferred: {doc} (the sample repeats the value as sent; the row only names it)"
    return ctx.result(
        f"echo {params['request']}", _covers(got, sent), [row.id], doc,
        f"message.{params['reply']} = {_show(sent)}",
        f"{_show(got)} (no {missing})" if missing else _show(got),
        basis=basis if missing is None else "documented",
    )


def _covers(got: Any, sent: Any) -> bool:
    """Whether ``got`` holds everything ``sent`` holds (members beyond it are allowed)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(k in got and _covers(got[k], v) for k, v in sent.items())
    return bool(got == sent)


def _absent(sent: Any, got: Any) -> str | None:
    """The first member of ``sent`` that ``got`` lacks altogether, or None."""
    if got is None and sent is not None:
        return "such member"
    if isinstance(sent, dict) and isinstance(got, dict):
        for key, value in sent.items():
            if key not in got:
                return repr(key)
            if (inner := _absent(value, got[key])) is not None:
                return inner
    return None


def handed_out(ctx: StepContext) -> list[Any]:
    """The contacts a reply hands out (none for a refusal): what a trace's state learns from it."""
    return _contacts(ctx)


def contact_ids(value: Any) -> set[str]:
    """The identities of the contacts in a value, as the state checks tell contacts apart."""
    return _accounts(value)


def _contacts(ctx: StepContext) -> list[Any]:
    """The contacts a reply hands out: none when it is a refusal (its body is no contact)."""
    if refusal_sign(ctx.api, ctx.exchange.message) is not None:
        return []
    return items(member(ctx.message, "response"))


def at_most(ctx: StepContext, count: Any) -> CheckResult:
    """No more contacts than the request asked for."""
    row = ctx.api.field("request.data.NumberOfContactsRequired")
    n = len(_contacts(ctx))
    return ctx.result(
        "at_most", n <= int(count), [row.id], _page(ctx, f"Data Parameters table, row {row.name}"),
        f"at most {count} contact(s)", f"{n} contact(s)",
    )


def consent(ctx: StepContext, wanted: Any) -> CheckResult:
    """Every contact handed out is of the consent type asked for."""
    row = ctx.api.field("request.data.Consent")
    flag = to_table_type(row, wanted)
    reply_row = ctx.api.field("response.message.response.Consent")
    wrong = [
        c for c in _contacts(ctx)
        if member(c, "Consent") is None or to_table_type(row, member(c, "Consent")) is not flag
    ]
    return ctx.result(
        "consent", not wrong, [row.id, reply_row.id], _page(ctx, "Data Parameters table, row Consent"),
        f"only contacts with Consent {flag}", f"{len(wrong)} other: {_show(wrong)}" if wrong else "as asked",
    )


def _accounts(value: Any) -> set[str]:
    """The contacts' identities: the LCM key, else the contact id, else the whole contact."""
    return {_identity(c) for c in items(value) if isinstance(c, dict)}


def _identity(contact: dict[str, Any]) -> str:
    account = member(contact, "AccountNumber")
    if account is not None:
        return str(account)
    contact_id = member(contact, "ContactID")
    return f"ContactID {contact_id}" if contact_id is not None else json.dumps(contact, sort_keys=True)


def not_returned(ctx: StepContext, params: dict[str, Any]) -> CheckResult:
    """A contact closed earlier is not handed out again."""
    closed = _accounts(params["contacts"])
    again = sorted(closed & _accounts(_contacts(ctx)))
    return ctx.result(
        "not_returned", not again, params["requirements"], params["doc"],
        "none of the closed contacts " + _show(sorted(closed)),
        "handed out again: " + _show(again) if again else "none",
    )


def held_again(ctx: StepContext, params: dict[str, Any]) -> CheckResult:
    """Contacts reserved to the agent come back when it asks for its reserved contacts.

    ``before``: what a re-fetch gave just before they were reserved. A target may cap how
    many it hands out at once, and no page says which come first, so a reply that holds
    others the agent held is INFORMATIONAL; one that holds none of them (new contacts, or
    nothing) is a FAIL.
    """
    got = _contacts(ctx)
    wanted = _accounts(params["contacts"])
    missing = sorted(wanted - _accounts(got))
    known = wanted | _accounts(params.get("before") or [])
    asked = member(ctx.request.get("data") if isinstance(ctx.request, dict) else None, "NumberOfContactsRequired")
    # Refusing to hand out more than the agent holds is the target's choice; refusing what it surely holds is not.
    refused = refusal_sign(ctx.api, ctx.exchange.message) is not None
    shortfall = refused and _asked_more(asked, len(wanted))
    capped = bool(missing) and (bool(_accounts(got) & known) or shortfall)
    return ctx.result(
        "held_again", not missing, params["requirements"], params["doc"],
        "the contacts reserved earlier " + _show(sorted(wanted)),
        (f"missing: {_show(missing)} among {len(got)} other reserved contact(s) (a cap may apply; the pages "
         "give no order)" if capped else f"missing: {_show(missing)}; got {len(got)} contact(s) the agent did "
         "not hold") if missing else "all of them",
        verdict=Verdict.INFORMATIONAL if capped else None,
        basis="inferred" if capped else None,
    )


def _asked_more(asked: Any, held: int) -> bool:
    try:
        return int(str(asked)) > held
    except ValueError:
        return True


def disjoint(ctx: StepContext, params: dict[str, Any]) -> CheckResult:
    """Two agents never hold the same contact."""
    both = sorted(_accounts(params["first"]) & _accounts(_contacts(ctx)))
    return ctx.result(
        "disjoint", not both, params["requirements"], params["doc"],
        "no contact held by both agents", "held by both: " + _show(both) if both else "none shared",
    )


def error_case(ctx: StepContext, error_id: str) -> CheckResult:
    """A documented error case: not a success, and the documented message text in the reply."""
    error = next(e for e in ctx.api.errors if e.id == error_id)
    doc = _page(ctx, f"Possible Error Cases table, {error.type} '{error.condition}'")
    reply = ctx.exchange.message
    if not isinstance(reply, dict):
        return ctx.result("error_case", False, [error.id], doc, f"a {error.type} reply", _arrived(ctx))
    refused = not any(f is True for f in successes(ctx.message))
    texts = _error_texts(error, ctx.request)
    has_text = any(t in s for s in strings(reply) for t in texts)
    problems = ([] if refused else ["it reports success"]) + ([] if has_text else [f"no {error.message!r} in it"])
    return ctx.result(
        "error_case", not problems, [error.id], doc,
        f"a refusal carrying the message {error.message!r} (or the Actual Error text {error.condition!r})",
        "; ".join(problems) + ": " + _show(reply) if problems else "as documented",
    )


def _error_texts(error: Any, request: Any) -> tuple[str, ...]:
    """The texts that say this error: its Message column, or its Actual Error column with
    a ``<placeholder>`` filled from the request's data (both columns are the page's)."""
    data = request.get("data") if isinstance(request, dict) else None
    actual = re.sub(r"<(\w+)>", lambda m: str(member(data, m.group(1).replace("_", "")) or ""), error.condition)
    return (error.message, actual)


def not_error(ctx: StepContext, error_id: str) -> CheckResult:
    """A request naming what the target profile says exists (its call) is not refused as a
    documented error case says (``Invalid Call ID.``); other refusals the pages leave open."""
    error = next(e for e in ctx.api.errors if e.id == error_id)
    texts = _error_texts(error, ctx.request)
    said = isinstance(ctx.exchange.message, dict) and any(t in s for s in strings(ctx.exchange.message)
                                                          for t in texts)
    return ctx.result(
        "not_error", not said, [error.id, PROFILE_FIXTURES],
        _page(ctx, f"Possible Error Cases table, {error.type} '{error.condition}'; the target profile's fixtures"),
        f"no {error.message!r}: the profile names this call as one the target knows",
        f"refused as {error.message!r}: {_show(ctx.exchange.message)}" if said else "not refused so",
    )


def refused(ctx: StepContext, params: Any = None) -> CheckResult:
    """Without the credentials the profile declares, the target does not serve the request.

    Refusing the handshake, closing, staying silent or answering with an error all pass;
    only a reply that serves the request (see :func:`not_success`) fails.
    """
    ex = ctx.exchange
    served = isinstance(ex.message, dict) and _served(ctx)
    if not isinstance(ex.message, dict):
        actual = ex.reason
    else:
        actual = ("served: " if served else "refused: ") + _show(ex.message)
    return ctx.result(
        "refused", not served, [PROFILE_CREDENTIALS],
        "target profile: headers taken from the environment are credentials the target requires",
        "the request not served without the credentials", actual,
    )


def reply_subtopic(ctx: StepContext, params: Any = None) -> CheckResult:
    """Our reading: an error reply comes on the API's response subtopic (docs leave it open)."""
    reply = ctx.exchange.message or {}
    got = reply.get("subtopic")
    want = ctx.api.response_subtopic
    return ctx.result(
        "reply_subtopic", got == want, [ctx.api.envelope_id("response", "subtopic")],
        "inferred: the docs do not give the shape of an error reply", repr(want), repr(got),
        basis="inferred",
    )


def none_withheld(ctx: StepContext, params: dict[str, Any]) -> CheckResult:
    """An earlier request that got no contact was not refused while contacts remained: this
    later request, asking the same in the tables' form, got none either."""
    earlier, now = items(params["earlier"]), _contacts(ctx)
    withheld = not earlier and bool(now)
    return ctx.result(
        "none_withheld", not withheld, params["requirements"], params["doc"],
        "the earlier request served as this one is", f"the earlier request got none; this one got {len(now)}"
        if withheld else "as served as this one",
    )


def only_own(ctx: StepContext, params: dict[str, Any]) -> CheckResult:
    """No frame on this connection answers a request sent on another one (marked by a value
    only that request carried). Inferred: no page says where else a reply may go."""
    marker = str(params["marker"])
    strays = [f.text for f in ctx.exchange.log.frames if f.direction == "received" and marker in f.text]
    return ctx.result(
        "only_own", not strays, params["requirements"], params["doc"],
        f"no reply to the other connection's request (the one carrying {marker!r}) here",
        f"{len(strays)} such frame(s): {_show(strays[0])}" if strays else "none",
        basis="inferred",  # no page says where else a reply may go
    )


CHECKS: dict[str, Check] = {
    "answered": answered,
    "schema": schema,
    "success": success,
    "not_success": not_success,
    "sample_value": sample_value,
    "echo": echo,
    "at_most": at_most,
    "consent": consent,
    "not_returned": not_returned,
    "held_again": held_again,
    "disjoint": disjoint,
    "error_case": error_case,
    "refused": refused,
    "reply_subtopic": reply_subtopic,
    "none_withheld": none_withheld,
    "not_error": not_error,
    "only_own": only_own,
}
"""Check names as the case files use them."""


FORGIVABLE = frozenset({"schema", "echo", "answered"})
"""Checks a refusal is excused from, where a request may be refused: its shape is open."""


def forgiven(ctx: StepContext, name: str, result: CheckResult) -> CheckResult | None:
    """The check's result made INFORMATIONAL when the reply is a refusal and the check only
    judges a shape (the docs leave a refusal's open); None when the result stands."""
    sign = refusal_sign(ctx.api, ctx.exchange.message)
    if sign is None or name not in FORGIVABLE or result.verdict not in (Verdict.FAIL, Verdict.NON_STRICT):
        return None
    return dataclasses.replace(
        result, verdict=Verdict.INFORMATIONAL, basis="inferred",
        doc=f"inferred: the docs leave the shape of a refusal open ({result.doc})",
        actual=f"a refusal ({sign}): {result.actual}",
    )


def run_check(ctx: StepContext, entry: Any) -> CheckResult:
    """Run one check entry of a case step: a name, or a mapping name → parameters.

    The mapping may also say ``basis: inferred`` and ``because: …`` (why: a registry id, a
    reading of ours): that check then rests on our inference, and never FAILs on its own.
    """
    if isinstance(entry, str):
        name, params, basis, because = entry, None, None, None
    else:
        basis, because = entry.get("basis"), entry.get("because")
        name, params = next((k, v) for k, v in entry.items() if k not in ("basis", "because"))
    if name not in CHECKS:
        raise KeyError(f"unknown check {name!r}; known: {', '.join(CHECKS)}")
    result = CHECKS[name](ctx, params)
    if ctx.exchange.refusal:  # a request that may be refused: a refusal's shape is open
        result = forgiven(ctx, name, result) or result
    if basis != "inferred":
        return result
    verdict = Verdict.INFORMATIONAL if result.verdict is Verdict.FAIL else result.verdict
    doc = f"inferred ({because}): {result.doc}" if because else f"inferred: {result.doc}"
    return dataclasses.replace(result, verdict=verdict, basis="inferred", doc=doc)
