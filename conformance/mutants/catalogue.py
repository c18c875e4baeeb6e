"""The mutant catalogue: faults a real implementer could ship, one per entry.

Each entry is a name (its area first), the spec requirement id of the doc row it
violates, a one-line description and its fault, built from the kinds of
:mod:`.faults`. Doc names here are data: what the fault gets wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeGuard

from ..server.inputs import Request
from ..server.outcomes import Answer, Failure, Outcome
from ..spec import load_spec
from . import state_faults as sf
from .edits import const, convert, copy, drop, rename, swap
from .faults import (
    UNGUARDED,
    Delivery,
    When,
    closing,
    crashing,
    late,
    mangling,
    refuse,
    reinterpret,
    replies,
    requests,
    rewrite,
    state,
)
from .targets import Mutant

GRMDC, SMDC, MDC = "GetReservedManualDialContact", "SkipManualDialContact", "ManualDialCall"
SNPC, SCOC = "SkipNonPEWCContact", "SetCallOutcomeWithComments"
RESPONSE = "message.response"
LATE_SECONDS = 1.0
"""How late the late mutant answers: past the response timeout of a mutation run."""
FLOOD_FRAMES = 1200
"""Frames sent before an answer by the flooding mutant: past the 1000 one exchange reads."""

_OUTCOME_PAGE = load_spec().api(SCOC)
_EMPTY, _UNKNOWN = ({e.id: e for e in _OUTCOME_PAGE.errors}[f"{_OUTCOME_PAGE.abbr}.error.{n}"] for n in (1, 2))
"""The Possible Error Cases rows: an empty call id, an unknown one."""


# ------------------------------------------------------------- what the faults pick out


def _call_refused(outcome: Outcome, *, empty: bool) -> TypeGuard[Failure]:
    """A refusal of an outcome for an empty (or an unknown) call id."""
    return (isinstance(outcome, Failure) and outcome.api == SCOC
            and outcome.text == (_EMPTY if empty else _UNKNOWN).message
            and (outcome.echo.get("callid") == "") == empty)


def actual_error(outcome: Outcome) -> Outcome:
    """Send the error table's "Actual Error" column as the message, not its Message column."""
    if _call_refused(outcome, empty=True):
        return replace(outcome, text=_EMPTY.condition)
    if _call_refused(outcome, empty=False):
        return replace(outcome, text=_UNKNOWN.condition.replace("<call_id>", str(outcome.echo["callid"])))
    return outcome


def _asks_reserved(d: Delivery) -> bool:
    return d.request is not None and d.request.api == GRMDC and d.request.data.get("ReservedContacts") is True


def _not_json(d: Delivery) -> bool:
    try:
        json.loads(d.frame)
    except (ValueError, RecursionError):
        return True
    return False


def _refusal(d: Delivery) -> bool:
    """A frame read as a request of a known API, then refused."""
    return d.exchange.api is not None and d.exchange.error is not None


def _answer_of(api: str) -> When:
    return lambda d: d.exchange.api == api and d.exchange.error is None


def _sent(request: Request, name: str) -> Any:
    data = request.envelope.get("data")
    return data.get(name) if isinstance(data, dict) else None


def _consent_words(request: Request) -> Mapping[str, Any]:
    """Only the JSON true and the word "true" mean consent; the sample's "Yes" does not."""
    return {**request.data, "Consent": False} if _sent(request, "Consent") == "Yes" else request.data


def _count_defaults(message: dict[str, Any]) -> dict[str, Any]:
    data = message.get("data")
    spellings = ("NumberOfContactsRequired", "NumberofContactsRequired")
    if message.get("subtopic") == GRMDC and isinstance(data, dict) and not any(s in data for s in spellings):
        message["data"] = {**data, spellings[0]: "1"}
    return message


def _phone_as_text(message: dict[str, Any]) -> dict[str, Any]:
    data = message.get("data")
    if message.get("subtopic") == MDC and isinstance(data, dict) and not isinstance(data.get("PhoneNumber"), str):
        message["data"] = {**data, "PhoneNumber": json.dumps(data.get("PhoneNumber"))}
    return message


def iso(doc_time: str) -> str:
    return datetime.strptime(doc_time, "%m/%d/%Y %H:%M:%S").isoformat()


def e164(phone: str) -> str:
    return phone if phone.startswith("+") else f"+{phone}"


_TRACE = [{"channel": "LCM", "topic": "WebService", "subtopic": "Trace", "message": {"line": n}}
          for n in range(FLOOD_FRAMES)]


def _flood(outcome: Outcome, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _TRACE + out if isinstance(outcome, Answer) and outcome.api == SCOC else out


# ------------------------------------------------------------------------------ catalogue

MUTANTS: tuple[Mutant, ...] = (
    # -- the envelope
    Mutant(name="envelope.topic-lowercase", requirement="GRMDC.response.envelope.topic",
           description="GetReservedManualDialContact answers with topic 'webservice', neither documented spelling",
           fault=rewrite(convert("", "topic", const("webservice")), api=GRMDC), fast=True),
    Mutant(name="envelope.channel-ui", requirement="GRMDC.response.envelope.channel",
           description="every answer goes out on channel 'UI', copied from the Manual Dial Call sample",
           fault=rewrite(convert("", "channel", const("UI")))),
    Mutant(name="envelope.subtopic-of-request", requirement="SNPC.response.envelope.subtopic",
           description="SkipNonPEWCContact answers under its request subtopic, not SkipNonPEWCContactResult",
           fault=rewrite(convert("", "subtopic", const(SNPC)), api=SNPC), fast=True),
    Mutant(name="envelope.no-topic", requirement="SMDC.response.envelope.topic",
           description="SkipManualDialContact answers carry no topic member",
           fault=rewrite(drop("", "topic"), api=SMDC, failures=False)),
    Mutant(name="envelope.channel-echoed", requirement="MDC.response.envelope.channel",
           description="ManualDialCall answers on the channel the request came on ('Amazon'), not LCM or UI",
           fault=rewrite(copy("message.channel", "channel"), api=MDC, failures=False)),
    Mutant(name="envelope.rejects-sample-topic", requirement="GRMDC.sample.request.1",
           description="only the tables' topic 'Webservice' is accepted: requests copied from the samples are refused",
           fault=refuse(lambda r: r.envelope.get("topic") == "WebService", "topic must be 'Webservice'")),
    # -- each API's fields: names, types, formats, presence, and the spellings accepted
    Mutant(name="fields.contactid-string", requirement="GRMDC.response.message.response.ContactID",
           description="ContactID is sent as a string (\"9\"), not a Number",
           fault=rewrite(convert(RESPONSE, "ContactID", str), api=GRMDC, failures=False)),
    Mutant(name="fields.contactid-camel", requirement="GRMDC.response.message.response.ContactID",
           description="the contact id is spelled 'contactId', neither ContactID nor ContactId",
           fault=rewrite(rename(RESPONSE, "ContactID", "contactId"), api=GRMDC, failures=False), fast=True),
    Mutant(name="fields.calltype-string", requirement="GRMDC.response.message.response.CallType",
           description="CallType is sent as a string (\"0\"), not a Number",
           fault=rewrite(convert(RESPONSE, "CallType", str), api=GRMDC, failures=False)),
    Mutant(name="fields.consent-boolean", requirement="GRMDC.response.message.response.Consent",
           description="a contact's Consent is a JSON Boolean, where the response table says String",
           fault=rewrite(convert(RESPONSE, "Consent", lambda v: str(v).casefold() in ("yes", "true")),
                         api=GRMDC, failures=False)),
    Mutant(name="fields.no-mode", requirement="GRMDC.response.message.response.Mode",
           description="contacts come without their mandatory Mode",
           fault=rewrite(drop(RESPONSE, "Mode"), api=GRMDC, failures=False)),
    Mutant(name="fields.success-string", requirement="SMDC.sample.response.1",
           description="SkipManualDialContact writes success as the string \"true\", not a Boolean",
           fault=rewrite(convert(RESPONSE, "success", json.dumps), api=SMDC, failures=False)),
    Mutant(name="fields.callid-number", requirement="SCOC.response.message.callid",
           description="the call id is echoed as a number (12345), where the table says String",
           fault=rewrite(convert("message", "callid", lambda v: int(v) if str(v).isdigit() else v), api=SCOC,
                         failures=False)),
    Mutant(name="fields.callid-renamed", requirement="SCOC.response.message.callid",
           description="the call id is echoed as 'callId', not callid",
           fault=rewrite(rename("message", "callid", "callId"), api=SCOC, failures=False)),
    Mutant(name="fields.outcome-response-array", requirement="SCOC.response.message.response",
           description="SetCallOutcomeWithComments wraps its response object in an array, as two other pages do",
           fault=rewrite(convert("message", "response", lambda v: [v]), api=SCOC, failures=False)),
    Mutant(name="fields.dial-data-string", requirement="MDC.response.message.data",
           description="ManualDialCall echoes data as a JSON-encoded string, not an object",
           fault=rewrite(convert("message", "data", json.dumps), api=MDC, failures=False)),
    Mutant(name="fields.rejects-sample-userid", requirement="SMDC.sample.request.1",
           description="SkipManualDialContact reads only the table's UserId and refuses the sample's UserID",
           fault=refuse(lambda r: _sent(r, "UserID") is not None, "UserId is missing", api=SMDC)),
    Mutant(name="fields.consent-yes-read-false", requirement="GRMDC.sample.request.1",
           description="the sample's Consent \"Yes\" is read as false (only true and \"true\" count)",
           fault=reinterpret(GRMDC, _consent_words), fast=True),
    Mutant(name="fields.rejects-numeric-outcome", requirement="SCOC.sample.request.1",
           description="SetCallOutcomeWithComments refuses the sample's numeric OutcomeId (the table says String)",
           fault=refuse(lambda r: isinstance(_sent(r, "OutcomeId"), int), "OutcomeID must be a string", api=SCOC)),
    # -- the echo laws
    Mutant(name="echo.table-values", requirement="MDC.response.message.Channel",
           description="ManualDialCall echoes the tables' channel, topic and subtopic, not the request's",
           fault=rewrite(convert("message", "Channel", const("LCM")), convert("message", "Topic", const("Webservice")),
                         convert("message", "Subtopic", const(MDC)), api=MDC, failures=False)),
    Mutant(name="echo.channel-topic-swapped", requirement="MDC.response.message.Topic",
           description="ManualDialCall echoes the request's channel as Topic and its topic as Channel",
           fault=rewrite(swap("message", "Channel", "Topic"), api=MDC, failures=False)),
    Mutant(name="echo.callid-dropped", requirement="SCOC.response.message.callid",
           description="SetCallOutcomeWithComments does not echo the call id",
           fault=rewrite(drop("message", "callid"), api=SCOC, failures=False), fast=True),
    # -- state
    Mutant(name="state.shared-reservation", requirement="GRMDC.request.data.ReservedContacts",
           description="a new contact handed to one agent stays in the pool, so two agents get the same one",
           fault=state(sf.SharedPool), fast=True),
    Mutant(name="state.over-delivery", requirement="GRMDC.request.data.NumberOfContactsRequired",
           description="one new contact more than NumberOfContactsRequired is handed out",
           fault=state(sf.OverDelivery)),
    Mutant(name="state.consent-ignored", requirement="GRMDC.request.data.Consent",
           description="Consent is ignored: non-consent requests get consent contacts",
           fault=state(sf.ConsentIgnored)),
    Mutant(name="state.refetch-empty", requirement="GRMDC.request.data.ReservedContacts",
           description="asking for reserved contacts returns none, though the agent holds some",
           fault=state(sf.RefetchEmpty)),
    Mutant(name="state.refetch-ignored", requirement="GRMDC.request.data.ReservedContacts",
           description="ReservedContacts is ignored: a re-fetch hands out new contacts instead",
           fault=state(sf.RefetchIgnored), fast=True),
    Mutant(name="state.refetch-all-agents", requirement="GRMDC.request.data.ReservedContacts",
           description="a re-fetch lists the contacts reserved to every agent, not only the asker's",
           fault=state(sf.RefetchAllAgents)),
    Mutant(name="state.skip-keeps-open", requirement="SMDC.request.data.AccountNumber",
           description="a skip answers success but leaves the contact reserved to the agent",
           fault=state(sf.SkipKeepsOpen)),
    Mutant(name="state.closed-in-refetch", requirement="SMDC.request.data.AccountNumber",
           description="closed contacts still show among the agent's reserved contacts",
           fault=state(sf.ClosedInRefetch)),
    Mutant(name="state.skip-recycles", requirement="SMDC.request.data.AccountNumber",
           description="a skipped contact goes back to the head of the queue and is handed out again",
           fault=state(sf.SkipRecycles)),
    Mutant(name="state.skip-closed-again", requirement="SMDC.request.data.AccountNumber",
           description="skipping a contact that is already closed succeeds again",
           fault=state(sf.SkipClosedAgain), fast=True),
    # -- the documented errors
    Mutant(name="errors.empty-callid-accepted", requirement="SCOC.error.1",
           description="an empty call id is taken as the account's current call, and the outcome recorded",
           fault=state(sf.EmptyCallidMeansCurrent)),
    Mutant(name="errors.unknown-callid-accepted", requirement="SCOC.error.2",
           description="an unknown call id creates the call, and the outcome is recorded",
           fault=state(sf.UnknownCallCreated)),
    Mutant(name="errors.refusal-says-success", requirement="SCOC.error.1",
           description="error replies carry the right text but success true",
           fault=rewrite(convert(RESPONSE, "success", const(True)), failures=True)),
    Mutant(name="errors.non-pewc-nothing-succeeds", requirement="SNPC.sample.response.2",
           description="SkipNonPEWCContact succeeds when the agent has fetched no contact",
           fault=state(sf.NonConsentSkipAlwaysSucceeds), fast=True),
    Mutant(name="errors.count-defaults", requirement="GRMDC.request.data.NumberOfContactsRequired",
           description="a download without NumberOfContactsRequired is served as if it asked for 1",
           fault=requests(_count_defaults), fast=True),
    Mutant(name="errors.phone-stringified", requirement="MDC.request.data.PhoneNumber",
           description="a PhoneNumber of the wrong type is turned into text and dialled",
           fault=requests(_phone_as_text)),
    # -- robustness
    Mutant(name="robustness.silent-unknown-callid", requirement="SCOC.error.2",
           description="an outcome for an unknown call id gets no reply at all",
           fault=replies(lambda o, out: [] if _call_refused(o, empty=False) else out)),
    Mutant(name="robustness.late-refetch", requirement="GRMDC.response.envelope.subtopic",
           description=f"a re-fetch of reserved contacts is answered {LATE_SECONDS:g} s late, past the timeout",
           fault=late(_asks_reserved, LATE_SECONDS), fast=True),
    Mutant(name="robustness.flood", requirement="SCOC.response.envelope.subtopic",
           description=f"SetCallOutcomeWithComments sends {FLOOD_FRAMES} trace frames before each recorded outcome",
           fault=replies(_flood), fast=True),
    Mutant(name="robustness.close-on-refusal", requirement="SCOC.error.1",
           description="a request it refuses gets no reply: the connection is closed instead",
           fault=closing(_refusal, answer_first=False), fast=True),
    Mutant(name="robustness.crash-on-non-json", requirement="MDC.response.envelope.subtopic",
           description="a frame that is not JSON stops the whole server",
           fault=crashing(_not_json), fast=True),
    Mutant(name="robustness.repr-answers", requirement="SMDC.sample.response.1",
           description="SkipManualDialContact answers are written with Python's str(), not as JSON",
           fault=mangling(_answer_of(SMDC), lambda frame: str(json.loads(frame)))),
    # -- security
    Mutant(name="security.token-ignored", requirement="profile.headers",
           description="the opening handshake is accepted without the token",
           fault=UNGUARDED, fast=True),
)
