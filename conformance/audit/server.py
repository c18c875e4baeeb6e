"""Which checks judge a recorded reply, and what the trace's state learns from it (pure).

A reply is judged by the checks ``run`` gives the same request (the example cases'
``cases/*.yaml`` entries, run through :func:`conformance.checks.run_check`): a valid
request must be answered (a refusal of any shape may answer it: the trace does not show
whether its prerequisites held), its reply must follow the response tables and echo what
the tables say it echoes, a download must hand out no more contacts than asked and only of
the asked consent type; a request missing a mandatory row must not succeed. Where the
trace itself shows the state a case would have set up, the case's state checks apply
too: a contact closed by a skip never comes back, one agent's contact is never handed to
another, a re-fetch gives back what the agent holds, a skip of a contact the agent holds
succeeds (documented only for the profile's agents: the page also asks that the agent be
logged in, which a trace does not show) and of a closed one does not, and a request written as the sample writes it is
not refused where the same request written as the tables say, right after it, is served.
What rests on a reservation whose ExpiryTime passed during the trace is inferred: the
pages do not say what becomes of a lapsed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ..checks import StepContext, handed_out
from ..messages import member
from ..profile import Profile
from ..refusals import succeeded
from ..spec import Api, Spec
from .contacts import NOTHING, Contacts, InFlight, canonical, outcome_matches, role

DOWNLOAD: Final = "GetReservedManualDialContact"
SKIP: Final = "SkipManualDialContact"
SKIP_NON_PEWC: Final = "SkipNonPEWCContact"
OUTCOME: Final = "SetCallOutcomeWithComments"
ECHOES: Final[dict[str, tuple[dict[str, str], ...]]] = {
    "ManualDialCall": ({"request": "data", "reply": "data"}, {"request": "channel", "reply": "Channel"},
                       {"request": "topic", "reply": "Topic"}, {"request": "subtopic", "reply": "Subtopic"}),
    OUTCOME: ({"request": "data.callid", "reply": "callid"},),
}
"""What each reply echoes (the MDC.echo.* and SCOC.outcome.* cases)."""
CHANGING: Final = frozenset({DOWNLOAD, SKIP, SKIP_NON_PEWC, OUTCOME})
"""APIs whose success may change what an agent holds."""
EMPTY_CALLID: Final = "SCOC.error.1"
UNKNOWN_CALLID: Final = "SCOC.error.2"
"""The Possible Error Cases rows (the SCOC.error.* cases)."""
NOT_LOGGED_IN: Final = ("Skip Manual Dial Contact: Pre-requisite, the agent must be logged in; a trace does not "
                        "show it, only the profile's agents are taken to be")
D25: Final = "D-25: a non-PEWC contact read as a non-consent one"
LAPSED: Final = ("the reservation may have lapsed at its ExpiryTime (read in any time zone, ±14 h), and the pages "
                 "do not say what follows: ")


@dataclass(frozen=True)
class Request:
    """What the audit knows of one valid request when its reply comes."""

    api: Api
    message: dict[str, Any]
    values: dict[str, Any]
    """Its data under the table names and types (:func:`.contacts.canonical`)."""
    form: str | None
    """``tables`` or ``page`` (the client-side verdict), None otherwise."""

    @classmethod
    def of(cls, api: Api, message: dict[str, Any], form: str | None) -> Request:
        return cls(api, message, canonical(api, message.get("data")), form)

    def value(self, name: str) -> Any:
        return role(self.api, self.values, name)


@dataclass
class Earlier:
    """The previous valid request of one API on one connection, for ``none_withheld``
    (kept only when answered)."""

    form: str | None
    values: dict[str, Any]
    got: list[Any]
    sent: float
    """When it went out: a change to the agent's contacts learnt after that may have come
    between it and the next request, so it no longer says what the agent was owed."""


def _id(spec: Spec, api: str, path: str) -> str:
    return spec.api(api).field(path).id


class Judge:
    """Plans the checks of each reply from the trace's state so far, then learns from it."""

    def __init__(self, spec: Spec, profile: Profile) -> None:
        self.spec = spec
        self.profile = profile
        self.contacts = Contacts()
        self.reserved_row = _id(spec, DOWNLOAD, "request.data.ReservedContacts")
        self.account_row = _id(spec, SKIP, "request.data.AccountNumber")
        fixtures = profile.fixtures
        self.outcomes = (fixtures.telephony_outcome_id, fixtures.business_outcome_id)

    def plan(self, request: Request, ctx: StepContext, earlier: Earlier | None, busy: InFlight = NOTHING
             ) -> list[Any]:
        """The check entries (as a case step writes them) for a valid request's exchange;
        ``busy``: what other requests still in flight may be changing."""
        api = request.api
        entries: list[Any] = [{"answered": {"basis": "documented"}}]
        if api.name == OUTCOME and request.value("callid") == "":
            return [*entries, {"error_case": EMPTY_CALLID}, "reply_subtopic"]
        entries += ["schema", *({"echo": e} for e in ECHOES.get(api.name, ()))]
        if not ctx.exchange.answered:
            return entries
        sent = ctx.exchange.started
        if api.name == DOWNLOAD:
            entries += self._download(request, ctx, busy)
        elif api.name == SKIP:
            entries += self._skip(request, sent, busy)
        elif api.name == SKIP_NON_PEWC and self.contacts.held(str(request.value("agent")), False, sent, busy):
            entries.append({"success": True, "basis": "inferred", "because": D25})
        elif api.name == OUTCOME and request.value("callid") == self.profile.fixtures.call_id:
            entries.append({"not_error": UNKNOWN_CALLID})
        if earlier is not None and earlier.form == "page" and request.form == "tables" \
                and earlier.values == request.values and not earlier.got and self._still(earlier, request, busy):
            entries.append({"none_withheld": {
                "earlier": earlier.got, "requirements": [api.sample_requests[0].id],
                "doc": f"{api.title}: Sample Request (a request written as the sample writes it is served as one "
                       "written as the tables say; this one, right after it, was)"}})
        return entries

    def _still(self, earlier: Earlier, request: Request, busy: InFlight) -> bool:
        """Whether nothing the trace shows (or has in flight) changed the agent's contacts
        between ``earlier`` and ``request``."""
        agent = str(request.value("agent"))
        return agent not in busy.agents and self.contacts.changed(agent) < earlier.sent

    def _download(self, request: Request, ctx: StepContext, busy: InFlight) -> list[Any]:
        entries: list[Any] = []
        count, consent = request.value("count"), member(request.message.get("data"), "Consent")
        if isinstance(count, str) and count.isdigit():
            entries.append({"at_most": int(count)})
        if consent is not None:
            entries.append({"consent": consent})
        got, sent = handed_out(ctx), ctx.exchange.started
        agent = request.value("agent")
        doc = "Get Reserved Manual Dial Contact: Data Parameters table, row ReservedContacts"
        first = self.contacts.elsewhere(str(agent), got, sent, busy)
        # each contact held elsewhere is judged on its own: a lapsed reservation only as inferred
        gone = [c for c in first if self.contacts.lapsed([c], sent)]
        live = [c for c in first if c not in gone]
        disjoint = {"requirements": [self.reserved_row], "doc": doc + " (a reserved contact is one agent's)"}
        if live or not gone:
            entries.append({"disjoint": {"first": live, **disjoint}})
        if gone:
            entries.append({"disjoint": {"first": gone, **disjoint}, "basis": "inferred",
                            "because": LAPSED + "; ".join(self.contacts.lapsed(gone, sent))})
        entries.append({"not_returned": {"contacts": self.contacts.closed(got, sent),
                                         "requirements": [self.account_row],
                                         "doc": "Skip Manual Dial Contact: Overview (a skipped contact is closed)"}})
        asked = int(count) if isinstance(count, str) and count.isdigit() else None
        reserved = request.value("reserved") is True
        held = self.contacts.held(str(agent), request.value("consent"), sent, busy) if reserved else []
        if held and asked != 0:  # asked for none, none is owed
            capped = asked is None or len(got) >= asked
            again: dict[str, Any] = {"held_again": {"contacts": held, "before": got if capped else [],
                                                    "requirements": [self.reserved_row], "doc": doc}}
            # which contacts come back rests on them all (a cap may apply): one lapsed, all inferred
            if lapsed_held := self.contacts.lapsed(held, sent):
                again.update(basis="inferred", because=LAPSED + "; ".join(lapsed_held))
            entries.append(again)
        return entries

    def _skip(self, request: Request, sent: float, busy: InFlight) -> list[Any]:
        account = request.value("account")
        held = self.contacts.get(account)
        if held is None or not held.known(sent) or busy.touches(str(account), held):
            return []
        if held.closed is not None:
            return [{"not_success": {
                "requirements": [self.account_row],
                "doc": f"Skip Manual Dial Contact: Pre-requisite (the contact must be Open; it was skipped at "
                       f"{held.closed})"}}]
        phone = request.value("phone")
        if held.holder == request.value("agent") and held.consent is True and held.phone == phone and \
                outcome_matches(request.value("outcome"), self.outcomes, request.api, "OutcomeId"):
            if held.holder in self.profile.agents:
                return [{"success": True}]
            return [{"success": True, "basis": "inferred", "because": NOT_LOGGED_IN}]
        return []

    def learn(self, request: Request, ctx: StepContext, where: str) -> None:
        """What the reply changed: contacts handed out, closed, or no longer known."""
        if not ctx.exchange.answered:
            return
        api, agent = request.api.name, request.value("agent")
        served = succeeded(ctx.message)
        now = ctx.exchange.started + ctx.exchange.elapsed
        if api == DOWNLOAD and agent is not None:
            self.contacts.hand_out(str(agent), handed_out(ctx), request.value("consent"), now)
        elif api == SKIP and served:
            self.contacts.close(request.value("account"), where, now)
        elif api == SKIP_NON_PEWC and served and agent is not None:
            self.contacts.forget_agent(str(agent), now)
        elif api == OUTCOME and served:
            self.contacts.forget(request.value("account"), now)

    @staticmethod
    def changing(requests: list[Request]) -> InFlight:
        """What these requests, awaiting their replies, may be changing."""
        accounts = {str(r.value("account")) for r in requests if r.api.name in (SKIP, OUTCOME)}
        releasing = {str(r.value("agent")) for r in requests if r.api.name == SKIP_NON_PEWC}
        agents = {str(r.value("agent")) for r in requests if r.api.name in CHANGING and r.value("agent") is not None}
        return InFlight(frozenset(accounts), frozenset(releasing), frozenset(agents))

    @staticmethod
    def got(ctx: StepContext) -> list[Any]:
        """What a reply gave (``none_withheld``'s ``earlier``): nothing for a refusal."""
        return handed_out(ctx) if ctx.exchange.answered else []

