"""The stateful test: two agents reserve, re-fetch, skip and dial contacts, and the
target must agree with a model of who holds what.

A Hypothesis ``RuleBasedStateMachine`` drives the profile's two agents, each on its own
connection. The model starts from what the target says each agent already holds (earlier
cases leave contacts reserved; the re-fetch adopts a few and skips the rest, so the model
stays small and complete) and checks, with the example cases' own checks:

* never more contacts than asked for, and only of the consent type asked for;
* never the same contact held by two agents;
* a contact once skipped (or skipped as non-PEWC) never comes back, new or re-fetched,
  and skipping it again does not succeed;
* a re-fetch returns every contact the model says the agent holds;
* SkipNonPEWCContact answers ``success: false`` exactly when the model holds no non-consent
  contact for the agent (a non-PEWC contact is a non-consent one: D-25, so inferred, never a
  FAIL). Which contact a successful non-PEWC skip closed rests on that reading too, so
  re-fetches of both kinds find out, and the model drops what they no longer return.

Closed contacts are remembered for the whole run, since the target closes them for good.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .hypo import frames
from .hypo.driver import Exhausted, Session, Withdrawn
from .hypo.plan import hypothesis_settings
from .hypo.record import Falsified, Hunt, Meta, PropertyRun
from .messages import build_request, items, member
from .results import CaseResult, Verdict
from .spec import Api

ID = "stateful.contacts"
ADOPT = 50
"""How many contacts a re-fetch asks for; getting as many means there may be more."""
KEEP = 1
"""Contacts per agent and consent type the model adopts; the rest are skipped at the start."""
COUNTS = st.integers(1, 2)
FORMS = st.sampled_from(("tables", "page"))
Contact = dict[str, Any]


def _run(session: Session) -> CaseResult:
    spec = session.spec
    grmdc, smdc, snpc = (spec.api(n) for n in ("GetReservedManualDialContact", "SkipManualDialContact",
                                                "SkipNonPEWCContact"))
    rows = [grmdc.field(f"request.data.{n}") for n in ("NumberOfContactsRequired", "Consent", "ReservedContacts")]
    meta = Meta(
        ID, "Two agents reserving, re-fetching, skipping and dialling contacts agree with a model of who holds what",
        grmdc, (*(r.id for r in rows), smdc.field("request.data.AccountNumber").id,
                snpc.field("response.message.response.success").id),
        f"{grmdc.title}: Data Parameters table; {smdc.title}: Overview; {snpc.title}: Sample Responses "
        "(what rests on D-25, a non-PEWC contact read as a non-consent one, is inferred)", "documented")
    for api in (grmdc, smdc):
        if why := session.unavailable(api):
            return meta.result(Verdict.UNIMPLEMENTED, f"not run: {why}", not_run=why)
    plan = session.plan
    per_example = 2 * len(session.profile.distinct_agents[:2]) + 2 * plan.stateful_steps
    hunt = Hunt(session, meta, messages=plan.stateful_examples * per_example)
    machine = _machine(session, hunt)
    options = hypothesis_settings(plan, session.database, max_examples=plan.stateful_examples,
                                  stateful_step_count=plan.stateful_steps)
    return hunt.run(lambda: run_state_machine_as_test(machine, settings=options))


STATEFUL = PropertyRun(ID, "GetReservedManualDialContact", _run)
"""The stateful test as a run of the suite (its result's API: the contact download)."""


def _machine(session: Session, hunt: Hunt) -> type[RuleBasedStateMachine]:
    spec, profile = session.spec, session.profile
    grmdc, smdc, snpc, dial, outcome = (spec.api(n) for n in (
        "GetReservedManualDialContact", "SkipManualDialContact", "SkipNonPEWCContact", "ManualDialCall",
        "SetCallOutcomeWithComments"))
    agents = profile.distinct_agents[:2]
    numbers = st.integers(1, len(agents))
    reserved_row = grmdc.field("request.data.ReservedContacts")
    mine = {"requirements": [reserved_row.id],
            "doc": f"{grmdc.title}: Data Parameters table, row ReservedContacts (a reserved contact is the agent's)"}
    closed_by: dict[str, tuple[dict[str, Any], dict[str, Contact]]] = {
        "skip": ({"requirements": [smdc.field("request.data.AccountNumber").id],
                  "doc": f"{smdc.title}: Overview (the skipped contact is closed)"}, {}),
        "non-PEWC skip": ({"requirements": [snpc.field("request.data.UserId").id],
                           "doc": f"{snpc.title}: Overview (a skipped contact is not handed out again)",
                           "inferred": "the page says the contact is skipped, not that it is closed"}, {}),
    }
    """How a contact was closed -> (the requirement that says so, the contacts so closed)."""

    class Contacts(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.example = hunt.example()
            self.held: dict[int, dict[str, tuple[Contact, bool]]] = {n: {} for n in range(1, len(agents) + 1)}

        # ---- talking to the target

        def send(self, api: Api, agent: int, form: str, values: dict[str, Any], checks: list[Any]) -> Any:
            """Send one request; its reply's ``message``. A failed check fails the example."""
            step = frames.step(build_request(spec, api.name, form, values), agent=agent, checks=tuple(checks))
            try:
                sent = self.example.send(step, forgive_refusal=True)
            except Exhausted:
                hunt.interrupted()
            if self.example.failed:
                raise Falsified(self.example)
            reply = sent.exchange.message if sent.exchange is not None else None
            return reply.get("message") if isinstance(reply, dict) else None

        def fetch(self, agent: int, consent: bool, reserved: bool, count: int, form: str,
                  complete: bool = True) -> list[Contact]:
            """Download contacts, checking them against the model (``complete``: a re-fetch
            must return every contact the model holds); the contacts as sent."""
            values = {"AgentID": agents[agent - 1], "NumberOfContactsRequired": count, "Consent": consent,
                      "ReservedContacts": reserved}
            held = [c for c, flag in self.held[agent].values() if flag == consent]
            checks: list[Any] = [*frames.VALID_CHECKS, {"at_most": count}, {"consent": consent}]
            checks += self.closed_checks() + self.others_checks(agent)
            if reserved and complete and held and count >= len(self.held[agent]):
                checks.append({"held_again": {"contacts": held, **mine}})
            message = self.send(grmdc, agent, form, values, checks)
            return [c for c in items(member(message, "response")) if isinstance(c, dict)]

        def skip_contact(self, agent: int, contact: Contact, form: str) -> None:
            """Skip a contact the agent holds; it is closed for good."""
            account = _account(contact)
            assert account is not None  # only held contacts are skipped, and only those with an account are held
            values = {"UserId": agents[agent - 1], "AccountNumber": account,
                      "PhoneNumber": member(contact, "PhoneNumber"), "OutcomeId": profile.fixtures.business_outcome_id}
            closed_by["skip"][1][account] = _identity(contact)
            self.send(smdc, agent, form, values, [*frames.VALID_CHECKS, {"success": True}])

        def closed_checks(self) -> list[Any]:
            return [_maybe_inferred({"not_returned": {"contacts": list(closed.values()),
                                                      **{k: v for k, v in cite.items() if k != "inferred"}}},
                                    cite.get("inferred"))
                    for cite, closed in closed_by.values() if closed]

        def others_checks(self, agent: int) -> list[Any]:
            others = [c for n, held in self.held.items() if n != agent for c, _ in held.values()]
            return [{"disjoint": {"first": others, **mine}}] if others else []

        def keep(self, agent: int, contacts: list[Contact], consent: bool) -> None:
            for contact in contacts:
                account = _account(contact)
                if account is not None:
                    self.held[agent][account] = (_identity(contact), consent)

        # ---- rules

        @initialize()
        def adopt(self) -> None:
            """Start from what the agents hold: keep a few of each kind, skip the rest."""
            for agent in self.held:
                for consent in (True, False):
                    while True:
                        found = [c for c in self.fetch(agent, consent, True, ADOPT, "tables") if _account(c)]
                        self.keep(agent, found[:KEEP], consent)
                        for contact in found[KEEP:]:
                            self.skip_contact(agent, contact, "tables")
                        if len(found) < ADOPT:
                            break

        @rule(agent=numbers, consent=st.booleans(), count=COUNTS, form=FORMS)
        def reserve_new(self, agent: int, consent: bool, count: int, form: str) -> None:
            self.keep(agent, self.fetch(agent, consent, False, count, form), consent)

        @rule(agent=numbers, consent=st.booleans(), form=FORMS)
        def refetch(self, agent: int, consent: bool, form: str) -> None:
            self.fetch(agent, consent, True, ADOPT, form)

        @precondition(lambda self: any(self.held.values()))
        @rule(data=st.data(), form=FORMS)
        def skip(self, data: st.DataObject, form: str) -> None:
            agent = data.draw(st.sampled_from([n for n, held in self.held.items() if held]), label="agent")
            account = data.draw(st.sampled_from(sorted(self.held[agent])), label="account")
            contact, _ = self.held[agent].pop(account)
            self.skip_contact(agent, contact, form)

        @precondition(lambda self: session.unavailable(snpc) is None)
        @rule(agent=numbers, form=FORMS)
        def skip_non_pewc(self, agent: int, form: str) -> None:
            before = {a for a, (_, consent) in self.held[agent].items() if not consent}
            try:
                message = self.send(snpc, agent, form, {"UserId": agents[agent - 1]},
                                    [*frames.VALID_CHECKS, _maybe_inferred({"success": bool(before)}, D25)])
            except Withdrawn:  # found not offered: no later step sends it
                return
            refused = any(member(r, "success") is False for r in items(member(message, "response")))
            if not refused and self.held[agent]:
                # Some contact may be closed now; which kind is only our reading (D-25), so
                # re-fetches of both kinds tell which, and the model follows the target.
                still = {_account(c) for consent in (True, False)
                         for c in self.fetch(agent, consent, True, ADOPT, "tables", complete=False)}
                for account in set(self.held[agent]) - still:
                    contact, _ = self.held[agent].pop(account)
                    closed_by["non-PEWC skip"][1][account] = contact

        @precondition(lambda self: bool(closed_by["skip"][1]))
        @rule(agent=numbers, data=st.data(), form=FORMS)
        def skip_again(self, agent: int, data: st.DataObject, form: str) -> None:
            skipped = closed_by["skip"][1]
            contact = skipped[data.draw(st.sampled_from(sorted(skipped)), label="account")]
            values = {"UserId": agents[agent - 1], "AccountNumber": _account(contact),
                      "PhoneNumber": member(contact, "PhoneNumber"), "OutcomeId": profile.fixtures.business_outcome_id}
            refused = {"not_success": {"requirements": [smdc.field("request.data.AccountNumber").id],
                                       "doc": f"{smdc.title}: Pre-requisite (the contact must be open; a skipped "
                                              "one is closed)"}}
            self.send(smdc, agent, form, values, [*frames.VALID_CHECKS, refused])

        @rule(agent=numbers, data=st.data(), form=FORMS)
        def dial(self, agent: int, data: st.DataObject, form: str) -> None:
            phones = sorted({member(c, "PhoneNumber") for c, _ in self.held[agent].values()} - {None})
            phone = data.draw(st.sampled_from(phones), label="phone") if phones else profile.fixtures.phone_number
            echo = {"echo": {"request": "data", "reply": "data"}}
            self.send(dial, agent, form, {"PhoneNumber": phone}, [*frames.VALID_CHECKS, echo])

        @rule(form=FORMS)
        def set_outcome(self, form: str) -> None:
            fixtures = profile.fixtures
            values = {"callid": fixtures.call_id, "AccountNumber": fixtures.account_number,
                      "OutcomeID": fixtures.telephony_outcome_id, "UserID": agents[0]}
            echo = {"echo": {"request": "data.callid", "reply": "callid"}}
            self.send(outcome, 1, form, values,
                      [*frames.VALID_CHECKS, _maybe_inferred({"success": True}, REPEAT), echo])

        def teardown(self) -> None:
            hunt.tally(self.example)

    Contacts.__name__ = Contacts.__qualname__ = "Contacts"
    return Contacts


D25 = "D-25: a non-PEWC contact read as a non-consent one"
REPEAT = "a call may take one outcome only: the pages do not say"


def _maybe_inferred(entry: dict[str, Any], because: str | None) -> dict[str, Any]:
    """A check entry resting on our reading, when ``because`` says which (never a FAIL then)."""
    return {**entry, "basis": "inferred", "because": because} if because else entry


def _account(contact: Contact) -> str | None:
    account = member(contact, "AccountNumber")
    return None if account is None else str(account)


def _identity(contact: Contact) -> Contact:
    """What the checks need to know a contact again, and a skip to name it: its table rows
    AccountNumber and PhoneNumber (the whole contact if it has neither)."""
    rows = {name: member(contact, name) for name in ("AccountNumber", "PhoneNumber")}
    return {k: v for k, v in rows.items() if v is not None} or contact
