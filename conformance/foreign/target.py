"""A foreign target: the LCM WebService API written from the five vendor pages alone.

Pages (``/work/shared/seeds``): SMDC = "Skip Manual Dial Contact", GRMDC = "Get Reserved
Manual Dial Contact", MDC = "Manual Dial Call", SNPC = "Skip Non-PEWC Contact", SCOC =
"Set Telephony Outcome" (SetCallOutcomeWithComments). Where the pages speak, this server
follows them; where they are silent, ``Choices`` decides (docs/open-choices.md).

Structure: one ``State`` object of plain dicts, a table ``ROUTES`` (request subtopic ->
response subtopic, field list, handler function) and one dispatcher, ``Target.answer``.

What follows which page and row:

* Envelope: a request is a JSON object whose ``subtopic`` names the API (every page,
  Request Parameters table); the answer goes out on that page's response subtopic with the
  result under ``message`` (Response Parameters tables): DownloadContactsForDialing,
  SkipManualDialContactResult, ManualDialCall, SkipNonPEWCContactResult,
  SetCallOutcomeWithCommentsResult. ``source`` is a placeholder in the tables and absent
  from the samples, so it is optional. Topic ``Webservice`` (tables) and ``WebService``
  (samples) are both accepted; MDC also under channel Amazon / topic InboundCall (its
  sample).
* Field names are matched without regard to case, which covers every spelling the pages
  use: UserId (tables) / UserID (SMDC, SCOC samples) / userID (SNPC sample);
  NumberOfContactsRequired (table) / NumberofContactsRequired (sample); OutcomeID (SCOC
  table) / OutcomeId (SMDC table, SCOC sample).
* Types as the tables or the samples write them: GRMDC NumberOfContactsRequired String
  (table) or number (sample); Consent and ReservedContacts Boolean (table) or "Yes"/"true"
  strings (sample); SCOC OutcomeID String (table) or number (sample). Every row marked
  Mandatory Yes must be present (a missing or null member is a bad request).
* GRMDC (Message Parameters table: ``response`` is an array of contacts): a refusal or an
  error never goes out on DownloadContactsForDialing, whatever ``Choices`` says.
* GRMDC (Data Parameters rows): NumberOfContactsRequired bounds the count, Consent picks
  the consent type, ReservedContacts true returns contacts already reserved to AgentID,
  false reserves open ones to it. A contact reserved to an agent is never handed to
  another. Contacts carry every Response Parameters row (PhoneNumber, AccountNumber,
  CampaignId, Mode, ContactID, ExpiryTime, CallbackTime, CallType, Consent).
* SMDC (Overview: "skip and close"; Pre-requisite: the contact is Open): the contact named
  by AccountNumber (the LCM key) is closed and never handed out again; a closed, unknown,
  or other agent's contact is refused. Success answer as the Sample Response.
* MDC (Message Parameters table, Sample Response): the answer echoes the request's
  subtopic, topic and channel and its data.
* SNPC (Sample Responses): success true when the agent holds a non-consent ("non-PEWC")
  contact, else success false with a msg.
* SCOC (Message Parameters table; Possible Error Cases table): the answer repeats callid;
  an empty or unknown callid gets error type WS_Error with the message "Invalid Call ID."
  (Actual Error column: "Callid is empty" / "Invalid Call ID:<call_id>"). The request
  table says data "N/A", so the fields are also read from the envelope when data is
  absent.

Run as a process: ``python -m conformance.foreign.target [--port N] [--choice name=value ...]
[--token T] [--fault NAME ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

Json = dict[str, Any]


@dataclass(frozen=True)
class Choices:
    """Every point the pages leave open; each default differs from the reference server's."""

    # envelope of every reply
    topic: str = "echo"  # echo (the request's Webservice/WebService) | table | Webservice | WebService
    key_order: str = "reversed"  # doc | reversed | sorted
    extra_members: str = "all"  # none | envelope | all (envelope, message, contacts, statuses)
    greeting: bool = True  # an unsolicited frame on connect
    broadcast_every: float = 1.0  # seconds between unsolicited heartbeat frames; 0 = none
    reply_delay: float = 0.01  # seconds before each reply
    # what is accepted
    envelope_check: bool = False  # refuse an unknown channel or topic (else serve any)
    coerce_types: bool = True  # a number for a String (and digits for a Number) is served
    binary: str = "decode"  # decode (a UTF-8 binary frame is a text frame) | invalid
    agents: str = "any"  # any | known (only the target's agent list)
    max_frame: int = 4 * 2**20  # larger frames close the connection (1009)
    # errors and refusals
    not_request: str = "silent"  # reply | silent | close: non-JSON, non-object, unknown subtopic
    bad_request: str = "reply"  # reply | silent | close: missing member, wrong type
    refusal: str = "error"  # error (the error shape) | result (response subtopic, success false)
    error_subtopic: str = "WS_Error"  # WS_Error | response (the API's response subtopic)
    error_body: str = "flat"  # flat | string | object | success
    error_detail: bool = True  # add the Actual Error text next to the message
    error_echo_callid: bool = False  # SCOC errors on WS_Error repeat callid
    # GetReservedManualDialContact
    contact_id_key: str = "ContactID"  # ContactID (table) | ContactId (sample)
    single_as: str = "array"  # array | object: one contact
    empty_as: str = "array"  # array ([]) | refuse: nothing to give ({} is no option: neither array nor contact)
    zero_count: str = "refuse"  # empty | refuse: NumberOfContactsRequired 0
    max_per_request: int = 5  # at most this many per answer; 0 = no cap
    consent_values: str = "truefalse"  # truefalse ("true"/"false") | yesno ("Yes"/"No")
    time_format: str = "iso"  # iso | doc (MM/DD/YYYY HH:MM:SS) | epoch (digits)
    phone_format: str = "e164"  # e164 | digits
    account_format: str = "key"  # key (MD-C-007000) | pipe (7000|3|1|0|0|44|7000)
    call_type_base: int = 1  # CallType of a regular contact; callbacks are base+1, base+2
    callback_when_none: str = "empty"  # empty | time: CallbackTime of a regular contact
    # SkipManualDialContact
    skip_scope: str = "own-or-open"  # own | own-or-open
    skip_phone_check: bool = False  # refuse when PhoneNumber is not the contact's
    outcome_check: bool = False  # refuse outcome ids the target does not know (SMDC, SCOC)
    # ManualDialCall
    mdc_channel: str = "LCM"  # LCM (table) | UI (sample)
    mdc_topic: str = "general"  # general (as `topic`) | InboundCall | request
    mdc_echo_case: str = "title"  # title (Subtopic/Topic/Channel) | lower
    mdc_echo_extra: bool = True  # the echo also carries `source` and every data member
    mdc_phone_check: str = "none"  # none | nonempty | digits
    # SkipNonPEWCContact
    snpc_offered: bool = True  # False: answered as an unknown subtopic (after CM 2308)
    snpc_msg: str = "No reserved non-PEWC contact for this agent"
    snpc_response_as: str = "array"  # array (table) | object (sample)
    snpc_which: str = "newest"  # oldest | newest | all
    snpc_effect: str = "release"  # release (back to the pool) | close
    # SetCallOutcomeWithComments
    scoc_account_check: bool = False  # refuse an AccountNumber that is not the call's
    scoc_repeat: str = "accept"  # accept | refuse a second outcome for one call


class Problem(Exception):
    """A frame the target does not serve. kind: not-request | bad | refused | invalid-call."""

    def __init__(self, kind: str, msg: str, actual: str | None = None) -> None:
        super().__init__(msg)
        self.kind, self.msg, self.actual = kind, msg, actual or msg


@dataclass
class State:
    """Everything the target remembers, across connections and runs."""

    contacts: dict[int, Json] = field(default_factory=dict)  # ContactID -> record as served
    consent: dict[int, bool] = field(default_factory=dict)
    queue: list[int] = field(default_factory=list)  # hand-out order of open contacts
    holder: dict[int, str] = field(default_factory=dict)  # reserved contact -> agent
    since: dict[int, int] = field(default_factory=dict)  # reservation sequence number
    closed: set[int] = field(default_factory=set)
    calls: dict[str, Json] = field(default_factory=dict)  # callid -> {AccountNumber, outcomes}
    outcomes: set[int] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)
    skips: list[tuple[str, int, int]] = field(default_factory=list)  # (api, contact, outcome)
    seq: int = 0

    def by_account(self, account: str) -> int | None:
        return next((cid for cid, c in self.contacts.items() if c["AccountNumber"] == account), None)


def make_contacts(per_type: int, c: Choices) -> list[Json]:
    """per_type consent and per_type non-consent contacts, in the formats `c` picks."""
    start = datetime(2031, 1, 31, 23, 59, tzinfo=UTC)
    out: list[Json] = []
    for i in range(2 * per_type):
        cid, consent, kind = 7000 + i, i % 2 == 0, (i // 2) % 3
        callback = None if kind == 0 else start - timedelta(days=200, hours=i)
        out.append({
            "PhoneNumber": f"+1555{7000000 + i:07d}" if c.phone_format == "e164" else f"555{7000000 + i:07d}",
            "AccountNumber": f"{cid}|3|{1 + kind}|0|0|44|{cid}" if c.account_format == "pipe"
            else f"MD-{'C' if consent else 'N'}-{cid:06d}",
            "CampaignId": "Manual Dial Consent" if consent else "Manual Dial Non-PEWC",
            "Mode": ("Mobile", "Landline", "Work")[i % 3],
            "ContactID": cid,
            "ExpiryTime": fmt_time(start + timedelta(days=i), c),
            "CallbackTime": fmt_time(callback, c) if callback else
            ("" if c.callback_when_none == "empty" else fmt_time(start, c)),
            "CallType": c.call_type_base + kind,
            "Consent": consent,
        })
    return out


def fmt_time(t: datetime, c: Choices) -> str:
    if c.time_format == "doc":
        return t.strftime("%m/%d/%Y %H:%M:%S")
    if c.time_format == "epoch":
        return str(int(t.timestamp()))
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- reading request members ---------------------------------------------------------


def pick(data: Json, name: str) -> Any:
    """The member `name`, spelled in any case; None when absent."""
    low = name.lower()
    return next((v for k, v in data.items() if k.lower() == low and v is not None), None)


def as_str(v: Any, name: str, c: Choices) -> str:
    if isinstance(v, str):
        return v
    if c.coerce_types and isinstance(v, int | float) and not isinstance(v, bool):
        return str(v)
    raise Problem("bad", f"{name} must be a string")


def as_int(v: Any, name: str, c: Choices, string_documented: bool = False) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and (string_documented or c.coerce_types) and v.strip().lstrip("-").isdigit():
        return int(v)
    if isinstance(v, float) and c.coerce_types and v.is_integer():
        return int(v)
    raise Problem("bad", f"{name} must be a whole number")


def as_num(v: Any, name: str, c: Choices) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str) and c.coerce_types:
        with contextlib.suppress(ValueError):
            return float(v)
    raise Problem("bad", f"{name} must be a number")


def as_bool(v: Any, name: str, c: Choices) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "yes", "false", "no"):
        return v.strip().lower() in ("true", "yes")
    raise Problem("bad", f"{name} must be true or false")


READERS: dict[str, Callable[[Any, str, Choices], Any]] = {
    "str": as_str,
    "int": as_int,
    "int|str": lambda v, n, c: as_int(v, n, c, string_documented=True),
    "num": as_num,
    "bool": as_bool,
}


def read(data: Json, spec: Iterable[tuple[str, str]], c: Choices) -> Json:
    args: Json = {}
    for name, kind in spec:
        v = pick(data, name)
        if v is None:
            raise Problem("bad", f"{name} is missing")
        args[name] = READERS[kind](v, name, c)
    return args


def agent_of(args: Json, name: str, st: State, c: Choices) -> str:
    agent = str(args[name])
    if not agent:
        raise Problem("bad", f"{name} is empty")
    if c.agents == "known" and agent not in st.agents:
        raise Problem("refused", f"Unknown agent {agent}")
    return agent


def status(ok: bool, c: Choices, msg: str | None = None) -> Json:
    out: Json = {"success": ok}
    if msg is not None:
        out["msg"] = msg
    if c.extra_members == "all":
        out["code"] = 0 if ok else 1
    return out


# ---- the five APIs -------------------------------------------------------------------


def grmdc(st: State, c: Choices, args: Json) -> Json:
    agent = agent_of(args, "AgentID", st, c)
    n, consent = args["NumberOfContactsRequired"], args["Consent"]
    if n < 0 or (n == 0 and c.zero_count == "refuse"):
        raise Problem("refused", f"NumberOfContactsRequired must be at least 1, not {n}")
    if c.max_per_request:
        n = min(n, c.max_per_request)
    if args["ReservedContacts"]:
        mine = sorted((cid for cid, a in st.holder.items() if a == agent), key=st.since.__getitem__)
        chosen = [cid for cid in mine if st.consent[cid] == consent][:n]
    else:
        chosen = [cid for cid in st.queue if st.consent[cid] == consent][:n]
        for cid in chosen:
            st.queue.remove(cid)
            st.seq += 1
            st.holder[cid], st.since[cid] = agent, st.seq
    shown = [render(st.contacts[cid], c) for cid in chosen]
    if not shown:
        if c.empty_as == "refuse":
            raise Problem("refused", "No contacts available")
        return {"response": []}
    return {"response": shown[0] if len(shown) == 1 and c.single_as == "object" else shown}


def render(contact: Json, c: Choices) -> Json:
    out = dict(contact)
    out["Consent"] = ("true" if contact["Consent"] else "false") if c.consent_values == "truefalse" \
        else ("Yes" if contact["Consent"] else "No")
    if c.contact_id_key != "ContactID":
        out[c.contact_id_key] = out.pop("ContactID")
    if c.extra_members == "all":
        out["Status"] = "Reserved"
    return out


def smdc(st: State, c: Choices, args: Json) -> Json:
    agent = agent_of(args, "UserId", st, c)
    cid = st.by_account(args["AccountNumber"])
    if c.outcome_check and args["OutcomeId"] not in st.outcomes:
        raise Problem("refused", f"Unknown outcome {args['OutcomeId']}")
    if cid is None:
        raise Problem("refused", "Contact not found")
    if cid in st.closed:
        raise Problem("refused", "Contact is already closed")
    held_by = st.holder.get(cid)
    if held_by not in (agent, None) or (held_by is None and c.skip_scope == "own"):
        raise Problem("refused", "Contact is not reserved to this agent")
    if c.skip_phone_check and args["PhoneNumber"] != st.contacts[cid]["PhoneNumber"]:
        raise Problem("refused", "PhoneNumber is not the contact's")
    close(st, cid)
    st.skips.append(("SkipManualDialContact", cid, args["OutcomeId"]))
    return {"response": status(True, c)}


def close(st: State, cid: int) -> None:
    st.closed.add(cid)
    st.holder.pop(cid, None)
    st.since.pop(cid, None)
    if cid in st.queue:
        st.queue.remove(cid)


def mdc(st: State, c: Choices, args: Json, req: Json) -> Json:
    phone: str = args["PhoneNumber"]
    digits = phone.removeprefix("+")
    if (c.mdc_phone_check == "nonempty" and not phone.strip()) or (
        c.mdc_phone_check == "digits" and not (digits.isdigit() and 7 <= len(digits) <= 15)
    ):
        raise Problem("refused", "PhoneNumber cannot be dialled")
    names = ("Subtopic", "Topic", "Channel") if c.mdc_echo_case == "title" else ("subtopic", "topic", "channel")
    asked: Json = req["data"]  # echoed with the request's spelling, the number as read
    data = {k: phone if k.lower() == "phonenumber" else v for k, v in asked.items() if v is not None}
    if not c.mdc_echo_extra:
        data = {k: v for k, v in data.items() if k.lower() == "phonenumber"}
    echo: Json = {
        names[0]: req.get("subtopic"),
        names[1]: req.get("topic", "Webservice"),
        names[2]: req.get("channel", "LCM"),
        "data": data,
    }
    if c.mdc_echo_extra:
        echo["source"] = req.get("source", "foreign-target")
    return echo


def snpc(st: State, c: Choices, args: Json) -> Json:
    agent = agent_of(args, "UserId", st, c)
    mine = sorted((cid for cid, a in st.holder.items() if a == agent and not st.consent[cid]),
                  key=st.since.__getitem__)
    if not mine:
        body = status(False, c, c.snpc_msg)
    else:
        for cid in mine if c.snpc_which == "all" else [mine[0 if c.snpc_which == "oldest" else -1]]:
            st.skips.append(("SkipNonPEWCContact", cid, 0))
            if c.snpc_effect == "close":
                close(st, cid)
            else:
                del st.holder[cid], st.since[cid]
                st.queue.append(cid)
        body = status(True, c)
    return {"response": [body] if c.snpc_response_as == "array" else body}


def scoc(st: State, c: Choices, args: Json) -> Json:
    call = st.calls[args["callid"]]
    if c.scoc_account_check and args["AccountNumber"] != call["AccountNumber"]:
        raise Problem("refused", "AccountNumber is not the call's")
    if c.outcome_check and args["OutcomeID"] not in st.outcomes:
        raise Problem("refused", f"Unknown outcome {args['OutcomeID']}")
    if call["outcomes"] and c.scoc_repeat == "refuse":
        raise Problem("refused", "The call already has an outcome")
    call["outcomes"].append({k: args[k] for k in ("OutcomeID", "LeadScore", "AgentComments", "TargetAmount")})
    return {"callid": args["callid"], "response": status(True, c)}


@dataclass(frozen=True)
class Route:
    reply: str  # the response subtopic
    fields: tuple[tuple[str, str], ...]
    handler: Callable[..., Json]


ROUTES: dict[str, Route] = {
    "GetReservedManualDialContact": Route(
        "DownloadContactsForDialing",
        (("AgentID", "str"), ("NumberOfContactsRequired", "int|str"), ("Consent", "bool"),
         ("ReservedContacts", "bool")),
        grmdc,
    ),
    "SkipManualDialContact": Route(
        "SkipManualDialContactResult",
        (("OutcomeId", "int"), ("UserId", "str"), ("AccountNumber", "str"), ("PhoneNumber", "str")),
        smdc,
    ),
    "ManualDialCall": Route("ManualDialCall", (("PhoneNumber", "str"),), mdc),
    "SkipNonPEWCContact": Route("SkipNonPEWCContactResult", (("UserId", "str"),), snpc),
    "SetCallOutcomeWithComments": Route(
        "SetCallOutcomeWithCommentsResult",
        (("AccountNumber", "str"), ("OutcomeID", "int|str"), ("LeadScore", "num"), ("UserID", "str"),
         ("AgentComments", "str"), ("TargetAmount", "num")),
        scoc,
    ),
}
CHANNELS = {"ManualDialCall": ("LCM", "Amazon")}
AGENTS = ("testagent@domain.com", "testagent")
"""The agents the target knows unless told otherwise."""
TOPICS = {"ManualDialCall": ("Webservice", "WebService", "InboundCall")}


# ---- the dispatcher and the server ---------------------------------------------------


class Target:
    """Turns one frame into at most one reply, against one State."""

    checks_token = True
    """Whether the opening handshake must carry the token (when one is set)."""

    def __init__(self, choices: Choices, state: State) -> None:
        self.c, self.st = choices, state

    def answer(self, raw: str | bytes) -> tuple[Json | None, bool]:
        """(the reply or None, whether to close the connection)."""
        req: Json = {}
        route: Route | None = None
        try:
            req = self.decode(raw)
            route = self.route(req)
            return self.envelope(route.reply, self.serve(route, req), req), False
        except Problem as p:
            return self.problem(p, req, route)

    def decode(self, raw: str | bytes) -> Json:
        if isinstance(raw, bytes):
            if self.c.binary != "decode":
                raise Problem("not-request", "binary frames are not requests")
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Problem("not-request", "frame is not UTF-8") from None
        try:
            req = json.loads(raw)
        except ValueError:
            raise Problem("not-request", "frame is not JSON") from None
        if not isinstance(req, dict):
            raise Problem("not-request", "frame is not a JSON object")
        return req

    def route(self, req: Json) -> Route:
        sub = req.get("subtopic")
        route = ROUTES.get(sub) if isinstance(sub, str) else None
        if route is None or (sub == "SkipNonPEWCContact" and not self.c.snpc_offered):
            raise Problem("not-request", f"unknown subtopic {sub!r}")
        return route

    def serve(self, route: Route, req: Json) -> Json:
        sub = req["subtopic"]
        if self.c.envelope_check and (
            req.get("channel") not in CHANNELS.get(sub, ("LCM",))
            or req.get("topic") not in TOPICS.get(sub, ("Webservice", "WebService"))
        ):
            raise Problem("bad", "unknown channel or topic")
        data = req.get("data")
        if data is None and sub == "SetCallOutcomeWithComments":
            data = req  # SCOC request table: data "N/A"
        if not isinstance(data, dict):
            raise Problem("bad", "data is not a JSON object")
        if sub == "SetCallOutcomeWithComments":
            callid = pick(data, "callid")
            if callid is None or callid == "":
                raise Problem("invalid-call", "Invalid Call ID.", "Callid is empty")
            try:  # a callid of an unusable type is an invalid call id too (error table)
                callid = as_str(callid, "callid", self.c)
            except Problem:
                raise Problem("invalid-call", "Invalid Call ID.", f"Invalid Call ID:{json.dumps(callid)}") from None
            if callid not in self.st.calls:
                raise Problem("invalid-call", "Invalid Call ID.", f"Invalid Call ID:{callid}")
            args = read(data, route.fields, self.c) | {"callid": callid}
        else:
            args = read(data, route.fields, self.c)
        return self.call(route, args, req)

    def call(self, route: Route, args: Json, req: Json) -> Json:
        """Run the API's handler on the request's members as read (a hook for faulty subclasses)."""
        if route.handler is mdc:
            return mdc(self.st, self.c, args, req)
        return route.handler(self.st, self.c, args)

    def problem(self, p: Problem, req: Json, route: Route | None) -> tuple[Json | None, bool]:
        c = self.c
        action = {"not-request": c.not_request, "bad": c.bad_request}.get(p.kind, "reply")
        if action != "reply":
            return None, action == "close"
        # GRMDC's result holds contacts only (its Message Parameters table): never a status there
        has_result = route is not None and route.reply != "DownloadContactsForDialing"
        if p.kind == "refused" and c.refusal == "result" and route is not None and has_result:
            body = status(False, c, p.msg)
            as_array = route.reply == "SkipNonPEWCContactResult" and c.snpc_response_as == "array"
            result: Json = {"response": [body] if as_array else body}
            return self.envelope(route.reply, self.with_callid(result, req, route), req), False
        on_response = has_result and c.error_subtopic == "response"
        detail = {"detail": p.actual} if c.error_detail else {}
        if c.error_body == "flat":
            message: Json = {"ErrorType": "WS_Error", "Message": p.msg}
            if c.error_detail:
                message["ActualError"] = p.actual
        elif c.error_body == "string":
            message = {"error": p.msg} | detail
        elif c.error_body == "object":
            message = {"error": {"type": "WS_Error", "message": p.msg} | detail}
        else:
            message = {"response": status(False, c, p.msg) | detail}
        if on_response:
            message = {"response": status(False, c, p.msg)} | message
        if on_response or c.error_echo_callid:
            message = self.with_callid(message, req, route)
        return self.envelope(route.reply if on_response and route else "WS_Error", message, req), False

    @staticmethod
    def with_callid(message: Json, req: Json, route: Route | None) -> Json:
        if route is None or route.reply != "SetCallOutcomeWithCommentsResult":
            return message
        data = req.get("data") if isinstance(req.get("data"), dict) else req
        callid = pick(data, "callid") if isinstance(data, dict) else None
        return {"callid": "" if callid is None else str(callid)} | message

    def topic(self, subtopic: str, req: Json) -> str:
        c, asked = self.c, req.get("topic")
        if subtopic == "ManualDialCall" and c.mdc_topic != "general":
            return "InboundCall" if c.mdc_topic == "InboundCall" else str(asked or "Webservice")
        if c.topic == "echo":
            return asked if asked in ("Webservice", "WebService") else "Webservice"
        if c.topic == "table":
            return "WebService" if subtopic == "SkipManualDialContactResult" else "Webservice"
        return c.topic

    def envelope(self, subtopic: str, message: Json, req: Json) -> Json:
        channel = self.c.mdc_channel if subtopic == "ManualDialCall" else "LCM"
        out: Json = {"channel": channel, "topic": self.topic(subtopic, req), "subtopic": subtopic,
                     "message": message}
        if self.c.extra_members != "none":
            out["source"] = "foreign-target"
            out["sentAt"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if self.c.extra_members == "all":
            message["server"] = "foreign"
        return out

    def dumps(self, obj: Json) -> str:
        if self.c.key_order == "sorted":
            return json.dumps(obj, sort_keys=True)
        return json.dumps(reorder(obj) if self.c.key_order == "reversed" else obj)


def reorder(v: Any) -> Any:
    """Every object's members in reverse order (JSON member order carries no meaning)."""
    if isinstance(v, dict):
        return {k: reorder(v[k]) for k in reversed(v)}
    if isinstance(v, list):
        return [reorder(x) for x in v]
    return v


class ForeignTarget:
    """``async with ForeignTarget(Choices(...)) as url:`` serves on 127.0.0.1.

    The state lives in the object: it outlasts connections and successive ``async with``.
    contacts: how many of each consent type, or the records themselves (with ContactID,
    AccountNumber, PhoneNumber and a Boolean Consent). calls: callid -> AccountNumber.
    agents: the agents it knows (default :data:`AGENTS`; they matter with ``agents="known"``).
    token: when set, the opening handshake must carry ``Authorization: Bearer <token>``
    (the pages say nothing of authentication; an operator may still require it).
    faults: names of deliberate faults (:data:`conformance.foreign.faults.FAULTS`), each
    breaking one documented rule: the foreign target's mutants.
    """

    def __init__(
        self,
        choices: Choices = Choices(),  # frozen, so one shared default is safe
        contacts: int | Iterable[Json] = 150,
        calls: Mapping[str, str] | None = None,
        outcomes: Iterable[int] = (1, 2, 3, 100, 101, 102),
        agents: Iterable[str] | None = None,
        port: int = 0,
        token: str | None = None,
        faults: Iterable[str] = (),
        host: str = "127.0.0.1",
    ) -> None:
        records = make_contacts(contacts, choices) if isinstance(contacts, int) else [dict(r) for r in contacts]
        self.choices, self.port, self.host, self.token = choices, port, host, token
        self.state = State(
            contacts={r["ContactID"]: r for r in records},
            consent={r["ContactID"]: bool(r["Consent"]) for r in records},
            queue=[r["ContactID"] for r in records],
            calls={k: {"AccountNumber": v, "outcomes": []}
                   for k, v in (calls or {"12345": "5|3|1|0|0|44|1"}).items()},
            outcomes=set(outcomes),
            agents=set(AGENTS if agents is None else agents),
        )
        self.faults = tuple(faults)
        if self.faults:
            # the faults know the target, not the other way round
            from .faults import FaultyTarget

            self.target: Target = FaultyTarget(choices, self.state, self.faults)
        else:
            self.target = Target(choices, self.state)
        self.url = ""
        self._server: Server | None = None

    async def __aenter__(self) -> str:
        self._server = await serve(self._connection, self.host, self.port, max_size=self.choices.max_frame,
                                   process_request=self._handshake)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.url = f"ws://{host}:{port}/"
        return self.url

    def _handshake(self, ws: ServerConnection, request: Request) -> Response | None:
        """Refuse an opening handshake without the token (401), when a token is set."""
        if self.token is None or not self.target.checks_token:
            return None
        if request.headers.get("Authorization", "") == f"Bearer {self.token}":
            return None
        return ws.respond(HTTPStatus.UNAUTHORIZED, "a bearer token is required\n")

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _unsolicited(self, subtopic: str, message: Json) -> str:
        return self.target.dumps(self.target.envelope(subtopic, message, {}))

    async def _heartbeat(self, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.choices.broadcast_every)
                await ws.send(self._unsolicited("Heartbeat", {"time": datetime.now(UTC).isoformat()}))

    async def _connection(self, ws: ServerConnection) -> None:
        c = self.choices
        ticker = asyncio.create_task(self._heartbeat(ws)) if c.broadcast_every > 0 else None
        try:
            if c.greeting:
                await ws.send(self._unsolicited("Connected", {"server": "lcm-foreign-target"}))
            async for raw in ws:
                reply, close_after = self.target.answer(raw)
                if c.reply_delay:
                    await asyncio.sleep(c.reply_delay)
                if reply is not None:
                    await ws.send(self.target.dumps(reply))
                if close_after:
                    await ws.close(1008, "not a request")
                    break
        except ConnectionClosed:
            pass
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker


def parse_choice(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    kinds = {f.name: f.type for f in dataclasses.fields(Choices)}
    if name not in kinds:
        raise argparse.ArgumentTypeError(f"unknown choice {name!r}; known: {', '.join(kinds)}")
    kind = kinds[name]
    if kind == "bool":
        return name, value.lower() in ("1", "true", "yes", "on")
    if kind in ("int", "float"):
        return name, int(value) if kind == "int" else float(value)
    return name, value


async def _main(args: argparse.Namespace) -> None:
    choices = Choices(**dict(args.choice))
    async with ForeignTarget(choices, contacts=args.contacts, port=args.port, token=args.token,
                             faults=args.fault) as url:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"listening {url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance.foreign.target",
                                 description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--contacts", type=int, default=150, help="contacts of each consent type")
    ap.add_argument("--choice", type=parse_choice, action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--token", help="require Authorization: Bearer TOKEN in the handshake")
    ap.add_argument("--fault", action="append", default=[], metavar="NAME",
                    help="serve with this deliberate fault (a mutant; see conformance.foreign.faults)")
    args = ap.parse_args(argv)
    if args.fault:
        from .faults import FAULTS

        unknown = [name for name in args.fault if name not in FAULTS]
        if unknown:
            ap.error(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
